"""Ingest throughput: mentions/s stored with deduplication, on SQLite and PostgreSQL.

Generates N mentions (10% of them repeated, as re-polls are in real streams), each with an
engagement snapshot, and stores them in batches of 1,000 through the same path the collectors use.

    python bench/ingest.py [--n 100000] [--pg postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.mentions import Engagement, MentionIn
from monitor.storage.db import make_engine, upgrade
from monitor.storage.ingest import store_mentions
from monitor.storage.tables import Mention

BATCH = 1000


def generate(n: int, seed: int = 1) -> list[MentionIn]:
    rng = random.Random(seed)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    unique = int(n * 0.9)
    out = []
    for i in range(n):
        k = i if i < unique else rng.randrange(unique)
        t = start + timedelta(seconds=k)
        out.append(MentionIn(
            source="x", external_id=str(k),
            brand="Parkeo", text=f"mention {k} about @Parkeo " + "word " * rng.randint(3, 40),
            created_at=t, author=f"user{k % 5000}", author_followers=rng.randint(0, 10_000),
            language="fr", engagement=Engagement(observed_at=t + timedelta(minutes=5),
                                                 reshares=rng.randint(0, 50)),
        ))
    return out


def run(url: str, mentions: list[MentionIn]) -> tuple[float, int]:
    engine = make_engine(url)
    upgrade(engine)
    now = datetime.now(UTC)
    t0 = time.perf_counter()
    for start in range(0, len(mentions), BATCH):
        with engine.begin() as conn:
            store_mentions(conn, mentions[start : start + BATCH], now)
    elapsed = time.perf_counter() - t0
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(Mention)).scalar_one()
    engine.dispose()
    return elapsed, stored


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    mentions = generate(args.n)
    with tempfile.TemporaryDirectory() as tmp:
        elapsed, stored = run(f"sqlite:///{tmp}/bench.db", mentions)
    print(f"sqlite:     {args.n} mentions ({stored} unique) in {elapsed:.2f} s "
          f"= {args.n / elapsed:,.0f} mentions/s")
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(args.pg)
    try:
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
    except Exception as exc:  # PostgreSQL is optional for this bench
        print(f"postgresql: skipped ({type(exc).__name__}: not reachable)")
        return
    try:
        elapsed, stored = run(f"{args.pg}?options=-csearch_path%3D{schema}", mentions)
        print(f"postgresql: {args.n} mentions ({stored} unique) in {elapsed:.2f} s "
              f"= {args.n / elapsed:,.0f} mentions/s")
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))


if __name__ == "__main__":
    main()
