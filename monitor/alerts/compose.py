"""Turn alerts into emails a support lead can act on from a phone in a minute.

What is said, where, by whom, how far it spreads, and what to reply: plain-text and HTML parts,
a small inline chart, the suggested public reply in the mention's language. Every value that came
from a mention is escaped in the HTML part (mention text and author names are hostile), and only
http(s) links become links.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid, parseaddr
from html import escape

import matplotlib

from monitor.alerts import charts
from monitor.alerts.examples import Example, stars
from monitor.alerts.view import AlertView, facts
from monitor.display import printable, safe_url

# 7-bit transfer encodings: no dependency on the server's 8BITMIME, CRLF line ends for SMTP.
POLICY = SMTP.clone(cte_type="7bit")
MAX_SUBJECT = 180
SEVERITY_COLOURS = {"critical": "#a94442", "high": "#d9534f", "warning": "#f0ad4e"}
CHART_LABELS = {"growth": "similar complaints", "volume": "mentions"}


def email_domain(sender: str) -> str:
    """The sender's domain, for Message-IDs; ``vigie.local`` when it has none."""
    address = parseaddr(sender)[1]
    domain = address.rpartition("@")[2]
    return domain if "@" in address and domain else "vigie.local"


def alert_message_id(alert_id: int, revision: int, dedup_key: str, domain: str) -> str:
    """Stable per alert revision: the same message keeps the same id on every attempt."""
    digest = hashlib.sha256(dedup_key.encode()).hexdigest()[:12]
    return f"<vigie.alert-{alert_id}.{revision}.{digest}@{domain}>"


def earlier_message_ids(view: AlertView, domain: str) -> list[str]:
    """Ids of the alert's earlier revisions, so an update lands in the same mail thread."""
    return [alert_message_id(view.id, r, view.dedup_key, domain) for r in range(1, view.revision)]


def digest_message_id(unit: str, target: str, domain: str) -> str:
    digest = hashlib.sha256(target.encode()).hexdigest()[:12]
    return f"<vigie.{unit}.{digest}@{domain}>"


def _one_line(text: str, limit: int = MAX_SUBJECT) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def subject(views: list[AlertView]) -> str:
    if len(views) > 1:
        brands = ", ".join(dict.fromkeys(v.brand for v in views))
        return _one_line(f"[Vigie] Digest: {len(views)} alerts for {brands}")
    view = views[0]
    tag = f"{view.severity.upper()} · " if view.severity in ("high", "critical") else ""
    update = "Update: " if view.revision > 1 else ""
    return _one_line(f"[Vigie] {tag}{update}{view.title}")


# ---------------------------------------------------------------- plain text


def _plain_quote(text: str) -> list[str]:
    return ["> " + line for line in text.splitlines() or [""]]


def _byline(example: Example) -> str:
    """Who, with their stars, in which language and where: "jan · ★☆☆☆☆ · nl · appstore"."""
    parts = [example.author, stars(example.rating), example.language, example.source]
    return " · ".join(str(p) for p in parts if p)


def _plain_examples(examples: list[Example]) -> list[str]:
    lines = ["", "What people say:"]
    for example in examples:
        lines += _plain_quote(example.text)
        url = safe_url(example.url)
        lines.append(f"  — {_byline(example)} {url or ''}".rstrip(" —"))
    return lines


def _plain_changes(view: AlertView) -> list[str]:
    changes = view.get("changes")
    if view.revision < 2 or not isinstance(changes, list) or not changes:
        return []
    return ["", "What changed since the last email:", *(f"- {c}" for c in changes)]


def _plain_replies(view: AlertView) -> list[str]:
    lines = []
    for reply in view.replies:
        what = "statement" if reply.kind == "statement" else "public reply"
        lines += ["", f"Suggested {what} ({reply.language}), adapt before posting:", reply.text]
    return lines


def _plain_alert(view: AlertView) -> list[str]:
    lines = [view.label, view.title, ""]
    if view.shape.sentence:
        lines += [view.shape.sentence(view.details), ""]
    if view.get("text") and view.shape.quote_mention:
        lines += [*_plain_quote(str(view.get("text"))), ""]
    lines += [f"{label}: {value}" for label, value in facts(view)]
    lines += _plain_changes(view)
    original = safe_url(view.get("url"))
    if original:
        lines.append(f"Original: {original}")
    if view.examples:
        lines += _plain_examples(view.examples)
    lines += _plain_replies(view)
    lines += ["", f"Open in Vigie: {view.link}"]
    return lines


