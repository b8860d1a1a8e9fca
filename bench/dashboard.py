"""Dashboard speed at scale: first render of every page and filter changes, with 1M mentions.

Seeds a database with N mentions (default 1,000,000 over 180 days: three brands, six sources,
three languages, sentiments, complaints and their responses, engagement, forecasts, incidents,
alerts) and builds the hourly rollup the pipeline keeps (``monitor.storage.rollups``), then
renders each page server-side with Streamlit's AppTest, the way a visitor's request
is served: first with cold query caches (target <= 1 s), then after a filter change (<= 0.5 s).

    python bench/dashboard.py                      # SQLite file in a temporary directory
    python bench/dashboard.py --db /tmp/bench.db   # kept, and reused by the next run
    python bench/dashboard.py --postgres postgresql://postgres@127.0.0.1:5432/test
    python bench/dashboard.py --mentions 20000 --db /tmp/small.db --seed-only
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine, func, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.storage import rollups  # noqa: E402
from monitor.storage.db import make_engine, upgrade  # noqa: E402
from monitor.storage.tables import Mention  # noqa: E402

BRANDS = {"Parkeo": 0.7, "StreetPay": 0.15, "ParkMore": 0.15}
SOURCES = {"x": 0.4, "reddit": 0.15, "playstore": 0.15, "appstore": 0.1, "mastodon": 0.1}
SOURCES |= {"bluesky": 0.1}
LANGUAGES = {"fr": 0.5, "nl": 0.3, "en": 0.2}
LABELS = {"negative": 0.3, "neutral": 0.45, "positive": 0.25}
WORDS = {
    "en": {
        "negative": "fine paid subscription again wrong charged twice app crashed meter broken "
        "nobody answers phone line refund waiting scandal",
        "neutral": "where office hours zone street parking meter card app update question",
        "positive": "thanks quick easy app works great helpful staff smooth payment",
    },
    "fr": {
        "negative": "amende abonnement payé encore erreur facturé deux fois appli plantée "
        "horodateur panne personne répond remboursement scandale",
        "neutral": "où bureau horaires zone rue stationnement horodateur carte appli question",
        "positive": "merci rapide facile appli fonctionne super aimable paiement fluide",
    },
    "nl": {
        "negative": "boete abonnement betaald alweer fout dubbel aangerekend app gecrasht "
        "parkeermeter kapot niemand antwoordt terugbetaling schandaal",
        "neutral": "waar kantoor openingsuren zone straat parkeren meter kaart app vraag",
        "positive": "bedankt snel makkelijk app werkt prima vriendelijk betaling vlot",
    },
}
CHUNK = 50_000
SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"


def pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), list(weights.values()))[0]


def sentence(rng: random.Random, brand: str, language: str, label: str) -> str:
    words = WORDS[language][label].split()
    body = " ".join(rng.sample(words, k=min(len(words), rng.randint(5, 10))))
    return f"@{brand} {body} #{rng.randint(1, 400)}"


# --- seeding -----------------------------------------------------------------------------------


class Writer:
    """Bulk rows through the driver itself (executemany on SQLite, COPY on PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.pg = engine.dialect.name == "postgresql"

    def value(self, v: Any) -> Any:
        if isinstance(v, datetime):
            naive = v.astimezone(UTC).replace(tzinfo=None)
            return naive if self.pg else naive.strftime(SQLITE_TIME)
        return v

    def write(self, table: str, columns: list[str], rows: list[tuple]) -> None:
        rows = [tuple(self.value(v) for v in row) for row in rows]
        raw = self.engine.raw_connection()
        try:
            cur = raw.cursor()
            if self.pg:
                with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join("?" for _ in columns)
                cur.executemany(
                    f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows
                )
            raw.commit()
        finally:
            raw.close()


MENTION_COLUMNS = [
    "id", "source", "external_id", "brand", "url", "author", "author_followers", "text",
    "language", "created_at", "collected_at",
]  # fmt: skip


def seed(engine: Engine, n: int, days: int, now: datetime) -> None:
    """N mentions spread evenly over ``days`` up to ``now``, with everything that hangs off them."""
    rng = random.Random(7)
    writer = Writer(engine)
    span = days * 86400
    recent: list[tuple[int, datetime, str, bool]] = []
    complaints: list[tuple[int, datetime]] = []
    for start in range(1, n + 1, CHUNK):
        mentions, readings = [], []
        for i in range(start, min(start + CHUNK, n + 1)):
            created = now - timedelta(seconds=span * (1 - i / n) + rng.random())
            brand, source = pick(rng, BRANDS), pick(rng, SOURCES)
            language, label = pick(rng, LANGUAGES), pick(rng, LABELS)
            complaint = label == "negative" and rng.random() < 0.7
            mentions.append(
                (i, source, f"b{i}", brand, f"https://{source}.example/p/{i}", f"user{i % 40000}",
                 rng.randint(0, 20000), sentence(rng, brand, language, label), language, created,
                 created + timedelta(seconds=30))
            )  # fmt: skip
            if n - i >= 50:  # the newest few are not scored yet, as in real life
                readings.append((i, label, 0.8, complaint, 0.8 if complaint else 0.1, "bench",
                                 created))  # fmt: skip
            if brand == "Parkeo" and complaint:
                complaints.append((i, created))
            if now - created < timedelta(hours=48):
                recent.append((i, created, brand, label == "negative"))
        writer.write("mentions", MENTION_COLUMNS, mentions)
        writer.write(
            "sentiments",
            ["mention_id", "label", "score", "is_complaint", "complaint_score", "model_id",
             "scored_at"],
            readings,
        )  # fmt: skip
    seed_responses(writer, rng, complaints, now)
    seed_engagement(writer, rng, recent, now)
    seed_incidents(writer, rng, complaints, now)
    seed_operations(writer, rng, complaints, now)


def seed_responses(
    writer: Writer, rng: random.Random, complaints: list[tuple[int, datetime]], now: datetime
) -> None:
    rows = []
    for mention_id, created in complaints:
        roll = rng.random()
        if roll < 0.6 and now - created > timedelta(hours=2):
            answered = created + timedelta(minutes=rng.lognormvariate(3.8, 0.9))
            rows.append((mention_id, "answered", f"agent{rng.randint(1, 8)}", min(answered, now),
                         f"https://x.example/reply/{mention_id}", now))  # fmt: skip
        elif roll < 0.7:
            rows.append((mention_id, "assigned", f"agent{rng.randint(1, 8)}", None, None, now))
        elif roll < 0.75:
            rows.append((mention_id, "dismissed", None, None, None, now))
    writer.write(
        "responses",
        ["mention_id", "status", "assignee", "answered_at", "reply_url", "updated_at"],
        rows,
    )


def seed_engagement(
    writer: Writer, rng: random.Random, recent: list[tuple[int, datetime, str, bool]], now: datetime
) -> None:
    """Three snapshots for every mention of the last 48 h; forecasts for the negative ones."""
    snapshots, forecasts = [], []
    for mention_id, created, brand, negative in recent:
        pace = rng.lognormvariate(1, 1.5)
        for k in (1, 2, 3):
            seen = min(now, created + timedelta(minutes=20 * k))
            hours = (seen - created).total_seconds() / 3600
            snapshots.append((mention_id, seen, int(pace * hours * 3), int(pace * hours), 0, None))
        if negative and brand == "Parkeo":
            final = pace * 10
            risk = min(0.99, pace / 30)
            reasons = json.dumps({"reshares_per_hour": round(pace, 1)})
            forecasts.append(
                (mention_id, now, int(pace), final, final * 0.6, final * 1.6, None, risk, reasons)
            )
    writer.write(
        "engagement_snapshots",
        ["mention_id", "observed_at", "likes", "reshares", "replies", "views"],
        snapshots,
    )
    writer.write(
        "forecasts",
        ["mention_id", "computed_at", "reshares_now", "final", "low", "high",
         "seconds_to_threshold", "risk", "reasons"],
        forecasts,
    )  # fmt: skip


def seed_incidents(
    writer: Writer, rng: random.Random, complaints: list[tuple[int, datetime]], now: datetime
) -> None:
    """40 incidents, each a run of consecutive complaints (a few hundred mentions at most)."""
    incidents, members = [], []
    step = max(1, len(complaints) // 40)
    for k in range(40):
        chunk = complaints[k * step : k * step + rng.randint(20, 300)]
        if not chunk:
            break
        ids = [m for m, _ in chunk]
        incidents.append((k + 1, "Parkeo", f"Complaints wave {k + 1}: fines despite payment",
                          '{"fine": 1}', ids[0], "open" if k > 35 else "closed", len(ids),
                          len(ids), '{"fr": 1}', rng.random(), json.dumps({"people": len(ids)}),
                          chunk[0][1], chunk[-1][1]))  # fmt: skip
        members += [(k + 1, m) for m in ids]
    writer.write(
        "incidents",
        ["id", "brand", "title", "terms", "representative_id", "status", "size", "authors",
         "languages", "risk", "reasons", "first_seen", "last_seen"],
        incidents,
    )  # fmt: skip
    writer.write("incident_mentions", ["incident_id", "mention_id"], members)


def seed_operations(
    writer: Writer, rng: random.Random, complaints: list[tuple[int, datetime]], now: datetime
) -> None:
    alerts = [
        ("spreading", f"bench:{m}", "Parkeo", m, "warning", f"Complaint {m} spreading", "{}",
         "sent", 1, created, created, created)
        for m, created in complaints[-2000:]
    ]  # fmt: skip
    writer.write(
        "alerts",
        ["kind", "dedup_key", "brand", "mention_id", "severity", "title", "details", "status",
         "attempts", "next_attempt_at", "created_at", "sent_at"],
        alerts,
    )  # fmt: skip
    states = [(f"{s}:{b}", s, b, now, now, None, 10, 1000, 0) for s in SOURCES for b in BRANDS]
    writer.write(
        "collector_state",
        ["key", "source", "brand", "last_run_at", "last_success_at", "last_error",
         "last_items", "items_total", "consecutive_failures"],
        states,
    )  # fmt: skip
    corrections = [
        (m, rng.choice(list(LABELS)), False, "negative", "bench", "agent1", created)
        for m, created in rng.sample(complaints, min(500, len(complaints)))
    ]
    writer.write(
        "sentiment_corrections",
        ["mention_id", "label", "is_complaint", "model_label", "model_id", "corrected_by",
         "corrected_at"],
        corrections,
    )  # fmt: skip


def mention_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(Mention)).scalar_one()


# --- measuring ---------------------------------------------------------------------------------


def write_config(path: Path) -> None:
    raw = {
        "brands": [
            {
                "name": "Parkeo",
                "keywords": ["parkeo"],
                "handles": ["@Parkeo"],
                "competitors": ["StreetPay", "ParkMore"],
            }
        ],
        "sources": {name: {"interval_seconds": 300} for name in SOURCES},
    }
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    path.chmod(0o640)


Step = Callable[[Any], Any]
PAGES: list[tuple[str, str | None, list[tuple[str, Step]]]] = [
    (
        "Live",
        None,
        [
            ("sentiment = negative", lambda at: at.button_group(key="live-sentiment").set_value(
                ["negative"])),
            ("complaints only", lambda at: at.toggle(key="live-complaints").set_value(True)),
            ("search 'abonnement'", lambda at: at.text_input(key="live-search").input(
                "abonnement")),
            ("period 7 d", lambda at: at.button_group(key="live-period").set_value("7 d")),
        ],
    ),
    (
        "Spreading now",
        "views/spreading.py",
        [
            ("all mentions", lambda at: at.toggle(key="spread-complaints").set_value(False)),
            ("show more", lambda at: at.button(key="spread-show-more").click()),
        ],
    ),
    (
        "Incidents",
        "views/incidents.py",
        [("period 90 d", lambda at: at.button_group(key="inc-period").set_value("90 d"))],
    ),
    (
        "Inbox",
        "views/inbox.py",
        [
            ("every state", lambda at: at.button_group(key="inbox-states").set_value(
                ["new", "assigned", "answered", "dismissed"])),
            ("period 30 d", lambda at: at.button_group(key="inbox-period").set_value("30 d")),
        ],
    ),
    (
        "Trends",
        "views/trends.py",
        [
            ("split by language", lambda at: at.button_group(key="trends-split").set_value(
                "language")),
            ("period 30 d", lambda at: at.button_group(key="trends-period").set_value("30 d")),
        ],
    ),
    ("Sources & settings", "views/settings.py", []),
]  # fmt: skip


def timed(function: Callable[[], Any]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def check(at: Any, label: str) -> None:
    if at.exception:
        raise SystemExit(f"{label}: the page failed: {at.exception[0].value}")


def report(page: str, what: str, seconds: float) -> None:
    target = 1.0 if what.startswith("first") else 0.5
    verdict = "ok" if seconds <= target else "SLOW"
    print(f"{page:<20} {what:<34} {seconds:8.3f}  <= {target:.1f} {verdict}", flush=True)


def measure(repeat: int) -> list[tuple[str, str, float]]:
    """(page, what, median seconds) for every page's first render and filter change, each
    printed as soon as it is known."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    st.config.set_option("server.address", "localhost")
    app = str(ROOT / "dashboard" / "app.py")
    warm = AppTest.from_file(app, default_timeout=120)
    warm.run()  # imports and the engine, as in a server that is up
    check(warm, "warm-up")
    results = []
    for title, path, steps in PAGES:
        first, changes = [], {label: [] for label, _ in steps}
        for _ in range(repeat):
            st.cache_data.clear()
            at = AppTest.from_file(app, default_timeout=120)
            if path:
                at.run()
                st.cache_data.clear()
                at.switch_page(path)
            first.append(timed(at.run))
            check(at, title)
            for label, step in steps:
                step(at)
                changes[label].append(timed(at.run))
                check(at, f"{title}: {label}")
        measured = [(title, "first render (cold caches)", statistics.median(first))]
        measured += [(title, f"filter: {k}", statistics.median(v)) for k, v in changes.items()]
        for row in measured:
            report(*row)
        results += measured
    return results


@contextmanager
def database(args: argparse.Namespace) -> Iterator[str]:
    if args.postgres:
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        admin = make_engine(args.postgres)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        sep = "&" if "?" in args.postgres else "?"
        try:
            yield f"{args.postgres}{sep}options=-csearch_path%3D{schema}"
        finally:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    elif args.db:
        yield f"sqlite:///{Path(args.db).resolve()}"
    else:
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{tmp}/bench.db"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mentions", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--db", help="SQLite file to seed (or reuse when it has the mentions)")
    parser.add_argument("--postgres", help="PostgreSQL URL (a throw-away schema is used)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (median shown)")
    parser.add_argument("--seed-only", action="store_true")
    args = parser.parse_args()
    with database(args) as url, tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(url)
        upgrade(engine)
        if mention_count(engine) == 0:
            seconds = timed(lambda: seed(engine, args.mentions, args.days, datetime.now(UTC)))
            print(f"seeded {args.mentions:,} mentions in {seconds:.0f} s", flush=True)
            if engine.dialect.name == "sqlite":
                with engine.begin() as conn:
                    conn.exec_driver_sql("ANALYZE")
            else:
                with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    for table in ("mentions", "incidents"):
                        conn.exec_driver_sql(
                            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                            f"(SELECT max(id) FROM {table}))"
                        )
                    conn.exec_driver_sql("VACUUM ANALYZE")
        # As the pipeline's processing step does: a full build the first time, then only the
        # hours touched since (none here, unless the database changed between two runs).
        seconds = timed(lambda: rollups.refresh(engine))
        print(f"hourly rollup brought up to date in {seconds:.1f} s", flush=True)
        total = mention_count(engine)
        print(f"database: {engine.dialect.name}, {total:,} mentions", flush=True)
        if args.seed_only:
            return
        config = Path(tmp) / "vigie.yaml"
        write_config(config)
        os.environ |= {"DATABASE_URL": url, "VIGIE_CONFIG": str(config)}
        print(f"\n{'page':<20} {'what':<34} {'seconds':>8}  target", flush=True)
        results = measure(args.repeat)
        engine.dispose()
    slow = [r for r in results if r[2] > (1.0 if r[1].startswith("first") else 0.5)]
    print(f"\n{len(results) - len(slow)} of {len(results)} figures within their target")


if __name__ == "__main__":
    main()
