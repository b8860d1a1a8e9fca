"""The report as an e-mail: HTML with its charts inline (by Content-ID), a plain-text summary for
clients that show no HTML, and the PDF and CSV attached."""

from __future__ import annotations

import hashlib
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from monitor.display import duration
from monitor.reports import format as fmt
from monitor.reports import html
from monitor.reports.figures import WeeklyFigures

DOMAIN = "vigie.local"
# CRLF line ends and 7-bit transfer encodings (quoted-printable, base64): smtplib sends bytes as
# they are, and servers refuse bare LF or lines over 998 characters.
POLICY = SMTP.clone(cte_type="7bit")


def content_id(name: str, figures: WeeklyFigures) -> str:
    return f"{name}.{figures.week.label}@{DOMAIN}"


def message_id(figures: WeeklyFigures) -> str:
    """Stable per brand and week, so a resend is recognisable as the same report."""
    key = f"{figures.brand}\0{figures.week.label}".encode()
    return f"<report-{figures.week.label}-{hashlib.sha256(key).hexdigest()[:16]}@{DOMAIN}>"


def subject(figures: WeeklyFigures) -> str:
    cur = figures.current
    return (
        f"[Vigie] {figures.brand} weekly trends, week {figures.week.number} "
        f"({figures.week.span()}): {fmt.count(cur.mentions)} mentions, "
        f"net sentiment {fmt.net(cur.net_sentiment)}"
    )


def plain_text(figures: WeeklyFigures, dashboard_url: str | None) -> str:
    """The headline numbers for text-only clients; the full report is in the attachments."""
    lines = [f"{figures.brand}: weekly trends, {figures.week.span()} ({figures.week.label})", ""]
    lines += [f"{k.label}: {k.value} ({k.delta})" for k in fmt.kpis(figures)]
    r = figures.responses
    lines += [
        f"Complaints answered: {fmt.count(r.answered)} of {fmt.count(r.complaints)}, "
        f"median first response {duration(r.median_minutes)}, "
        f"{fmt.percent(r.sla_share)} within {duration(figures.sla_minutes)}, "
        f"{fmt.count(r.unanswered)} unanswered",
        "",
    ]
    if figures.topics:
        lines.append("Top complaint topics:")
        lines += [f"  - {t.name}: {t.count} (last week {t.previous})" for t in figures.topics]
        lines.append("")
    lines.append("The full report is attached as PDF, with its numbers as CSV.")
    reports = html.reports_link(dashboard_url)
    if reports:
        lines.append(f"All reports: {reports}")
    return "\n".join(lines)


def compose(
    figures: WeeklyFigures,
    charts: dict[str, bytes],
    attachments: dict[str, tuple[bytes, str, str]],
    sender: str,
    recipients: list[str],
    dashboard_url: str | None,
    now: datetime,
) -> EmailMessage:
    """multipart/mixed: (text | related(html, images)) + attachments given as
    ``filename -> (data, maintype, subtype)``."""
    msg = EmailMessage(policy=POLICY)
    msg["Subject"] = subject(figures)
    msg["From"] = sender
    msg["To"] = ", ".join(recipients) if recipients else "undisclosed-recipients:;"
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message_id(figures)
    msg["X-Vigie-Report"] = f"weekly; brand={figures.brand}; week={figures.week.label}"
    msg.set_content(plain_text(figures, dashboard_url))
    body = html.render(
        figures, charts, lambda name: f"cid:{content_id(name, figures)}", dashboard_url
    )
    msg.add_alternative(body, subtype="html")
    html_part = msg.get_payload()[1]
    for name, png in charts.items():
        html_part.add_related(
            png,
            "image",
            "png",
            cid=f"<{content_id(name, figures)}>",
            filename=f"{name}.png",
            disposition="inline",
        )
    for filename, (data, maintype, subtype) in attachments.items():
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg
