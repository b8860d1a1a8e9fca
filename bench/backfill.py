"""Backfill: N demo mentions through storage, scoring and detection, on SQLite and PostgreSQL.

The stream is the demo source's (monitor/collectors/demo.py: three languages, the brand and two
competitors, an incident), at a high rate, with 10% re-polls of recent posts (same id, a new
engagement snapshot), as real collectors deliver them. Per chunk, the mentions are stored, scored
with the bundled model (``score_pending``), the hourly rollup the dashboard reads is refreshed
(``rollups.refresh``) and detection runs (``detect``), as a scheduler catching up would.
Meanwhile a separate process plays the dashboard and times its queries (dashboard/queries/).
Prints throughput per stage, peak RSS, and the dashboard timings.

    python bench/backfill.py [--n 1000000] [--only sqlite|postgresql]
        [--pg postgresql://postgres@127.0.0.1:5432/vigie_bench]

PostgreSQL runs in its own database (created if missing; a fresh schema, dropped at the end).
"""

from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import os
import random
import resource
import statistics
import sys
import tempfile
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.collectors.demo import DemoCollector
from monitor.config import Brand, BrandAlerts, VigieConfig
from monitor.detection import detect
from monitor.mentions import Engagement, MentionIn
from monitor.scoring import load_model, score_pending
from monitor.storage import rollups
from monitor.storage.db import make_engine, upgrade
from monitor.storage.ingest import store_mentions

EPOCH = datetime(2026, 1, 5, tzinfo=UTC)
RATE_PER_MINUTE = 40.0
REPOLL_SHARE = 0.1
STORE_BATCH = 1000
RIVALS = ("StreetPay", "ParkMore")


def stream(n: int, seed: int = 1) -> Iterator[MentionIn]:
    """``n`` mentions in time order, 10% of them re-polls of one of the last 5,000 posts."""
    demo = DemoCollector("Parkeo", rate_per_minute=RATE_PER_MINUTE, incident_after_minutes=600,
                         competitors=RIVALS, competitor_rate_per_minute=RATE_PER_MINUTE / 4)
    rng = random.Random(seed)
    recent: deque[MentionIn] = deque(maxlen=5000)
    minute, made = 0, 0
    while made < n:
        now = EPOCH + timedelta(minutes=minute + 1)
        for post in demo.posts_at(EPOCH, minute) + demo.rival_posts_at(EPOCH, minute):
            if made >= n:
                return
            if recent and rng.random() < REPOLL_SHARE:
                old = rng.choice(recent)
                yield replace(old, engagement=Engagement(observed_at=now,
                                                         reshares=rng.randint(0, 400)))
                made += 1
            mention = replace(post.mention, engagement=post.engagement(now))
            recent.append(mention)
            yield mention
            made += 1
        minute += 1


STAGES = ("store", "score", "rollup", "detect")


@dataclass
class Totals:
    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    items: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STAGES, 0))


def _timed(totals: Totals, stage: str, count: int, started: float) -> None:
    totals.seconds[stage] += time.perf_counter() - started
    totals.items[stage] += count


def config() -> VigieConfig:
    return VigieConfig(brands=[Brand(name="Parkeo", keywords=["parkeo"], competitors=list(RIVALS),
                                     alerts=BrandAlerts(recipients=[]))])


def backfill(url: str, n: int, chunk: int) -> Totals:
    """Store, then score, refresh the hourly rollup and detect chunk by chunk, as the
    scheduler's processing step does; returns the time spent in each stage."""
    engine = make_engine(url)
    upgrade(engine)
    model = load_model(None)
    cfg, totals, batch = config(), Totals(), []
    for i, mention in enumerate(stream(n), 1):
        batch.append(mention)
        if len(batch) == STORE_BATCH or i == n:
            started = time.perf_counter()
            with engine.begin() as conn:
                store_mentions(conn, batch, mention.created_at)
            _timed(totals, "store", len(batch), started)
            batch = []
        if i % chunk == 0 or i == n:
            started = time.perf_counter()
            _timed(totals, "score", score_pending(engine, model, 256), started)
            started = time.perf_counter()
            rollups.refresh(engine)
            _timed(totals, "rollup", 1, started)
            started = time.perf_counter()
            detect(engine, cfg, mention.created_at + timedelta(minutes=1))
            _timed(totals, "detect", 1, started)
            print(f"  {i:>9,} mentions", file=sys.stderr, flush=True)
    engine.dispose()
    return totals


