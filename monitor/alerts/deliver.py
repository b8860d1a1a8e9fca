"""Alert stage: release waiting alerts, then deliver each message once.

Email goes by SMTP, chat through apprise, and to ``.eml`` files in ``var/outbox`` when no SMTP
server is configured. A server that is down delays alerts (retries with backoff) but never loses
them.

Exactly-once, and its one limit: each (alert revision, target) row is claimed before sending and
marked after (see :mod:`monitor.alerts.claims`). If the sender dies, or the connection breaks,
between handing the message over (SMTP DATA) and recording it, nobody can know whether it arrived.
Vigie then prefers *at most once*: the row is marked ``unknown`` and not resent, because a support
lead getting the same alert twice learns to skim alerts, while an ``unknown`` row shows in the
dashboard and can be resent by hand (same Message-ID, so mail clients that deduplicate still
do). Chat targets only report failure when the target refused or could not be reached, and are
retried then; generic JSON/form/XML webhooks carry an ``X-Vigie-Idempotency-Key`` header so a
receiver can drop a retry it already has.
"""

from __future__ import annotations

import logging
import os
import smtplib
import uuid
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, or_, select
from sqlalchemy.orm import Session

from monitor.alerts import claims, compose, webhooks
from monitor.alerts.claims import Unit
from monitor.alerts.release import release_due
from monitor.alerts.rules import email_recipients
from monitor.alerts.smtp import Refused, SmtpSession
from monitor.alerts.view import AlertView, brand_rules, load_view
from monitor.config import Settings, VigieConfig
from monitor.storage.tables import Alert, AlertDelivery

log = logging.getLogger(__name__)
BATCH = 50
MAX_ROUNDS = 100


def write_eml(msg: EmailMessage, outbox: Path, name: str) -> Path:
    """Atomically write the message; the same message rewritten replaces its file (no duplicate)."""
    outbox.mkdir(parents=True, exist_ok=True)
    final = outbox / f"{name}.eml"
    tmp = final.with_suffix(".eml.tmp")
    tmp.write_bytes(msg.as_bytes())
    os.replace(tmp, final)
    return final


def describe(exc: BaseException) -> str:
    """The error without anything that could carry credentials."""
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"SMTP login refused ({exc.smtp_code}); check SMTP_USER and SMTP_PASSWORD"
    return f"{type(exc).__name__}: {str(exc)[:300]}"


