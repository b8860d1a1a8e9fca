"""Hacker News: the recorded Algolia search bodies served over plain HTTP on 127.0.0.1."""

from __future__ import annotations

import copy
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from monitor.collectors.hackernews import HackerNewsCollector, HackerNewsOptions
from monitor.collectors.health import health
from monitor.collectors.runner import collect_once
from monitor.config import Brand
from monitor.storage.ingest import load_cursor
from monitor.storage.tables import EngagementSnapshot, Mention, Quarantined, Response
from tests.replay.server import ReplayServer, Reply, Seen, serving
from tests.support import shared_path

BY_DATE = "/api/v1/search_by_date"
SEARCH = "/api/v1/search"
BRAND = Brand(name="Apple", keywords=["apple"], exclusions=["apple pie"])


def recorded() -> dict[str, dict[str, Any]]:
    """Every recorded hit by objectID (the recordings hold one hit per request)."""
    path = shared_path("fixtures", "hackernews-algolia", "node-hacker-news-api", "fixtures.json")
    hits = {}
    for entry in json.loads(path.read_text(encoding="utf-8")):
        for hit in entry["reply"].get("hits", []):
            hits[hit["objectID"]] = hit
    return hits


def page(hits: list[dict[str, Any]], pages: int = 1) -> Reply:
    ordered = sorted(hits, key=lambda h: -h.get("created_at_i", 0))
    return Reply.json({"hits": ordered, "nbHits": len(hits), "page": 0, "nbPages": pages})


def collector(server: ReplayServer, **options: Any) -> HackerNewsCollector:
    settings = {
        "api_url": server.url + "/api/v1",
        "retry_wait_seconds": 0,
        "lookback_minutes": 0,
        "backfill_hours": 24 * 365 * 15,
    }
    return HackerNewsCollector(BRAND, HackerNewsOptions(**{**settings, **options}))


def test_ingests_the_recorded_stories_and_comments(engine):
    hits = recorded()
    apple = [hits[i] for i in ("7919424", "1256391", "2922756", "649663", "7919418", "6651926")]
    newest = max(h["created_at_i"] for h in apple)
    now = datetime.fromtimestamp(newest, UTC) + timedelta(hours=1)
    fresh = copy.deepcopy(hits["7919424"])
    fresh["points"] = 40

    def by_page(seen: Seen) -> Reply:
        return page(apple[:3], 2) if seen.param("page") == "0" else page(apple[3:], 2)

    with serving() as server:
        server.add("GET", BY_DATE, by_page, by_page, page([]))
        server.add("GET", SEARCH, page([fresh]))
        made = collector(server)
        first = collect_once(engine, made, now)
        collect_once(engine, made, now + timedelta(minutes=5), force=True)
        searches = server.requests_to(BY_DATE)
        refresh = server.requests_to(SEARCH)
    assert [s.param("page") for s in searches] == ["0", "1", "0"]
    assert searches[0].param("query") == "apple"
    assert searches[0].param("tags") == "(story,comment)"
    assert searches[2].param("numericFilters") == f"created_at_i>{newest}"
    # 7919418 came back for "applauded" (Algolia's prefix match): not about the brand
    assert first == 5
    with engine.connect() as conn:
        rows = {r.external_id: r for r in conn.execute(select(Mention))}
        points = conn.execute(
            select(EngagementSnapshot.likes, EngagementSnapshot.replies)
            .join(Mention, Mention.id == EngagementSnapshot.mention_id)
            .where(Mention.external_id == "7919424")
            .order_by(EngagementSnapshot.id)
        ).all()
        cursor = load_cursor(conn, made.key)
    assert "7919418" not in rows
    story, comment = rows["7919424"], rows["6651926"]
    assert story.text.startswith("Judge says concerned about Apple")
    assert story.url == "https://news.ycombinator.com/item?id=7919424"
    assert story.author == "bradleyjg" and story.thread_id == "7919424"
    assert "<" not in comment.text and "It's a little early" in comment.text
    assert (comment.parent_id, comment.thread_id) == ("6651704", "6651704")
    assert [tuple(p) for p in points] == [(1, 0), (40, 0)]  # re-polled on the second run
    assert refresh[0].param("tags").startswith("story,(story_")
    assert cursor["search:apple"] == {"floor": newest}
    assert set(cursor["tracked"]) == {"7919424"}  # the older stories are past track_hours


def test_replies_by_the_brands_account_mark_the_comment_answered(engine):
    hits = recorded()
    story = hits["7919424"]
    reply = copy.deepcopy(hits["7494555"])  # a comment by "pg", made to answer the story
    reply["parent_id"] = int(story["objectID"])
    reply["created_at_i"] = story["created_at_i"] + 600
    now = datetime.fromtimestamp(reply["created_at_i"], UTC) + timedelta(hours=1)

    def route(seen: Seen) -> Reply:
        return page([reply] if seen.param("tags") == "comment,author_pg" else [story])

    with serving() as server:
        server.add("GET", BY_DATE, route)
        server.add("GET", SEARCH, page([story]))
        assert collect_once(engine, collector(server, accounts=["pg"]), now) == 1
        tags = [s.param("tags") for s in server.requests_to(BY_DATE)]
    assert tags == ["(story,comment)", "comment,author_pg"]
    with engine.connect() as conn:
        answered = conn.execute(
            select(
                Response.status, Response.answered_at, Response.reply_url, Mention.external_id
            ).join(Mention, Mention.id == Response.mention_id)
        ).one()
        count = len(conn.execute(select(Mention.id)).all())
    assert count == 1
    assert answered.external_id == "7919424" and answered.status == "answered"
    assert answered.answered_at == datetime.fromtimestamp(reply["created_at_i"], UTC)
    assert answered.reply_url == "https://news.ycombinator.com/item?id=7494555"


def test_survives_a_malformed_item_a_rate_limit_and_a_timeout(engine):
    hits = recorded()
    good, bad = hits["7919424"], copy.deepcopy(hits["2922756"])
    del bad["created_at_i"]
    later = {**good, "objectID": "7919999", "created_at_i": good["created_at_i"] + 60}
    now = datetime.fromtimestamp(good["created_at_i"], UTC) + timedelta(hours=1)
    reset = int(time.time()) + 900
    with serving() as server:
        server.add(
            "GET",
            BY_DATE,
            page([bad, good]),
            Reply.json({"message": "Too many requests"}, 429, **{"Retry-After": "900"}),
            Reply(200, b"", delay=2.0),
            page([later]),
        )
        server.add("GET", SEARCH, page([good]))
        made = collector(server, timeout_seconds=0.5, retries=1)
        assert collect_once(engine, made, now) == 1
        with engine.connect() as conn:
            payloads = conn.execute(select(Quarantined.payload)).scalars().all()
        assert [json.loads(p)["objectID"] for p in payloads] == ["2922756"]
        assert collect_once(engine, made, now + timedelta(minutes=5), force=True) == 0
        state = health(engine)[0]
        assert state.status == "rate_limited"
        assert abs(state.next_run_at.timestamp() - reset) < 5
        assert collect_once(engine, made, now + timedelta(minutes=30), force=True) == 1
    assert health(engine)[0].status == "ok"


def test_a_page_that_is_not_a_search_result_fails_the_run_loudly(engine):
    now = datetime.now(UTC)
    with serving() as server:
        server.add("GET", BY_DATE, Reply.json({"message": "oops"}))
        with pytest.raises(Exception, match="no hits"):
            collect_once(engine, collector(server), now)
    assert health(engine)[0].last_error.startswith("MalformedResponse")
