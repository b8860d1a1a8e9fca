"""Backtest: replay N recorded mentions through the whole pipeline on a simulated clock.

The history is the demo source's stream (three languages, the brand and two competitors,
engagement re-polls, the incident after ten days), written as the JSONL export Vigie writes,
spread over about two weeks as a busy brand's month would be, with the source polled every
5 minutes. Timed: reading the file, then the replay itself (store, score, rollup, detect,
release to the temporary outbox). Target: 100,000 mentions in 5 minutes or less.

    nice -n 10 python bench/backtest.py [--n 100000] [--rate 5]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.backtest.inputs import read_history
from monitor.backtest.replay import backtest
from monitor.collectors.demo import DemoCollector
from monitor.config import VigieConfig

EPOCH = datetime(2026, 1, 5, tzinfo=UTC)
RIVALS = ["StreetPay", "ParkMore"]
TARGET_SECONDS = 300


def write_history(path: Path, n: int, rate: float) -> None:
    """``n`` mentions of the demo stream at ``rate`` a minute, as export records."""
    demo = DemoCollector("Parkeo", rate_per_minute=rate, incident_after_minutes=10 * 1440,
                         competitors=RIVALS, competitor_rate_per_minute=rate / 4)
    made, minute = 0, 0
    with path.open("w", encoding="utf-8") as out:
        while made < n:
            now = EPOCH + timedelta(minutes=minute + 1)
            for post in demo.posts_at(EPOCH, minute) + demo.rival_posts_at(EPOCH, minute):
                m = post.mention
                later = post.engagement(now + timedelta(minutes=30))
                snapshots = [post.engagement(now), later]
                out.write(json.dumps({
                    "source": "twitter", "external_id": m.external_id, "brand": m.brand,
                    "created_at": m.created_at.isoformat(), "author": m.author, "text": m.text,
                    "url": m.url, "language": m.language,
                    "author_followers": m.author_followers,
                    "engagement": [{"observed_at": e.observed_at.isoformat(),
                                    "likes": e.likes, "reshares": e.reshares}
                                   for e in snapshots],
                }) + "\n")
                made += 1
                if made >= n:
                    return
            minute += 1


def config() -> VigieConfig:
    return VigieConfig.model_validate({
        "brands": [{"name": "Parkeo", "keywords": ["parkeo"], "handles": ["@Parkeo"],
                    "languages": ["fr", "nl", "en"], "competitors": RIVALS,
                    "alerts": {"recipients": ["lead@example.com"]}}],
        "sources": {"twitter": {"interval_seconds": 300}},
    })


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=5.0, help="brand mentions per minute")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "history.jsonl"
        write_history(path, args.n, args.rate)
        started, cpu = time.perf_counter(), time.process_time()
        history = read_history([path], config())
        read_s = time.perf_counter() - started
        outcome = backtest(config(), history.mentions)
        cpu = time.process_time() - cpu
    total = read_s + outcome.seconds
    span = history.mentions[-1].created_at - history.mentions[0].created_at
    kinds: dict[str, int] = {}
    for alert in outcome.alerts:
        kinds[alert["kind"]] = kinds.get(alert["kind"], 0) + 1
    print(f"mentions: {args.n:,} ({len(history.mentions):,} items with re-polls) "
          f"over {span.days} days {span.seconds // 3600} h")
    print(f"read: {read_s:.1f} s")
    print(f"replay: {outcome.seconds:.1f} s ({outcome.polls:,} polls, {outcome.cycles:,} cycles)")
    print(f"total: {total:.1f} s, {args.n / total:,.0f} mentions/s "
          f"(target <= {TARGET_SECONDS} s: {'met' if total <= TARGET_SECONDS else 'MISSED'})")
    print(f"cpu: {cpu:.1f} s (read + replay, this process); load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"alerts: {len(outcome.alerts)} {kinds}")


if __name__ == "__main__":
    main()