def plain(views: list[AlertView]) -> str:
    """The plain-text part, without bidi overrides or terminal escapes: a mail client or a
    terminal shows it as it is, so a hostile text or URL could reorder or drive what is read."""
    return printable(_plain(views))


def _plain(views: list[AlertView]) -> str:
    if len(views) == 1:
        return "\n".join(_plain_alert(views[0])) + "\n"
    lines = [f"{len(views)} alerts while notifications were paused:", ""]
    for view in views:
        lines.append(f"- [{view.severity}] {view.title}")
        if view.get("text"):
            lines.append(f"  “{_one_line(str(view.get('text')), 200)}”")
        lines.append(f"  {view.link}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------- HTML


_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")


def _e(value: object) -> str:
    """Escaped for HTML, without bidi overrides, which could make a quote read differently from
    what it says (the dashboard drops them too: dashboard/safe.py)."""
    return escape(_BIDI.sub("", str(value)), quote=True)


def _text_html(text: str) -> str:
    return _e(text).replace("\n", "<br>")


def _link(url: str | None, label: str) -> str:
    return f'<a href="{_e(url)}" style="color:#337ab7">{_e(label)}</a>' if url else ""


def _button(url: str, label: str) -> str:
    return (
        f'<a href="{_e(url)}" style="display:inline-block;background:#337ab7;color:#fff;'
        f'padding:10px 16px;border-radius:4px;text-decoration:none;margin:4px 8px 4px 0">'
        f"{_e(label)}</a>"
    )


def _badge(view: AlertView) -> str:
    colour = SEVERITY_COLOURS.get(view.severity, "#5bc0de")
    return (
        f'<span style="background:{colour};color:#fff;border-radius:3px;padding:2px 6px;'
        f'font-size:12px;text-transform:uppercase">{_e(view.severity)}</span> '
        f'<span style="color:#666;font-size:13px">{_e(view.label)} · {_e(view.brand)}</span>'
    )


def _quote(text: str, by: str = "", url: str | None = None) -> str:
    byline = " ".join(part for part in (_e(by) if by else "", _link(url, "view")) if part)
    return (
        '<blockquote style="border-left:4px solid #d9534f;margin:12px 0;padding:4px 12px;'
        f'font-size:16px">{_text_html(text)}'
        + (
            f'<div style="color:#666;font-size:13px;margin-top:4px">— {byline}</div>'
            if byline
            else ""
        )
        + "</blockquote>"
    )


def _facts_html(view: AlertView) -> str:
    rows = "".join(
        f'<tr><td style="color:#666;padding:2px 12px 2px 0;vertical-align:top">{_e(label)}</td>'
        f"<td>{_e(value)}</td></tr>"
        for label, value in facts(view)
    )
    return f'<table style="font-size:14px;border-collapse:collapse">{rows}</table>' if rows else ""


def _examples_html(examples: list[Example]) -> str:
    if not examples:
        return ""
    items = "".join(_quote(e.text, _byline(e), safe_url(e.url)) for e in examples)
    return f'<h3 style="font-size:15px;margin:16px 0 4px">What people say</h3>{items}'


def _changes_html(view: AlertView) -> str:
    lines = _plain_changes(view)[2:]
    if not lines:
        return ""
    items = "".join(f"<li>{_e(line[2:])}</li>" for line in lines)
    return (
        '<h3 style="font-size:15px;margin:16px 0 4px">What changed since the last email</h3>'
        f'<ul style="font-size:14px;margin:4px 0;padding-left:20px">{items}</ul>'
    )


def _reply_html(view: AlertView) -> str:
    parts = []
    for reply in view.replies:
        what = "statement" if reply.kind == "statement" else "public reply"
        parts.append(
            f'<h3 style="font-size:15px;margin:16px 0 4px">Suggested {what} '
            f'<span style="color:#666;font-weight:normal">({_e(reply.language)}, adapt '
            "before posting)</span></h3>"
            f'<div lang="{_e(reply.language)}" style="background:#f5f5f5;border-radius:4px;'
            f'padding:10px 12px;font-size:15px">{_text_html(reply.text)}</div>'
        )
    return "".join(parts)


def _body_html(view: AlertView, chart_cid: str | None) -> str:
    parts = [_badge(view), f'<h2 style="font-size:19px;margin:8px 0">{_e(view.title)}</h2>']
    if view.shape.sentence:
        parts.append(f'<p style="font-size:15px">{_e(view.shape.sentence(view.details))}</p>')
    if view.get("text") and view.shape.quote_mention:
        parts.append(_quote(str(view.get("text"))))
    parts.append(_facts_html(view))
    parts.append(_changes_html(view))
    if chart_cid:
        parts.append(
            f'<img src="cid:{_e(chart_cid)}" alt="chart" width="600" '
            'style="max-width:100%;height:auto;margin:8px 0">'
            f'<br><span style="color:#666;font-size:12px">Times in {_e(view.zone)}</span>'
        )
    parts.append(_examples_html(view.examples))
    parts.append(_reply_html(view))
    buttons = _button(view.link, "Open in Vigie")
    original = safe_url(view.get("url"))
    if original:
        buttons += _button(original, "View the original")
    parts.append(f'<p style="margin-top:16px">{buttons}</p>')
    return "".join(parts)


def _digest_html(views: list[AlertView]) -> str:
    items = "".join(
        f'<div style="border-bottom:1px solid #eee;padding:8px 0">{_badge(v)}'
        f'<div style="font-size:15px;margin:4px 0"><a href="{_e(v.link)}" style="color:#337ab7">'
        f"{_e(v.title)}</a></div>"
        + (
            f'<div style="color:#333;font-size:14px">“{_e(_one_line(str(v.get("text")), 200))}”'
            "</div>"
            if v.get("text")
            else ""
        )
        + "</div>"
        for v in views
    )
    return (
        f'<h2 style="font-size:19px;margin:8px 0">{len(views)} alerts while notifications were '
        f"paused</h2>{items}"
    )


def html(views: list[AlertView], chart_cid: str | None = None) -> str:
    body = _body_html(views[0], chart_cid) if len(views) == 1 else _digest_html(views)
    return (
        '<!doctype html><html><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1"></head>'
        '<body style="margin:0;padding:12px;font-family:-apple-system,Segoe UI,Roboto,sans-serif;'
        f'color:#222"><div style="max-width:600px;margin:0 auto">{body}</div></body></html>'
    )


# --------------------------------------------------------------------- chart

CHARTS: dict[str, Callable[[AlertView], bytes | None]] = {
    "growth": lambda v: charts.growth_png(v.counts, CHART_LABELS["growth"]),
    "volume": lambda v: charts.volume_png(
        v.counts, int(v.get("window_minutes") or 10), CHART_LABELS["volume"]
    ),
}


def chart(view: AlertView) -> bytes | None:
    """The alert's chart: engagement of its mention, else the growth of its incident/spike;
    its time axis on the brand's clock, like the dashboard and the weekly report."""
    with matplotlib.rc_context({"timezone": view.zone}):
        if view.series:
            return charts.engagement_png(view.series, view.details)
        render = CHARTS.get(view.shape.chart or "")
        if render is None and view.counts:
            render = CHARTS["growth"]
        return render(view) if render else None


# ------------------------------------------------------------------- message


def compose(
    views: list[AlertView],
    *,
    sender: str,
    to: list[str],
    message_id: str,
    date: datetime,
    thread: list[str] | None = None,
    chart_png: bytes | None = None,
) -> EmailMessage:
    """A multipart message (plain + HTML with the chart inline) for one alert or a digest."""
    msg = EmailMessage(policy=POLICY)
    msg["Subject"] = subject(views)
    msg["From"] = sender
    msg["To"] = ", ".join(to) if to else "undisclosed-recipients:;"
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = message_id
    if thread:
        msg["In-Reply-To"] = thread[-1]
        msg["References"] = " ".join(thread)
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"
    first = views[0]
    msg["X-Vigie-Alert"] = f"{first.kind}; brand={first.brand}; severity={first.severity}"
    msg["X-Vigie-Alert-Ids"] = " ".join(str(v.id) for v in views)
    if len(views) == 1 and first.mention_id:
        msg["X-Vigie-Mention"] = str(first.mention_id)
    msg.set_content(plain(views))
    cid = make_msgid("chart", domain=message_id.rstrip(">").rpartition("@")[2])
    use_chart = chart_png if len(views) == 1 else None
    msg.add_alternative(html(views, cid.strip("<>") if use_chart else None), subtype="html")
    if use_chart:
        msg.get_payload()[1].add_related(use_chart, "image", "png", cid=cid, filename="chart.png")
    return msg
