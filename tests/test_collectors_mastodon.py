"""Mastodon: Mastodon.py's recorded cassettes (vcrpy) and pages served on 127.0.0.1."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from sqlalchemy import select

from monitor.collectors.health import health
from monitor.collectors.mastodon import MastodonCollector, MastodonOptions
from monitor.collectors.runner import collect_once
from monitor.config import Brand
from monitor.storage.ingest import load_cursor, save_cursor
from monitor.storage.tables import EngagementSnapshot, Mention
from tests.replay.recordings import merged_cassette, replaying, vcr_interactions
from tests.replay.server import Reply, Seen, serving
from tests.support import shared_path

TAG = "/api/v1/timelines/tag/parkeo"


def fixture(name: str):
    return shared_path("fixtures", "mastodon", f"{name}.yaml")


def recorded_statuses() -> list[dict[str, Any]]:
    """The eight statuses of the recorded public timeline, oldest first."""
    for interaction in vcr_interactions(fixture("test_public_tl")):
        if interaction["request"]["uri"].endswith("/api/v1/timelines/public"):
            statuses = json.loads(interaction["response"]["body"]["string"])
            return sorted(statuses, key=lambda s: int(s["id"]))
    raise AssertionError("no public timeline in the recording")


RECORDINGS_AGE = 24 * 365 * 20
"""The recordings are years old: a first run reaches back to them (``backfill_hours``)."""


def collector(instance: str, **options: Any) -> MastodonCollector:
    brand = Brand(name="Parkeo", keywords=["parkeo"])
    settings = {"instance": instance, "retry_wait_seconds": 0, "search": False,
                "backfill_hours": RECORDINGS_AGE}
    return MastodonCollector(brand, MastodonOptions(**{**settings, **options}), "token-123")


def test_recorded_hashtag_timeline_and_empty_search_replay_through_mastodon_py(
    engine, now, tmp_path
):
    cassette = merged_cassette(
        [fixture("test_hashtag_tl"), fixture("test_search")], tmp_path / "mastodon.yaml"
    )
    brand = Brand(name="Py", keywords=["mastodonpy_test"])
    options = MastodonOptions(instance="http://localhost:3000", hashtags=["hoot"],
                              backfill_hours=RECORDINGS_AGE)
    made = MastodonCollector(brand, options, "token-123")
    with replaying(cassette):
        assert collect_once(engine, made, now) == 1
    with engine.connect() as conn:
        row = conn.execute(select(Mention)).one()
        snapshot = conn.execute(select(EngagementSnapshot)).one()
        cursor = load_cursor(conn, made.key)
    assert row.external_id == "localhost:3000/117020593741189701"
    assert row.text == "#hoot (hashtag toot)"  # HTML content as plain text
    assert row.author == "mastodonpy_test_2" and row.language == "ja"
    assert row.created_at == datetime(2026, 8, 1, 13, 55, 55, 867000, tzinfo=UTC)
    assert (snapshot.likes, snapshot.reshares, snapshot.replies) == (0, 0, 0)
    assert cursor == {"tag:hoot": "117020593741189701"}  # the search found no status


def _timeline(statuses: list[dict[str, Any]]):
    """Mastodon's min_id semantics: the page just above min_id, newest first."""

    def answer(seen: Seen) -> Reply:
        limit = int(seen.param("limit") or 20)
        floor = int(seen.param("min_id") or 0)
        above = [s for s in statuses if int(s["id"]) > floor]
        chosen = above[:limit] if seen.param("min_id") else above[-limit:]
        return Reply.json(list(reversed(chosen)))

    return answer


def test_pages_forward_from_the_cursor_and_store_each_page_with_its_position(engine, now):
    statuses = recorded_statuses()
    with serving() as server:
        server.add("GET", TAG, _timeline(statuses))
        made = collector(server.url, page_size=3)
        with engine.begin() as conn:
            save_cursor(conn, made.key, made.source, made.brand, {"tag:parkeo": statuses[0]["id"]})
        assert collect_once(engine, made, now) == len(statuses) - 1
        asked = [s.param("min_id") for s in server.requests_to(TAG)]
    assert asked == [statuses[0]["id"], statuses[3]["id"], statuses[6]["id"]]
    with engine.connect() as conn:
        assert load_cursor(conn, made.key) == {"tag:parkeo": statuses[-1]["id"]}
        stored = set(conn.execute(select(Mention.external_id)).scalars())
    assert stored == {f"127.0.0.1:{server.url.rsplit(':', 1)[1]}/{s['id']}" for s in statuses[1:]}


def test_the_first_run_takes_the_latest_page_only(engine, now):
    statuses = recorded_statuses()
    with serving() as server:
        server.add("GET", TAG, _timeline(statuses))
        made = collector(server.url, page_size=3)
        assert collect_once(engine, made, now) == 3
    with engine.connect() as conn:
        assert load_cursor(conn, made.key) == {"tag:parkeo": statuses[-1]["id"]}


def test_a_rate_limit_holds_mastodon_until_the_reset(engine):
    now = datetime.now(UTC)
    reset = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=10)
    headers = {
        "X-RateLimit-Limit": "300",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": reset.isoformat(),
        "Date": format_datetime(datetime.now(UTC), usegmt=True),
    }
    with serving() as server:
        server.add("GET", TAG, Reply.json({"error": "Too many requests"}, 429, **headers))
        made = collector(server.url)
        assert collect_once(engine, made, now) == 0
    state = health(engine)[0]
    assert state.status == "rate_limited"
    assert abs(state.next_run_at.timestamp() - reset.timestamp()) < 5
    assert state.next_run_at.timestamp() > time.time() + 500


def test_server_errors_are_retried_then_malformed_json_is_an_error(engine, now):
    statuses = recorded_statuses()
    with serving() as server:
        server.add("GET", TAG, Reply(502), Reply.json(statuses[:-3:-1]), Reply(200, b"[{", {}))
        made = collector(server.url)
        assert collect_once(engine, made, now) == 2
        with pytest.raises(Exception, match="unreadable response"):
            collect_once(engine, made, now + timedelta(minutes=5), force=True)
    state = health(engine)[0]
    assert state.status == "error" and state.last_error.startswith("MalformedResponse")
    with engine.connect() as conn:
        assert load_cursor(conn, made.key) == {"tag:parkeo": statuses[-1]["id"]}


def test_boosts_and_excluded_words_are_skipped(engine, now):
    statuses = recorded_statuses()
    boosted = {**statuses[-1], "reblog": statuses[0]}
    excluded = {**statuses[-2], "content": "<p>parkeo game night</p>"}
    brand = Brand(name="Parkeo", keywords=["parkeo"], exclusions=["parkeo game"])
    with serving() as server:
        server.add("GET", TAG, Reply.json([boosted, excluded, statuses[-3]]))
        options = MastodonOptions(instance=server.url, search=False,
                                  backfill_hours=RECORDINGS_AGE)
        made = MastodonCollector(brand, options, "token-123")
        assert collect_once(engine, made, now) == 1