def dashboard_calls(engine: Engine) -> dict[str, Callable[[], object]]:
    """What the Live, Spreading, Trends and Inbox pages ask, over the whole backfilled month."""
    from dashboard import queries

    start, end = EPOCH, EPOCH + timedelta(days=30)
    brand = queries.MentionFilter(brands=("Parkeo",))
    return {
        "feed": lambda: queries.feed(engine, brand),
        "sentiment_counts": lambda: queries.sentiment_counts(engine, brand),
        "volume": lambda: queries.volume(engine, ["Parkeo"], start, end, "hour", "source"),
        "spreading": lambda: queries.spreading(engine, ["Parkeo"], start),
        "inbox": lambda: queries.inbox(engine, queries.InboxFilter(brands=("Parkeo",)), end),
    }


def probe(url: str, stop: Any, out: Any, parent: int) -> None:
    """The dashboard's queries in a loop, from another process, until ``stop`` is set (or the
    backfill process is gone, so an interrupted bench leaves nothing running)."""
    engine = make_engine(url)
    timings: dict[str, list[float]] = {}
    calls = dashboard_calls(engine)
    while not stop.is_set() and os.getppid() == parent:
        for name, call in calls.items():
            started = time.perf_counter()
            try:
                call()
            except Exception as exc:  # a query failing under load is a result, not a crash
                print(f"  dashboard {name} failed: {type(exc).__name__}", file=sys.stderr)
                continue
            timings.setdefault(name, []).append(time.perf_counter() - started)
        stop.wait(1.0)
    out.put(timings)
    engine.dispose()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def report(name: str, n: int, totals: Totals, timings: dict[str, list[float]]) -> None:
    print(f"{name}: {n:,} mentions")
    for stage in ("store", "score"):
        seconds, items = totals.seconds[stage], totals.items[stage]
        print(f"  {stage:<7} {items:>9,} in {seconds:8.1f} s = {items / seconds:>9,.0f}/s")
    for stage in ("rollup", "detect"):
        runs, seconds = totals.items[stage], totals.seconds[stage]
        print(f"  {stage:<7} {runs:>9,} runs in {seconds:6.1f} s = "
              f"{seconds / runs * 1000:,.0f} ms/run")
    print(f"  peak RSS of the backfill process: {peak_rss_mb():,.0f} MB")
    for query, values in sorted(timings.items()):
        p95 = sorted(values)[math.ceil(0.95 * len(values)) - 1]  # nearest rank
        print(f"  dashboard {query:<17} median {statistics.median(values) * 1000:7.0f} ms  "
              f"p95 {p95 * 1000:7.0f} ms  max {max(values) * 1000:7.0f} ms  ({len(values)} runs)")


def run(name: str, url: str, n: int, chunk: int) -> None:
    ctx = mp.get_context("spawn")
    stop, out = ctx.Event(), ctx.Queue()
    engine = make_engine(url)
    upgrade(engine)  # before the probe starts reading
    engine.dispose()
    dashboard = ctx.Process(target=probe, args=(url, stop, out, os.getpid()))
    dashboard.start()
    try:
        totals = backfill(url, n, chunk)
    finally:
        stop.set()
    timings = out.get(timeout=600)
    dashboard.join(60)
    report(name, n, totals, timings)


def pg_schema(admin_url: str) -> tuple[str, str]:
    """A fresh schema in the bench database (created on first use): (url, schema)."""
    parsed = make_url(admin_url)
    server = make_engine(parsed.set(database="postgres").render_as_string(hide_password=False),
                         isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"),
                            {"d": parsed.database}).scalar():
            conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    server.dispose()
    schema = f"backfill_{uuid.uuid4().hex[:8]}"
    with make_engine(admin_url).begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    return f"{admin_url}?options=-csearch_path%3D{schema}", schema


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=int, default=20_000,
                        help="mentions stored between scoring and detection passes")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/vigie_bench")
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    args = parser.parse_args()
    if args.only != "postgresql":
        with tempfile.TemporaryDirectory() as tmp:
            run("sqlite", f"sqlite:///{tmp}/backfill.db", args.n, args.chunk)
    if args.only == "sqlite":
        return
    try:
        url, schema = pg_schema(args.pg)
    except Exception as exc:  # PostgreSQL is optional for this bench
        print(f"postgresql: skipped ({type(exc).__name__}: not reachable)")
        return
    try:
        run("postgresql", url, args.n, args.chunk)
    finally:
        with make_engine(args.pg).begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))


if __name__ == "__main__":
    main()
