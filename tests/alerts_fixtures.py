"""Helpers for the alert tests (no tests here): a real SMTP server on loopback, a real HTTP
webhook receiver, and a few rows to alert about."""

from __future__ import annotations

import asyncio
import email
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy import Engine, select

from monitor.alerts.outbox import raise_alert
from monitor.config import Settings, VigieConfig, load_config
from monitor.storage.tables import Alert, AlertDelivery, EngagementSnapshot, Mention, Sentiment


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Received:
    rcpt: list[str]
    message: EmailMessage
    at: float


@dataclass
class Recorder:
    """aiosmtpd handler keeping every accepted message; can refuse or slow down on demand."""

    messages: list[Received] = field(default_factory=list)
    refuse_rcpt: dict[str, str] = field(default_factory=dict)
    data_replies: list[str] = field(default_factory=list)
    delay: float = 0.0
    started: int = 0
    logins: list[bytes] = field(default_factory=list)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse_rcpt:
            return self.refuse_rcpt[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.started += 1
        if self.data_replies:
            return self.data_replies.pop(0)
        msg = email.message_from_bytes(envelope.content, policy=default_policy)
        self.messages.append(Received(list(envelope.rcpt_tos), msg, time.time()))
        if self.delay:  # the message is in, the "250" is slow to come
            await asyncio.sleep(self.delay)
        return "250 2.0.0 accepted"

    def keys(self) -> list[tuple[str, str]]:
        """(recipient, Message-ID) of every accepted copy: duplicates show up here."""
        return [(r, m.message["Message-ID"]) for m in self.messages for r in m.rcpt]


class SmtpSink:
    """A real SMTP server on 127.0.0.1, started and stopped at will on a fixed port."""

    def __init__(self, port: int | None = None, **controller: Any) -> None:
        self.port = port or free_port()
        self.recorder = Recorder()
        self.controller_kwargs = controller
        self.controller: Controller | None = None

    def start(self) -> SmtpSink:
        self.controller = Controller(
            self.recorder, hostname="127.0.0.1", port=self.port, **self.controller_kwargs
        )
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def env(self) -> dict[str, str]:
        return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(self.port), "SMTP_SECURITY": "none"}

    def settings(self, tmp_path: Path, **extra: Any) -> Settings:
        return Settings(**{**self.env(), "VIGIE_DATA_DIR": str(tmp_path), **extra})


class WebhookReceiver:
    """A real HTTP server collecting POSTed JSON; answers with ``statuses`` first, then 200."""

    def __init__(self) -> None:
        self.posts: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                if status == 200:
                    receiver.posts.append((dict(self.headers), json.loads(body)))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def write_config(tmp_path: Path, alerts_yaml: str, brand: str = "Acme") -> VigieConfig:
    """A one-brand config whose ``alerts`` section is ``alerts_yaml`` (indented 6 spaces)."""
    path = tmp_path / "vigie.yaml"
    body = (
        f"brands:\n  - name: {brand}\n    keywords: [{brand.lower()}]\n    languages: [nl, en]\n"
        f"    alerts:\n{alerts_yaml}\ndashboard_url: https://vigie.example.test\n"
    )
    path.write_text(body, encoding="utf-8")
    path.chmod(0o600)
    return load_config(path)


def add_mention(
    engine: Engine,
    now: datetime,
    *,
    text: str,
    language: str | None = "fr",
    author: str = "claire",
    url: str | None = "https://social.example/p/1",
    brand: str = "Acme",
    external_id: str = "m1",
    reshares: list[int] | None = None,
) -> int:
    """A stored, scored mention with an engagement series (one point every 10 minutes)."""
    with engine.begin() as conn:
        mention_id = conn.execute(
            Mention.__table__.insert().returning(Mention.id),
            {
                "source": "x",
                "external_id": external_id,
                "brand": brand,
                "url": url,
                "author": author,
                "author_followers": 12400,
                "text": text,
                "language": language,
                "created_at": now - timedelta(hours=1),
                "collected_at": now - timedelta(hours=1),
            },
        ).scalar_one()
        series = reshares or [5, 40, 160, 420]
        conn.execute(
            EngagementSnapshot.__table__.insert(),
            [
                {
                    "mention_id": mention_id,
                    "observed_at": now - timedelta(minutes=10 * (len(series) - i)),
                    "reshares": n,
                    "likes": 2 * n,
                }
                for i, n in enumerate(series)
            ],
        )
        conn.execute(
            Sentiment.__table__.insert(),
            {
                "mention_id": mention_id,
                "label": "negative",
                "score": 0.93,
                "is_complaint": True,
                "complaint_score": 0.88,
                "model_id": "test",
                "scored_at": now,
            },
        )
    return mention_id


def queue(
    engine: Engine,
    now: datetime,
    key: str,
    *,
    brand: str = "Acme",
    severity: str = "warning",
    kind: str = "spreading",
    mention_id: int | None = None,
    details: dict[str, Any] | None = None,
    metric: float | None = None,
    title: str | None = None,
) -> bool:
    with engine.begin() as conn:
        return raise_alert(
            conn,
            kind=kind,
            dedup_key=key,
            brand=brand,
            title=title or f"Alert {key}",
            details=details or {},
            now=now,
            mention_id=mention_id,
            severity=severity,
            metric=metric,
        )


def alert_id(engine: Engine, key: str) -> int:
    with engine.connect() as conn:
        return conn.execute(select(Alert.id).where(Alert.dedup_key == key)).scalar_one()


def deliveries(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return conn.execute(select(AlertDelivery.__table__).order_by(AlertDelivery.id)).all()
