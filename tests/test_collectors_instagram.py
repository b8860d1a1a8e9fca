"""Instagram: the recorded Instagram Graph API pages served on 127.0.0.1 to the real
``python-facebook-api`` client."""

from __future__ import annotations

import copy
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from sqlalchemy import select

from monitor.collectors.health import health
from monitor.collectors.instagram import InstagramCollector, InstagramOptions
from monitor.collectors.runner import collect_once
from monitor.config import Brand
from monitor.storage.ingest import load_cursor
from monitor.storage.tables import EngagementSnapshot, Mention, Quarantined, Response
from tests.replay.server import ReplayServer, Reply, Seen, serving
from tests.support import shared_path

USER = "17841406338772941"
VERSION = "v21.0"
COMMENTED = "17896622936197745"  # one of the account's recorded media (6 comments)
HASHTAG = "17843826142012701"
BRAND = Brand(name="Ikroskun", keywords=["ikroskun"])
NOW = datetime(2021, 8, 14, tzinfo=UTC)


def recorded(*parts: str) -> dict[str, Any]:
    root = ("fixtures", "facebook-instagram", "python-facebook", "instagram", "apidata")
    return json.loads(shared_path(*root, *parts).read_text(encoding="utf-8"))


def by_after(first: dict[str, Any], then: dict[str, Any]) -> Any:
    def answer(seen: Seen) -> Reply:
        return Reply.json(then if seen.param("after") == "after" else first)

    return answer


def comments() -> tuple[dict[str, Any], dict[str, Any]]:
    """The recorded comments with their replies as the nested ``replies`` field returns them;
    the account's own reply (the recorded one, written as ``ikroskun``) answers the second."""
    first, then = recorded("medias", "comments_p1.json"), recorded("medias", "comments_p2.json")
    reply = recorded("comments", "replies.json")["data"][0]
    first["data"][0]["replies"] = {"data": [{**reply, "username": "a_customer"}]}
    own = {**reply, "id": "17847314687296999", "username": "ikroskun"}
    first["data"][1]["replies"] = {"data": [own]}
    return first, then


def serve(server: ReplayServer, *on_commented: Any, hashtag: Any = None) -> None:
    media = recorded("users", "medias_p1.json"), recorded("users", "medias_p2.json")
    server.add("GET", f"/{VERSION}/{USER}/media", by_after(*media))
    for item in media[0]["data"] + media[1]["data"]:
        if item["id"] != COMMENTED:
            server.add("GET", f"/{VERSION}/{item['id']}/comments", Reply.json({"data": []}))
    server.add("GET", f"/{VERSION}/{COMMENTED}/comments", *on_commented)
    tagged = recorded("users", "tagged_medias.json")
    server.add("GET", f"/{VERSION}/{USER}/tags", Reply.json(tagged))
    server.add("GET", f"/{VERSION}/ig_hashtag_search", Reply.json({"data": [{"id": HASHTAG}]}))
    recent = recorded("hashtags", "hashtag_recent_medias_p1.json"), recorded(
        "hashtags", "hashtag_recent_medias_p2.json"
    )
    server.add("GET", f"/{VERSION}/{HASHTAG}/recent_media", hashtag or by_after(*recent))


def collector(server: ReplayServer, **options: Any) -> InstagramCollector:
    settings = {
        "ig_user_id": USER,
        "username": "ikroskun",
        "hashtags": ["makkah__madinah"],
        "api_url": server.url,
        "version": VERSION,
        "retry_wait_seconds": 0,
        "post_hours": 24 * 90,
        "backfill_hours": 24 * 365 * 4,
    }
    return InstagramCollector(BRAND, InstagramOptions(**{**settings, **options}), "ig-token")


def test_ingests_comments_replies_tags_and_a_hashtag(engine):
    with serving() as server:
        serve(server, by_after(*comments()))
        made = collector(server)
        # 4 comments + 1 reply by a customer, 5 tagged media, 10 recent media of the hashtag
        assert collect_once(engine, made, NOW) == 20
        assert collect_once(engine, made, NOW + timedelta(minutes=10)) == 0
        asked = server.requests_to(f"/{VERSION}/{COMMENTED}/comments")
        lookups = server.requests_to(f"/{VERSION}/ig_hashtag_search")
    assert "replies{id,text,timestamp,username,like_count}" in asked[0].param("fields")
    assert [(s.param("q"), s.param("user_id")) for s in lookups] == [("makkah__madinah", USER)]
    with engine.connect() as conn:
        rows = {r.external_id: r for r in conn.execute(select(Mention))}
        answered = conn.execute(
            select(Mention.external_id, Response.answered_at).join(
                Response, Response.mention_id == Mention.id
            )
        ).all()
        likes = conn.execute(
            select(EngagementSnapshot.likes, EngagementSnapshot.replies)
            .join(Mention, Mention.id == EngagementSnapshot.mention_id)
            .where(Mention.external_id == "17846368219941692")
        ).first()
        cursor = load_cursor(conn, made.key)
    reply = rows["17847314687296283"]
    assert (reply.parent_id, reply.thread_id, reply.author) == (
        "17858154961981086",
        COMMENTED,
        "a_customer",
    )
    assert "17847314687296999" not in rows  # the account's own reply is not a mention
    assert [(i, a.replace(tzinfo=UTC)) for i, a in answered] == [
        ("17874875428706419", datetime(2020, 8, 7, 3, 30, 6, tzinfo=UTC))
    ]
    tagged = rows["17846368219941692"]
    assert tagged.text.startswith("Cute.. #cute") and tagged.url.startswith("https://www.insta")
    assert tuple(likes) == (3, 6)
    undated = rows["18088158883149835"]  # Instagram gave no time: dated when first seen
    assert undated.created_at.replace(tzinfo=UTC) == NOW
    assert cursor["hashtag_ids"] == {"makkah__madinah": HASHTAG}
    assert set(cursor["media"]) == {
        "17895731045244887", COMMENTED, "17896129349106152", "17893085207160254"
    }


def test_survives_a_malformed_item_a_rate_limit_and_a_timeout(engine):
    first, then = comments()
    broken = copy.deepcopy(first)
    del broken["data"][0]["timestamp"]
    limited = Reply.json(
        {"error": {"message": "(#4) Application request limit reached", "code": 4}}, 429
    )
    with serving() as server:
        serve(
            server,
            Reply.json(broken),
            Reply.json(then),
            limited,
            Reply(200, b"", delay=2.0),
            Reply(200, b"", delay=2.0),
            by_after(first, then),
            hashtag=Reply.json({"data": []}),
        )
        made = collector(server, timeout_seconds=0.5, retries=1, usage_hold_minutes=45)
        assert collect_once(engine, made, NOW) == 8  # 3 comments, 5 tagged media
        with engine.connect() as conn:
            payloads = conn.execute(select(Quarantined.payload)).scalars().all()
        assert [json.loads(p)["id"] for p in payloads] == ["17858154961981086"]
        assert collect_once(engine, made, NOW + timedelta(minutes=5), force=True) == 0
        state = health(engine)[0]
        assert state.status == "rate_limited"
        assert abs(state.next_run_at.timestamp() - (time.time() + 45 * 60)) < 10
        with pytest.raises(requests.Timeout):
            collect_once(engine, made, NOW + timedelta(minutes=20), force=True)
        assert health(engine)[0].status == "error"
        # the comment set aside comes back once readable, with its reply: nothing is lost
        assert collect_once(engine, made, NOW + timedelta(minutes=30), force=True) == 2
    assert health(engine)[0].status == "ok"