class Pass:
    """One run of the sender: its claim token, the SMTP connection, rendered views and charts."""

    def __init__(
        self, engine: Engine, config: VigieConfig, settings: Settings, now: datetime
    ) -> None:
        self.engine, self.config, self.settings, self.now = engine, config, settings, now
        self.token = uuid.uuid4().hex
        self.lease = settings.alert_lease_seconds
        self.smtp = SmtpSession(settings)
        self.smtp_down: str | None = None
        self.domain = compose.email_domain(settings.smtp_from)
        self._views: dict[tuple[int, int], AlertView] = {}
        self._charts: dict[tuple[int, int], bytes | None] = {}

    def views(self, unit: Unit) -> list[AlertView]:
        """Each alert as the revision this unit carries: its content was fixed at release, so an
        alert revised since (a restart, a retry) does not lend a later revision's figures."""
        missing = [key for key in unit.alerts if key not in self._views]
        if missing:
            with Session(self.engine) as session:
                ids = [a for a, _ in missing]
                alerts = {a.id: a for a in session.scalars(select(Alert).where(Alert.id.in_(ids)))}
                for key in missing:
                    if key[0] in alerts:
                        alert = as_released(alerts[key[0]], key[1], unit.contents.get(key))
                        self._views[key] = load_view(session.connection(), alert, self.config)
        return [self._views[key] for key in unit.alerts if key in self._views]

    def message(self, unit: Unit, views: list[AlertView], to: list[str]) -> EmailMessage:
        first = views[0]
        single = len(views) == 1
        if single and (first.id, first.revision) not in self._charts:
            self._charts[(first.id, first.revision)] = compose.chart(first)
        return compose.compose(
            views,
            sender=self.settings.smtp_from,
            to=to,
            message_id=unit.message_id,
            date=self.now,
            thread=compose.earlier_message_ids(first, self.domain) if single else None,
            chart_png=self._charts.get((first.id, first.revision)) if single else None,
        )

    def retry(self, unit: Unit, error: str) -> None:
        when = claims.mark_retry(self.engine, unit, self.token, self.now, error)
        log.warning("%s to %s not delivered, retry at %s: %s", unit.unit, _shown(unit), when, error)

    def fail(self, unit: Unit, error: str) -> None:
        claims.mark_failed(self.engine, unit, self.token, error)
        log.error("%s to %s refused for good: %s", unit.unit, _shown(unit), error)

    def deliver(self, unit: Unit) -> bool:
        """Send one message; True when it was delivered."""
        views = self.views(unit)
        if not views:
            self.fail(unit, "the alert was deleted")
            return False
        try:  # rendering only, no I/O: a bug here must not wedge the queue, so retry later
            rendered = self.render(unit, views)
        except Exception as exc:
            log.exception("%s could not be rendered", unit.unit)
            self.retry(unit, describe(exc))
            return False
        if unit.channel == "email":
            return self._email(unit, rendered)
        if unit.channel == "webhook":
            return self._webhook(unit, views[0].brand, rendered)
        return self._file(unit, views, rendered)

    def render(self, unit: Unit, views: list[AlertView]) -> EmailMessage | tuple[str, str]:
        """The email for one recipient or the outbox file, or (title, body) for a chat."""
        if unit.channel == "webhook":
            return webhooks.title(views), webhooks.body(views)
        if unit.channel == "email":
            return self.message(unit, views, [unit.target])
        first = views[0]
        to = email_recipients(brand_rules(self.config, first.brand), first.severity)
        return self.message(unit, views, to)

    def _email(self, unit: Unit, msg: EmailMessage) -> bool:
        if self.smtp_down:
            self.retry(unit, self.smtp_down)
            return False
        try:
            self.smtp.prepare(unit.target)
        except Refused as exc:
            (self.fail if exc.permanent else self.retry)(unit, f"SMTP refused: {exc}")
            return False
        except (OSError, smtplib.SMTPException) as exc:
            self.smtp_down = describe(exc)
            self.smtp.close()
            self.retry(unit, self.smtp_down)
            return False
        if not claims.begin_sending(self.engine, unit, self.token, self.lease):
            self.smtp.reset()
            return False
        try:
            self.smtp.transfer(msg)
        except Refused as exc:
            (self.fail if exc.permanent else self.retry)(unit, f"SMTP refused: {exc}")
            return False
        except (OSError, smtplib.SMTPException) as exc:
            self.smtp.close()
            claims.mark_unknown(self.engine, unit, self.token, describe(exc))
            log.error("%s to %s: connection lost during transfer", unit.unit, _shown(unit))
            return False
        claims.mark_sent(self.engine, unit, self.token, self.now)
        return True

    def _webhook(self, unit: Unit, brand: str, note: tuple[str, str]) -> bool:
        try:
            url = webhooks.resolve(brand_rules(self.config, brand), unit.target)
        except webhooks.WebhookError as exc:
            self.fail(unit, str(exc))
            return False
        if not claims.begin_sending(self.engine, unit, self.token, self.lease):
            return False
        try:
            webhooks.send(url, *note, severe=_severe(unit, self._views), key=unit.message_id)
        except webhooks.WebhookError as exc:
            (self.fail if exc.permanent else self.retry)(unit, str(exc))
            return False
        claims.mark_sent(self.engine, unit, self.token, self.now)
        return True

    def _file(self, unit: Unit, views: list[AlertView], msg: EmailMessage) -> bool:
        # One file per revision, as a mailbox would hold them: an update must not erase the
        # first warning; a retry of the same revision rewrites its own file.
        [(alert_id, revision), *more] = unit.alerts
        name = f"alert-{alert_id:08d}-r{revision}" if not more else f"digest-{unit.unit}"
        write_eml(msg, self.settings.outbox_dir, name)
        claims.mark_sent(self.engine, unit, self.token, self.now)
        return True


def _severe(unit: Unit, views: dict[tuple[int, int], AlertView]) -> bool:
    return any(views[k].severity in ("high", "critical") for k in unit.alerts if k in views)


def as_released(alert: Alert, revision: int, content: dict[str, Any] | None) -> Alert:
    """The alert as it was when ``revision`` was released (a detached copy; rows released before
    contents were kept fall back to the alert as it is)."""
    if not content:
        return alert
    copy = Alert(**{c.key: getattr(alert, c.key) for c in Alert.__table__.columns})
    copy.revision, copy.title = revision, content["title"]
    copy.severity, copy.details = content["severity"], content["details"]
    return copy


def _shown(unit: Unit) -> str:
    """How a target appears in logs: addresses and webhook keys (never a webhook URL)."""
    return f"{unit.channel}:{unit.target}"


def _work_to_do(engine: Engine, now: datetime) -> bool:
    """A cheap read first: an idle sender polling every second takes no write lock."""
    d = AlertDelivery
    queries = [
        select(Alert.id).where(
            or_(
                Alert.status == "pending", (Alert.status == "held") & (Alert.next_attempt_at <= now)
            )
        ),
        select(d.id).where(d.status == "pending", d.next_attempt_at <= now),
        select(d.id).where(d.status.in_(("claimed", "sending")), d.lease_until < claims.wall_now()),
    ]
    with engine.connect() as conn:
        return any(conn.execute(q.limit(1)).first() is not None for q in queries)


def deliver_pending(
    engine: Engine, config: VigieConfig, settings: Settings, now: datetime, limit: int = BATCH
) -> int:
    """Release what is due, then send every due message; returns how many were delivered."""
    if not _work_to_do(engine, now):
        return 0
    claims.refresh_alerts(engine, claims.recover(engine))
    release_due(engine, config, settings, now)
    run = Pass(engine, config, settings, now)
    sent = 0
    try:
        for _ in range(MAX_ROUNDS):
            units = claims.claim(engine, run.token, now, run.lease, limit)
            sent += sum(run.deliver(unit) for unit in units)
            claims.refresh_alerts(engine, [a for unit in units for a, _ in unit.alerts])
            if len(units) < limit:
                break
    finally:
        run.smtp.close()
    return sent
