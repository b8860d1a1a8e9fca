"""Storage on a real SQLite file and on the local PostgreSQL: idempotent ingest, cursors."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, text

from monitor.collectors.demo import DemoCollector
from monitor.mentions import Batch, Engagement, MentionIn
from monitor.storage.ingest import load_cursor, store_batch, store_mentions
from monitor.storage.tables import CollectorState, EngagementSnapshot, Mention


def _mention(external_id: str, now, reshares: int | None = None, text: str = "hello @Parkeo"):
    engagement = Engagement(observed_at=now, reshares=reshares) if reshares is not None else None
    return MentionIn(source="x", external_id=external_id, brand="Parkeo", text=text,
                     created_at=now - timedelta(minutes=5), author="someone",
                     engagement=engagement)


def _count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_same_mention_twice_is_stored_once_with_snapshots_appended(engine, now):
    with engine.begin() as conn:
        first = store_mentions(conn, [_mention("1", now, 3), _mention("2", now, 0)], now)
    later = now + timedelta(minutes=10)
    with engine.begin() as conn:
        second = store_mentions(conn, [_mention("1", later, 12), _mention("3", later)], later)
    assert (first.new, second.new) == (2, 1)
    assert _count(engine, Mention) == 3
    with engine.connect() as conn:
        series = conn.execute(
            select(EngagementSnapshot.reshares)
            .join(Mention, Mention.id == EngagementSnapshot.mention_id)
            .where(Mention.external_id == "1")
            .order_by(EngagementSnapshot.observed_at)
        ).scalars().all()
    assert series == [3, 12]
    assert second.ids[("x", "1")] == first.ids[("x", "1")]


def test_duplicates_inside_one_batch_are_stored_once(engine, now):
    with engine.begin() as conn:
        result = store_mentions(conn, [_mention("7", now, 1), _mention("7", now, 2)], now)
    assert result.new == 1
    assert _count(engine, Mention) == 1
    assert _count(engine, EngagementSnapshot) == 2


def test_hostile_text_is_stored_faithfully_or_safely(engine, now):
    nasty = "<script>alert(1)</script> ' OR 1=1; -- \u202egnp.exe\u200d\x00 \ud800 👩‍👩‍👧"
    with engine.begin() as conn:
        store_mentions(conn, [_mention("n", now, text=nasty)], now)
    with engine.connect() as conn:
        stored = conn.execute(select(Mention.text)).scalar_one()
    assert stored == nasty.replace("\x00", "\ufffd").replace("\ud800", "\ufffd")


def test_cursor_commits_with_its_batch_and_rolls_back_with_it(engine, now):
    collector = DemoCollector("Parkeo")
    batch = Batch([_mention("a", now)], {"since_id": "a"})
    with engine.begin() as conn:
        store_batch(conn, collector, batch, now)
    try:
        with engine.begin() as conn:
            store_batch(conn, collector, Batch([_mention("b", now)], {"since_id": "b"}), now)
            raise RuntimeError("crash before commit")
    except RuntimeError:
        pass
    with engine.connect() as conn:
        assert load_cursor(conn, collector.key) == {"since_id": "a"}
        ids = conn.execute(select(Mention.external_id)).scalars().all()
    assert ids == ["a"]
    assert _count(engine, CollectorState) == 1


def test_times_round_trip_as_aware_utc(engine, now):
    with engine.begin() as conn:
        store_mentions(conn, [_mention("t", now)], now)
    with engine.connect() as conn:
        created, collected = conn.execute(select(Mention.created_at, Mention.collected_at)).one()
    assert created == now - timedelta(minutes=5)
    assert collected == now and collected.tzinfo is not None


def test_sqlite_runs_in_wal_mode(sqlite_engine):
    with sqlite_engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30000
