"""The report as HTML: one document for the e-mail (images by Content-ID) and the standalone file
(images as data: URIs).

Laid out with tables and inline styles because that is what mail clients render. Every string that
came from a mention (text, author, topic terms, incident titles) goes through :func:`html.escape`,
and links are kept only when they are plain http(s) URLs.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from html import escape
from urllib.parse import urlsplit

from monitor.display import duration, printable, safe_url
from monitor.reports import format as fmt
from monitor.reports.charts import SIZES
from monitor.reports.figures import (
    Change,
    IncidentRow,
    ResponseStats,
    TopMention,
    WeeklyFigures,
)
from monitor.reports.topics import Topic

ImageSource = Callable[[str], str]

FONT = "font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif"
INK, MUTED, LINE = "#111827", "#6b7280", "#e5e7eb"
GOOD, BAD, NEUTRAL = "#15803d", "#b91c1c", "#4b5563"
HEAD = "#0f172a"
CELL = f"padding:6px 8px;border-bottom:1px solid {LINE};font-size:13px;color:{INK}"
NUM = f"{CELL};text-align:right;white-space:nowrap"
TH = (
    f"padding:6px 8px;border-bottom:2px solid {LINE};font-size:11px;color:{MUTED};"
    "text-transform:uppercase;letter-spacing:.04em;text-align:left"
)
THN = f"{TH};text-align:right"
MAX_TEXT = 280


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


LOOPBACK = ("localhost", "::1", "0.0.0.0")  # and 127.*


def reports_link(dashboard_url: str | None) -> str | None:
    """The dashboard's reports page, unless the URL only works on the machine that sent it:
    a ``localhost`` link in an e-mailed report would lead every reader to their own computer."""
    url = safe_url(dashboard_url)
    host = urlsplit(url).hostname if url else None
    if not url or not host or host in LOOPBACK or host.startswith("127."):
        return None
    return url.rstrip("/") + "/reports"


def _img(src: ImageSource, name: str, alt: str, charts: dict[str, bytes]) -> str:
    if name not in charts:
        return ""
    width, height = SIZES["spark" if name.startswith("spark") else name]
    if name == "share":
        height = None
    size = f'width="{width}"' + (f' height="{height}"' if height else "")
    return (
        f'<img src="{escape(src(name), quote=True)}" {size} alt="{escape(alt, quote=True)}" '
        f'style="display:block;max-width:100%;height:auto;border:0">'
    )


TONES = {"good": GOOD, "bad": BAD, "neutral": NEUTRAL}


def _delta(text: str, direction: str, tone: str) -> str:
    """A change with an arrow, green or red when it is good or bad news, grey otherwise."""
    arrow = {"up": "▲", "down": "▼", "flat": ""}[direction]
    style = f"color:{TONES[tone]};font-size:12px;white-space:nowrap"
    return f'<span style="{style}">{arrow} {escape(text)}</span>'


def _tile(kpi: fmt.Kpi, src: ImageSource, charts: dict[str, bytes]) -> str:
    spark = _img(src, kpi.spark, f"{kpi.label}, 12 weeks", charts) if kpi.spark else ""
    return (
        f'<td valign="top" style="padding:12px;border:1px solid {LINE};border-radius:6px;'
        f'width:25%">'
        f'<div style="font-size:11px;color:{MUTED};text-transform:uppercase;'
        f'letter-spacing:.05em">{escape(kpi.label)}</div>'
        f'<div style="font-size:24px;font-weight:700;color:{INK};margin:4px 0 2px">'
        f"{escape(kpi.value)}</div>{_delta(kpi.delta, kpi.direction, kpi.tone)}"
        f'<div style="margin-top:6px">{spark}</div></td>'
    )


def _tiles(f: WeeklyFigures, src: ImageSource, charts: dict[str, bytes]) -> str:
    spacer = '<td style="width:8px"></td>'
    tiles = spacer.join(_tile(kpi, src, charts) for kpi in fmt.kpis(f))
    return (
        '<table role="presentation" width="100%" cellspacing="0" cellpadding="0" '
        f'style="border-collapse:separate"><tr>{tiles}</tr></table>'
    )


def _section(title: str, body: str, note: str = "") -> str:
    hint = f'<div style="font-size:12px;color:{MUTED};margin-top:2px">{escape(note)}</div>'
    return (
        f'<tr><td style="padding:20px 24px 4px">'
        f'<h2 style="margin:0;font-size:16px;color:{HEAD}">{escape(title)}</h2>'
        f"{hint if note else ''}</td></tr>"
        f'<tr><td style="padding:8px 24px 4px">{body}</td></tr>'
    )


def _table(head: list[tuple[str, bool]], rows: list[list[str]], empty: str) -> str:
    """A data table; ``head`` is (label, numeric) and cells are already-escaped HTML."""
    if not rows:
        return f'<p style="font-size:13px;color:{MUTED};margin:4px 0">{escape(empty)}</p>'
    ths = "".join(f'<th style="{THN if n else TH}">{escape(h)}</th>' for h, n in head)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td style="{NUM if n else CELL}">{cell}</td>'
            for cell, (_, n) in zip(row, head, strict=True)
        )
        + "</tr>"
        for row in rows
    )
    return (
        '<table role="presentation" width="100%" cellspacing="0" cellpadding="0" '
        f'style="border-collapse:collapse"><tr>{ths}</tr>{body}</table>'
    )


def _change_rows(items: list[Change]) -> list[list[str]]:
    total = sum(c.current for c in items) or 1
    return [
        [
            escape(c.name),
            fmt.count(c.current),
            fmt.percent(c.current / total),
            fmt.count(c.previous),
            escape(fmt.change(c.current, c.previous)),
        ]
        for c in items
    ]


def _side_by_side(left: str, right: str) -> str:
    return (
        '<table role="presentation" width="100%" cellspacing="0" cellpadding="0"><tr>'
        f'<td valign="top" width="50%" style="padding-right:8px">{left}</td>'
        f'<td valign="top" width="50%" style="padding-left:8px">{right}</td></tr></table>'
    )


def _volume(f: WeeklyFigures) -> str:
    head = [("", False), ("Week", True), ("Share", True), ("Prev.", True), ("Change", True)]
    sources = _table([("Source", False), *head[1:]], _change_rows(f.sources), "No mentions.")
    languages = _table([("Language", False), *head[1:]], _change_rows(f.languages), "No mentions.")
    return _side_by_side(sources, languages)


def _share(f: WeeklyFigures, src: ImageSource, charts: dict[str, bytes]) -> str:
    rows = _change_rows(f.share_of_voice)
    rows[0][0] = f"<strong>{rows[0][0]}</strong>"
    table = _table(
        [("Brand", False), ("Mentions", True), ("Share", True), ("Prev.", True), ("Change", True)],
        rows,
        "",
    )
    return _img(src, "share", "Share of voice", charts) + table


def _link(url: str | None, label: str) -> str:
    safe = safe_url(url)
    if not safe:
        return ""
    style = "color:#1d4ed8;text-decoration:none"
    return f'<a href="{escape(safe, quote=True)}" style="{style}">{escape(label)}</a>'


def _topic_trend(t: Topic) -> str:
    direction = fmt.trend(t.count, t.previous)
    tone = "neutral" if direction == "flat" else "bad" if direction == "up" else "good"
    return _delta(fmt.change(t.count, t.previous), direction, tone)


def _topic_rows(topics: list[Topic]) -> list[list[str]]:
    return [
        [
            f"<strong>{escape(t.name)}</strong>"
            f'<div style="color:{MUTED};font-size:12px;margin-top:2px">'
            f"“{escape(fmt.clip(t.example.text, 140))}” {_link(t.example.url, 'open ↗')}</div>",
            fmt.count(t.count),
            fmt.count(t.previous),
            _topic_trend(t),
        ]
        for t in topics
    ]


def _topics(f: WeeklyFigures) -> str:
    rows = _topic_rows(f.topics)
    if rows and f.other_complaints:
        rows.append(
            [
                f'<span style="color:{MUTED}">Other complaints</span>',
                fmt.count(f.other_complaints),
                "",
                "",
            ]
        )
    return _table(
        [
            ("Topic (top terms) and a typical complaint", False),
            ("Week", True),
            ("Prev.", True),
            ("Trend", True),
        ],
        rows,
        "No complaints this week.",
    )


def _incident_rows(f: WeeklyFigures, incidents: list[IncidentRow]) -> list[list[str]]:
    zone = f.week.zone
    return [
        [
            escape(fmt.clip(i.title, 120)) + f'<div style="color:{MUTED};font-size:12px">'
            f"{escape(fmt.local(i.first_seen, zone))} → {escape(fmt.local(i.last_seen, zone))}"
            f" · {escape(i.status)}</div>",
            fmt.count(i.size),
            f"{fmt.count(i.peak_count)}/h"
            f'<div style="color:{MUTED};font-size:12px">'
            f"{escape(fmt.local(i.peak_at, zone, '%a %H:%M'))}</div>",
            escape(duration(i.answer_minutes))
            if i.answer_minutes is not None
            else f'<span style="color:{BAD}">not answered</span>',
        ]
        for i in incidents
    ]


def _incidents(f: WeeklyFigures) -> str:
    return _table(
        [("Incident", False), ("Mentions", True), ("Peak", True), ("First answer", True)],
        _incident_rows(f, f.incidents),
        "No incident this week.",
    )


def _response_cells(r: ResponseStats, sla: int) -> list[str]:
    return [
        fmt.count(r.complaints),
        fmt.count(r.answered),
        escape(duration(r.median_minutes)),
        escape(duration(r.p90_minutes)),
        fmt.percent(r.sla_share),
        fmt.count(r.unanswered),
    ]


def _responses(f: WeeklyFigures) -> str:
    head = [
        ("", False),
        ("Complaints", True),
        ("Answered", True),
        ("Median 1st resp.", True),
        ("90th pct.", True),
        (f"Within {duration(f.sla_minutes)}", True),
        ("Unanswered", True),
    ]
    rows = [
        ["<strong>This week</strong>", *_response_cells(f.responses, f.sla_minutes)],
        [
            f'<span style="color:{MUTED}">Previous week</span>',
            *_response_cells(f.responses_previous, f.sla_minutes),
        ],
    ]
    return _table(head, rows, "")


def _mention(m: TopMention, color: str, f: WeeklyFigures) -> str:
    who = escape(printable(m.author or "unknown author"))
    meta = " · ".join(
        escape(printable(part))
        for part in (
            m.source,
            m.language or "",
            fmt.local(m.created_at, f.week.zone),
            f"{fmt.count(m.engagement)} engagements ({fmt.count(m.reshares)} reshares)",
        )
        if part
    )
    link = _link(m.url, "Open original ↗")
    return (
        f'<tr><td style="border-left:3px solid {color};padding:6px 10px;'
        f'border-bottom:1px solid {LINE}">'
        f'<div style="font-size:13px;color:{INK}">{escape(fmt.clip(m.text, MAX_TEXT))}</div>'
        f'<div style="font-size:12px;color:{MUTED};margin-top:3px"><strong>{who}</strong> · '
        f"{meta} {link}</div></td></tr>"
    )


def _mentions(f: WeeklyFigures) -> str:
    def block(title: str, items: list[TopMention], color: str) -> str:
        rows = "".join(_mention(m, color, f) for m in items) or (
            f'<tr><td style="font-size:13px;color:{MUTED};padding:6px 0">None this week.</td></tr>'
        )
        return (
            f'<div style="font-size:13px;font-weight:600;color:{color};margin:8px 0 4px">'
            f"{escape(title)}</div>"
            f'<table role="presentation" width="100%" cellspacing="0" cellpadding="0">'
            f"{rows}</table>"
        )

    return block("Positive", f.top_positive, GOOD) + block("Negative", f.top_negative, BAD)


def _header(f: WeeklyFigures) -> str:
    previous = f.week.shift(-1)
    return (
        f'<tr><td style="background:{HEAD};padding:20px 24px;border-radius:8px 8px 0 0">'
        '<div style="font-size:11px;letter-spacing:.12em;color:#93c5fd;font-weight:600">'
        "VIGIE · WEEKLY TRENDS</div>"
        f'<h1 style="margin:6px 0 2px;font-size:24px;color:#ffffff">{escape(f.brand)}</h1>'
        f'<div style="font-size:14px;color:#cbd5e1">Week {f.week.number}, {f.week.year} · '
        f"{escape(f.week.span())} · compared with week {previous.number}</div></td></tr>"
    )


def _footer(f: WeeklyFigures, dashboard_url: str | None) -> str:
    zone = f.week.zone
    reports = reports_link(dashboard_url)
    link = " · " + _link(reports, "All reports in Vigie") if reports else ""
    return (
        f'<tr><td style="padding:16px 24px 24px;font-size:11px;color:{MUTED};line-height:1.5">'
        f"Weeks run Monday 00:00 to Sunday 24:00 ({escape(zone.key)}). Figures as of "
        f"{escape(fmt.local(f.as_of, zone, '%a %d %b %Y %H:%M'))}. "
        "Net sentiment = (positive − negative) / (positive + negative). "
        "Share of voice = the brand's mentions among its own and its competitors'. "
        "Response times run from the complaint to the first answer; complaints marked as "
        "needing no answer are left out of the SLA share. Topics are clusters of this week's "
        f"complaints named by their most distinctive words{link}.</td></tr>"
    )


def render(
    f: WeeklyFigures,
    charts: dict[str, bytes],
    src: ImageSource,
    dashboard_url: str | None = None,
) -> str:
    """The whole report as one HTML document; ``src`` maps a chart name to its image URL."""
    sections = [
        _header(f),
        f'<tr><td style="padding:20px 24px 4px">{_tiles(f, src, charts)}</td></tr>',
        _section(
            "Volume",
            _img(src, "daily", "Mentions per day", charts)
            + '<div style="height:8px"></div>'
            + _img(src, "history", "Mentions per week by sentiment", charts),
            "This week against last week, and the last 12 weeks by sentiment.",
        ),
        _section("Where people talk", _volume(f)),
    ]
    if len(f.share_of_voice) > 1:
        sections.append(
            _section(
                "Share of voice",
                _share(f, src, charts),
                f"Against {', '.join(f.competitors)}: bars this week, ticks last week.",
            )
        )
    sections += [
        _section(
            "What people complain about",
            _topics(f),
            "Complaints grouped by what they say; trend against last week.",
        ),
        _section("Incidents", _incidents(f), "Bursts of similar complaints active this week."),
        _section(
            "Response performance",
            _responses(f),
            f"Complaints posted this week; SLA {duration(f.sla_minutes)} to the first answer.",
        ),
        _section("Most engaged mentions", _mentions(f)),
        _footer(f, dashboard_url),
    ]
    title = f"{f.brand} · weekly trends · {f.week.label}"
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title></head>"
        f'<body style="margin:0;padding:0;background:#f3f4f6;{FONT}">'
        '<table role="presentation" width="100%" cellspacing="0" cellpadding="0" '
        'style="background:#f3f4f6"><tr><td align="center" style="padding:24px 8px">'
        '<table role="presentation" width="680" cellspacing="0" cellpadding="0" '
        'style="width:100%;max-width:680px;background:#ffffff;border-radius:8px;'
        f'border:1px solid {LINE}">{"".join(sections)}</table>'
        "</td></tr></table></body></html>"
    )
