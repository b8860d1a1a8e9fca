"""Facebook: the recorded Graph API pages served on 127.0.0.1 to the real ``python-facebook-api``
client (``GraphAPI`` pointed at the loopback server)."""

from __future__ import annotations

import copy
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from sqlalchemy import select

from monitor.collectors.facebook import FacebookCollector, FacebookOptions
from monitor.collectors.health import health
from monitor.collectors.runner import collect_once
from monitor.config import Brand
from monitor.storage.ingest import load_cursor
from monitor.storage.tables import EngagementSnapshot, Mention, Quarantined, Response
from tests.replay.server import ReplayServer, Reply, Seen, serving
from tests.support import shared_path

PAGE = "19292868552"
VERSION = "v21.0"
FEED = f"/{VERSION}/{PAGE}/feed"
COMMENTED = f"{PAGE}_10158349356748553"
VISITOR = f"{PAGE}_10158347294088553"
BRAND = Brand(name="Meta", keywords=["facebook"])
NOW = datetime(2021, 8, 15, tzinfo=UTC)


def recorded(*parts: str) -> dict[str, Any]:
    root = ("fixtures", "facebook-instagram", "python-facebook", "facebook", "apidata")
    return json.loads(shared_path(*root, *parts).read_text(encoding="utf-8"))


def by_after(first: dict[str, Any], then: dict[str, Any]) -> Any:
    def answer(seen: Seen) -> Reply:
        return Reply.json(then if seen.param("after") == "after" else first)

    return answer


def feed_with_a_visitor_post() -> tuple[dict[str, Any], dict[str, Any]]:
    first, then = recorded("posts", "feeds_default_fields_p1.json"), recorded(
        "posts", "feeds_default_fields_p2.json"
    )
    first["data"][1]["from"] = {"id": "100077", "name": "A visitor"}
    return first, then


def comments() -> tuple[dict[str, Any], dict[str, Any]]:
    """The recorded comments; the third is made the Page's reply to the second."""
    first, then = recorded("comments", "comments_p1.json"), recorded("comments", "comments_p2.json")
    reply = first["data"][2]
    reply["from"] = {"id": PAGE, "name": "Facebook for Developers"}
    reply["parent"] = {"id": f"10158407654328553_{first['data'][1]['permalink_url'][-17:]}"}
    return first, then


def serve(
    server: ReplayServer, feed: Any, *on_commented: Any, repoll: Any = None
) -> None:
    server.add("GET", FEED, feed)
    server.add("GET", f"/{VERSION}", repoll or Reply.json({}))
    posts = [p["id"] for name in ("p1", "p2") for p in recorded(
        "posts", f"feeds_default_fields_{name}.json")["data"]]
    for post in posts:
        if post != COMMENTED:
            server.add("GET", f"/{VERSION}/{post}/comments", Reply.json({"data": []}))
    server.add("GET", f"/{VERSION}/{COMMENTED}/comments", *on_commented)


def collector(server: ReplayServer, **options: Any) -> FacebookCollector:
    settings = {
        "page_id": PAGE,
        "api_url": server.url,
        "version": VERSION,
        "retry_wait_seconds": 0,
        "post_hours": 24 * 60,
        "backfill_hours": 24 * 60,
    }
    return FacebookCollector(BRAND, FacebookOptions(**{**settings, **options}), "page-token")


