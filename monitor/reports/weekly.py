"""The weekly report end to end: compute, draw, render, write, and e-mail it.

Used by ``python -m monitor report weekly``, by the scheduler (:func:`send_due_reports`, safe to
call as often as one likes) and by the dashboard's Reports page.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import Engine, exists, select

from monitor.alerts.smtp import SmtpSession
from monitor.config import Settings, VigieConfig
from monitor.reports import html, mail, pdf, registry, table
from monitor.reports.charts import draw_all
from monitor.reports.figures import WeeklyFigures, compute
from monitor.reports.period import Week, due_week
from monitor.storage.tables import Mention

log = logging.getLogger(__name__)
HTML, PDF, CSV, EML = "report.html", "report.pdf", "data.csv", "report.eml"


@dataclass(frozen=True, slots=True)
class GeneratedReport:
    figures: WeeklyFigures
    charts: dict[str, bytes]
    directory: Path

    @property
    def files(self) -> dict[str, Path]:
        return {name: self.directory / name for name in (HTML, PDF, CSV)}


@dataclass(frozen=True, slots=True)
class Delivery:
    recipients: list[str]
    message_id: str
    eml: Path | None


def slug(name: str) -> str:
    """A brand name safe as one path component (no separators, no leading dots)."""
    return re.sub(r"[^\w.-]+", "_", name).strip("._") or "brand"


def default_dir(settings: Settings, brand: str, week: Week) -> Path:
    return settings.data_dir / "reports" / slug(brand) / week.label


def _write(path: Path, data: bytes) -> None:
    """Write through a temporary file, so a reader never sees half a report."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def generate(
    engine: Engine, config: VigieConfig, brand: str, week: Week, out: Path, now: datetime
) -> GeneratedReport:
    """Write ``report.html``, ``report.pdf`` and ``data.csv`` into ``out`` and index them."""
    spec = config.brand(brand)
    figures = compute(engine, spec, week, now, config.reports.sla_minutes)
    charts = draw_all(figures)
    out.mkdir(parents=True, exist_ok=True)
    page = html.render(
        figures, charts, lambda name: html.data_uri(charts[name]), config.dashboard_url
    )
    _write(out / HTML, page.encode("utf-8"))
    _write(out / PDF, pdf.render(figures, charts))
    _write(out / CSV, table.render(figures).encode("utf-8"))
    registry.record(engine, spec.name, week.label, str(out.resolve()), figures.summary(), now)
    log.info("weekly report of %s for %s written to %s", spec.name, week.label, out)
    return GeneratedReport(figures, charts, out)


def deliver(
    engine: Engine,
    report: GeneratedReport,
    config: VigieConfig,
    settings: Settings,
    now: datetime,
) -> Delivery:
    """E-mail the report to the brand's recipients, or write it as ``report.eml`` beside the
    files when no SMTP server (or no recipient) is configured; then mark it sent."""
    figures = report.figures
    recipients = config.reports.recipients_for(figures.brand)
    base = f"{slug(figures.brand)}-{figures.week.label}"
    attachments = {
        f"{base}.pdf": ((report.directory / PDF).read_bytes(), "application", "pdf"),
        f"{base}.csv": ((report.directory / CSV).read_bytes(), "text", "csv"),
    }
    msg = mail.compose(
        figures,
        report.charts,
        attachments,
        settings.smtp_from,
        recipients,
        config.dashboard_url,
        now,
    )
    eml = None
    if settings.smtp_host and recipients:
        _send(msg, recipients, settings)
    else:
        eml = report.directory / EML
        _write(eml, msg.as_bytes())
    sent_to = ", ".join(recipients) if eml is None else str(eml)
    registry.mark_sent(engine, figures.brand, figures.week.label, now, sent_to, msg["Message-ID"])
    return Delivery(recipients, msg["Message-ID"], eml)


def _send(msg: EmailMessage, recipients: list[str], settings: Settings) -> None:
    """One envelope per recipient over a single connection (the alerts' SMTP session)."""
    session = SmtpSession(settings)
    try:
        for recipient in recipients:
            session.prepare(recipient)
            session.transfer(msg)
    finally:
        session.close()


def _has_mentions(engine: Engine, brand: str, week: Week) -> bool:
    query = select(
        exists().where(
            Mention.brand == brand,
            Mention.created_at >= week.start,
            Mention.created_at < week.end,
        )
    )
    with engine.connect() as conn:
        return bool(conn.execute(query).scalar())


def describe(exc: Exception) -> str:
    """The error without arguments that could carry credentials."""
    return f"{type(exc).__name__}: {str(exc)[:300]}"


def send_due_reports(engine: Engine, config: VigieConfig, settings: Settings, now: datetime) -> int:
    """Generate and send every brand's report that is due and not yet sent; returns how many
    went out. Idempotent: the scheduler calls it often and at start-up, so a report missed while
    the scheduler was down goes out late rather than never."""
    if not config.reports.enabled:
        return 0
    sent = 0
    for brand in config.brands:
        week = due_week(now, config.reports, config.zone(brand.name))
        if not _has_mentions(engine, brand.name, week):
            continue  # nothing to report (e.g. installed after that week)
        if not registry.claim(engine, brand.name, week.label, now):
            continue
        try:
            report = generate(
                engine, config, brand.name, week, default_dir(settings, brand.name, week), now
            )
            deliver(engine, report, config, settings, now)
        except Exception as exc:
            log.warning(
                "weekly report of %s for %s not sent: %s", brand.name, week.label, describe(exc)
            )
            registry.mark_failed(engine, brand.name, week.label, now, describe(exc))
            continue
        sent += 1
    return sent
