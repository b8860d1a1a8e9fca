"""Storage on a real SQLite file and on the local PostgreSQL: idempotent ingest, cursors."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, text

from monitor.collectors.demo import DemoCollector
from monitor.mentions import Answer, Batch, Engagement, MentionIn
from monitor.storage.ingest import load_cursor, record_answers, store_batch, store_mentions
from monitor.storage.tables import CollectorState, EngagementSnapshot, Mention, Response


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


def test_the_brands_own_replies_mark_mentions_answered_keeping_the_first(engine, now):
    """Answers found by a source: earliest time kept, a person's reply URL and dismissal kept."""
    with engine.begin() as conn:
        ids = store_mentions(conn, [_mention(i, now) for i in ("a", "b", "c")], now).ids
        later = now + timedelta(hours=2)
        conn.execute(
            Response.__table__.insert(),
            [
                {
                    "mention_id": ids[("x", "b")],
                    "status": "dismissed",
                    "reply_url": None,
                    "answered_at": None,
                    "updated_at": now,
                },
                {
                    "mention_id": ids[("x", "c")],
                    "status": "answered",
                    "reply_url": "https://x.example/r",
                    "answered_at": later,
                    "updated_at": now,
                },
            ],
        )
    late, early = now + timedelta(hours=1), now + timedelta(minutes=5)
    answers = [
        Answer("x", "a", late, "https://a.example/late"),
        Answer("x", "a", early, "https://a.example/early"),
        Answer("x", "b", early),
        Answer("x", "c", early, "https://c.example/bot"),
        Answer("x", "unknown", early),
    ]
    with engine.begin() as conn:
        assert record_answers(conn, answers, now) == 3
    columns = (Mention.external_id, Response.status, Response.answered_at, Response.reply_url)
    with engine.connect() as conn:
        query = select(*columns).join(Response, Response.mention_id == Mention.id)
        rows = {r.external_id: r for r in conn.execute(query)}
    assert (rows["a"].status, rows["a"].answered_at) == ("answered", early)
    assert rows["a"].reply_url == "https://a.example/early"
    assert rows["b"].status == "dismissed"
    assert (rows["c"].answered_at, rows["c"].reply_url) == (early, "https://x.example/r")