def test_ingests_visitor_posts_and_comments_and_the_pages_replies_answer_them(engine):
    first, then = feed_with_a_visitor_post()
    c1, c2 = comments()
    later = copy.deepcopy(first["data"][1])
    later["reactions"]["summary"]["total_count"] = 200
    with serving() as server:
        serve(
            server, by_after(first, then), by_after(c1, c2), repoll=Reply.json({VISITOR: later})
        )
        made = collector(server)
        assert collect_once(engine, made, NOW) == 15  # the visitor post, 14 comments
        assert collect_once(engine, made, NOW + timedelta(minutes=5)) == 0
        feed = server.requests_to(FEED)
        [repoll] = server.requests_to(f"/{VERSION}")
        asked = server.requests_to(f"/{VERSION}/{COMMENTED}/comments")
    assert feed[0].param("access_token") == "page-token"
    assert "from{id,name}" in feed[0].param("fields")
    assert [s.param("after") for s in asked] == [None, "after", "after"]
    assert asked[0].param("filter") == "stream" and asked[0].param("order") == "chronological"
    with engine.connect() as conn:
        rows = {r.external_id: r for r in conn.execute(select(Mention))}
        visitor_counts = conn.execute(
            select(
                EngagementSnapshot.likes, EngagementSnapshot.reshares, EngagementSnapshot.replies
            )
            .join(Mention, Mention.id == EngagementSnapshot.mention_id)
            .where(Mention.external_id == VISITOR)
            .order_by(EngagementSnapshot.id)
        ).all()
        answered = conn.execute(
            select(Mention.external_id, Response.answered_at).join(
                Response, Response.mention_id == Mention.id
            )
        ).all()
        cursor = load_cursor(conn, made.key)
    post = rows[VISITOR]
    assert post.author == "A visitor" and post.parent_id is None
    assert [tuple(c) for c in visitor_counts] == [(131, 6, 17), (200, 6, 17)]  # re-polled
    assert repoll.param("ids") == VISITOR
    second = rows["10158407903973553"]
    assert second.text.startswith("Can someone from Instagram please assist me")
    assert second.thread_id == COMMENTED and second.parent_id is None  # on the Page's own post
    assert second.url.endswith("comment_id=10158407903973553")
    assert "10158408043788553" not in rows  # the Page's own reply is not a mention
    reply = rows["10158409983033553"]  # a reply, known from its permalink
    assert (reply.parent_id, reply.thread_id) == ("10158407903973553", COMMENTED)
    assert [(i, a.replace(tzinfo=UTC)) for i, a in answered] == [
        ("10158407903973553", datetime(2021, 8, 10, 21, 5, 33, tzinfo=UTC))
    ]
    assert cursor["comments"][COMMENTED] == "after"
    assert cursor["feed"]["floor"] == datetime(2021, 7, 9, 19, 9, 52, tzinfo=UTC).timestamp()
    assert cursor["visitors"] == [VISITOR]


def test_survives_a_malformed_item_a_rate_limit_and_a_timeout(engine):
    first, then = feed_with_a_visitor_post()
    c1, c2 = comments()
    broken = copy.deepcopy(c1)
    del broken["data"][0]["created_time"]
    usage = json.dumps({PAGE: [{"type": "pages", "call_count": 100, "total_cputime": 10,
                                "total_time": 10, "estimated_time_to_regain_access": 15}]})
    limited = Reply.json(
        {"error": {"message": "(#80001) too many calls", "code": 80001, "type": "OAuthException"}},
        429,
        **{"X-Business-Use-Case-Usage": usage},
    )
    with serving() as server:
        serve(
            server,
            by_after(first, then),
            Reply.json(broken),
            Reply.json(c2),
            limited,
            Reply(200, b"", delay=2.0),
            Reply(200, b"", delay=2.0),
            by_after(c1, c2),
        )
        made = collector(server, timeout_seconds=0.5, retries=1)
        assert collect_once(engine, made, NOW) == 14
        with engine.connect() as conn:
            payloads = conn.execute(select(Quarantined.payload)).scalars().all()
        assert [json.loads(p)["message"] for p in payloads] == [c1["data"][0]["message"]]
        assert collect_once(engine, made, NOW + timedelta(minutes=5), force=True) == 0
        state = health(engine)[0]
        assert state.status == "rate_limited"
        assert abs(state.next_run_at.timestamp() - (time.time() + 15 * 60)) < 10
        with pytest.raises(requests.Timeout):
            collect_once(engine, made, NOW + timedelta(minutes=20), force=True)
        assert health(engine)[0].status == "error"
        assert collect_once(engine, made, NOW + timedelta(minutes=30), force=True) == 0
    assert health(engine)[0].status == "ok"


def test_stops_before_the_hour_budget_the_usage_headers_report_runs_out(engine):
    first, _ = feed_with_a_visitor_post()
    busy = Reply.json(first, **{"X-App-Usage": json.dumps(
        {"call_count": 95, "total_cputime": 20, "total_time": 30})})
    with serving() as server:
        serve(server, busy, Reply.json({"data": []}))
        made = collector(server, usage_limit_percent=90, usage_hold_minutes=20)
        assert collect_once(engine, made, NOW) == 1  # the page read is stored
        assert len(server.seen) == 1  # and nothing more is asked
    state = health(engine)[0]
    assert state.status == "rate_limited" and "95%" in state.last_error
    assert abs(state.next_run_at.timestamp() - (time.time() + 20 * 60)) < 10


def test_an_error_body_graph_would_not_send_is_an_unreadable_answer(engine):
    with serving() as server:
        serve(server, Reply.json({"error": "not an object"}, 500), Reply.json({"data": []}))
        with pytest.raises(Exception, match="unreadable"):
            collect_once(engine, collector(server, retries=0), NOW)
    assert health(engine)[0].last_error.startswith("MalformedResponse")
