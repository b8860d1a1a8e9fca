"""One bad item costs only itself: the rest of its page is stored and the item is set aside."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from monitor.collectors.runner import collect_once, run
from monitor.storage import quarantine
from monitor.storage.ingest import load_cursor
from monitor.storage.tables import Mention, Quarantined
from tests.replay.server import Reply, serving
from tests.test_cli_errors import vigie
from tests.test_collectors_stores import NOW, appstore, feed, feed_path, review


def _without(entry: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if k != key}


def _count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def bad_first_page() -> list[dict[str, Any]]:
    """Apple's page: the app's own entry, 47 good reviews and three it cannot be read from."""
    app = {"im:name": {"label": "Parkeo"}, "id": {"label": "https://apps.apple.com/app/id1"}}
    good = [review(i, hours_ago=i) for i in range(3, 50)]
    bad = [
        _without(review(0, hours_ago=0.5), "id"),
        _without(review(1, hours_ago=0.6), "updated"),
        _without(review(2, hours_ago=0.7), "im:rating"),
    ]
    return [app, *bad, *good]


def test_bad_entries_are_set_aside_and_the_rest_is_stored(engine, caplog):
    with serving() as server:
        server.add("GET", feed_path(1), feed(bad_first_page()))
        server.add("GET", feed_path(2), feed(None))
        made = appstore(server, backfill_hours=72)
        with caplog.at_level(logging.WARNING):
            assert collect_once(engine, made, NOW) == 47
            assert collect_once(engine, made, NOW + timedelta(hours=1), force=True) == 0
    entries = quarantine.recent(engine)
    assert len(entries) == 3 and {e.source for e in entries} == {"appstore"}
    errors = " | ".join(e.error for e in entries)
    assert all(f"without {what}" in errors for what in ("an id", "a rating", "a time"))
    assert all(e.times_seen == 2 and e.first_seen_at == NOW for e in entries)
    assert any('"Review 2"' in e.payload for e in entries)  # kept as sent
    set_aside = [r for r in caplog.records if "set aside" in r.getMessage()]
    assert len(set_aside) == 3  # once each, not at every poll
    with engine.connect() as conn:
        floor = load_cursor(conn, made.key)["be"]["floor"]
    assert floor == (NOW - timedelta(hours=3)).timestamp()


def test_a_new_review_above_a_bad_one_is_not_blocked(engine):
    with serving() as server:
        server.add(
            "GET",
            feed_path(1),
            feed(bad_first_page()),
            feed([review(100, hours_ago=-0.2), *bad_first_page()]),
        )
        server.add("GET", feed_path(2), feed(None))
        made = appstore(server, lookback_hours=0, backfill_hours=72)
        collect_once(engine, made, NOW)
        assert collect_once(engine, made, NOW + timedelta(minutes=30), force=True) == 1
    assert _count(engine, Mention.__table__) == 48


def test_page_2_answering_404_ends_the_listing_with_a_true_count(engine):
    with serving() as server:
        server.add("GET", feed_path(1), feed([review(i, hours_ago=i) for i in range(50)]))
        server.add("GET", feed_path(2), Reply(404))
        made = appstore(server, retries=0, backfill_hours=72)
        result = run(engine, made, NOW)
    assert result.ok and result.new == 50
    assert _count(engine, Mention.__table__) == 50
    with engine.connect() as conn:
        assert load_cursor(conn, made.key)["be"] == {"floor": NOW.timestamp()}


def test_the_runner_checks_every_source_s_mentions(engine):
    """A collector of any source that hands over an unstorable mention loses only that one."""
    from dataclasses import replace

    from monitor.collectors.demo import DemoCollector

    demo = DemoCollector("Parkeo")
    batches = list(demo.collect(None, NOW))
    first = next(b for b in batches if len(b.mentions) >= 2)
    naive = first.mentions[0].created_at.replace(tzinfo=None)
    first.mentions[0] = replace(first.mentions[0], created_at=naive)

    class OnePage:
        source, key, brand = demo.source, demo.key, demo.brand

        def collect(self, cursor, now):
            yield first

    assert collect_once(engine, OnePage(), NOW) == len(first.mentions) - 1
    [entry] = quarantine.recent(engine)
    assert "not an aware datetime" in entry.error and entry.source == "demo"


def test_the_quarantine_command_lists_the_items(sqlite_url, sqlite_engine, tmp_path):
    with serving() as server:
        server.add("GET", feed_path(1), feed(bad_first_page()))
        server.add("GET", feed_path(2), feed(None))
        collect_once(sqlite_engine, appstore(server, backfill_hours=72), NOW)
    done = vigie("quarantine", env={"DATABASE_URL": sqlite_url})
    assert done.returncode == 0, done.stderr
    assert "3 item(s) set aside" in done.stdout and "without a rating" in done.stdout
    assert _count(sqlite_engine, Quarantined.__table__) == 3


def test_a_mastodon_status_that_cannot_be_read_is_set_aside(engine):
    from datetime import UTC, datetime

    from tests.test_collectors_mastodon import TAG, collector, recorded_statuses

    statuses = recorded_statuses()[::-1]
    broken = {k: v for k, v in statuses[1].items() if k != "account"}
    with serving() as server:
        server.add("GET", TAG, Reply.json([statuses[0], broken, *statuses[2:]]))
        result = run(engine, collector(server.url), datetime.now(UTC))
    assert result.ok and result.new == len(statuses) - 1
    [entry] = quarantine.recent(engine)
    assert entry.source == "mastodon" and "account" in entry.error + entry.payload
