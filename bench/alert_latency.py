"""Alert latency: from a mention being stored to its email accepted by an SMTP server.

The real scheduler runs (collect → score → detect → alert, with the sender thread) against a
real SMTP server on loopback (aiosmtpd). A bench source brings a steady stream of complaints that
spread fast; each one triggers a spreading alert. The latency of one alert is the time between
the mention's ``collected_at`` (set before it is stored, so the figure errs on the slow side) and
the moment the SMTP server accepted the email. Target: p95 ≤ 5 s over 200 alerts.

    python bench/alert_latency.py [--alerts 200] [--rate 4] [--process-every 1]
                                  [--pg postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import email
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy import select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.clock import SystemClock
from monitor.config import Settings, VigieConfig
from monitor.mentions import Batch, Engagement, MentionIn
from monitor.scheduler import Pipeline, run_forever
from monitor.scoring import load_model
from monitor.storage.db import make_engine, upgrade
from monitor.storage.tables import Mention

COMPLAINTS = [
    "@Bench my parking fine is wrong, I paid my yearly pass",
    "@Bench amende reçue alors que mon abonnement est payé",
    "@Bench boete gekregen terwijl mijn abonnement betaald is",
    "@Bench I was charged twice and nobody answers the phone",
]


class Inbox:
    """aiosmtpd handler: when each alert email was accepted, by mention id."""

    def __init__(self) -> None:
        self.accepted: dict[int, float] = {}
        self.others = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content)
        mention = msg.get("X-Vigie-Mention")
        if mention:
            self.accepted.setdefault(int(mention), time.time())
        else:
            self.others += 1
        return "250 accepted"


class BenchSource:
    """``rate`` new complaints per second, each already reshared fast, until ``total``."""

    source = "bench"
    brand = "Bench"
    key = "bench:Bench"

    def __init__(self, total: int, rate: float) -> None:
        self.total, self.rate = total, rate
        self.started = time.monotonic()
        self.emitted = 0

    def collect(self, cursor: dict[str, Any] | None, now: datetime) -> Iterator[Batch]:
        due = min(self.total, int((time.monotonic() - self.started) * self.rate) + 1)
        mentions = [self._mention(i, now) for i in range(self.emitted, due)]
        self.emitted = due
        if mentions:
            yield Batch(mentions, {"emitted": due})

    @staticmethod
    def _mention(i: int, now: datetime) -> MentionIn:
        return MentionIn(
            source="bench",
            external_id=f"b{i}",
            brand="Bench",
            text=f"{COMPLAINTS[i % len(COMPLAINTS)]} (#{i})",
            created_at=now - timedelta(minutes=5),
            url=f"https://bench.invalid/{i}",
            author=f"user{i}",
            author_followers=1000 + i,
            engagement=Engagement(observed_at=now, reshares=200, likes=300),
        )


def _config() -> VigieConfig:
    return VigieConfig.model_validate(
        {
            "brands": [
                {
                    "name": "Bench",
                    "keywords": ["bench"],
                    "alerts": {
                        "recipients": ["lead@bench.test"],
                        "spreading": {
                            "reshares_per_hour": 10,
                            "min_reshares": 10,
                            "negative_only": False,
                        },
                    },
                }
            ],
            "sources": {"bench": {"interval_seconds": 0.25, "silent_after_intervals": 0}},
        }
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def run(url: str, data_dir: Path, alerts: int, rate: float, process_every: float) -> None:
    engine = make_engine(url)
    upgrade(engine)
    inbox = Inbox()
    port = _free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    settings = Settings(
        SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_SECURITY="none", VIGIE_DATA_DIR=str(data_dir)
    )
    load_model(None)  # loaded once before timing, as in a running monitor
    source = BenchSource(alerts, rate)
    pipeline = Pipeline(engine, _config(), settings, SystemClock(), [source])
    stop = threading.Event()
    worker = threading.Thread(target=run_forever, args=(pipeline, process_every, stop))
    worker.start()
    deadline = time.monotonic() + alerts / rate + 120
    try:
        while len(inbox.accepted) < alerts and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        stop.set()
        worker.join()
        smtp.stop()
    with engine.connect() as conn:
        stored = dict(conn.execute(select(Mention.id, Mention.collected_at)).all())
    latencies = [at - stored[m].timestamp() for m, at in inbox.accepted.items() if m in stored]
    engine.dispose()
    print(f"database: {url.split('?')[0]}")
    print(f"alerts delivered: {len(latencies)} of {alerts} (other emails: {inbox.others})")
    if len(latencies) < 2:
        print("not enough alerts delivered to measure")
        return
    p95 = _percentile(latencies, 95)
    print(
        f"latency stored → accepted by SMTP: p50 {statistics.median(latencies):.2f} s, "
        f"p95 {p95:.2f} s, max {max(latencies):.2f} s"
    )
    print(f"target p95 ≤ 5 s: {'met' if p95 <= 5 and len(latencies) == alerts else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=200)
    parser.add_argument("--rate", type=float, default=4.0, help="new complaints per second")
    parser.add_argument("--process-every", type=float, default=1.0, help="scheduler cycle (s)")
    parser.add_argument("--pg", help="PostgreSQL URL (a temporary schema is used)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if not args.pg:
            run(f"sqlite:///{tmp}/bench.db", Path(tmp), args.alerts, args.rate, args.process_every)
            return
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        admin = make_engine(args.pg)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            sep = "&" if "?" in args.pg else "?"
            url = f"{args.pg}{sep}options=-csearch_path%3D{schema}"
            run(url, Path(tmp), args.alerts, args.rate, args.process_every)
        finally:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


if __name__ == "__main__":
    main()
