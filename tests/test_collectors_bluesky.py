"""Bluesky: the atproto SDK's recorded post views served as searchPosts pages on 127.0.0.1."""

from __future__ import annotations

import base64
import copy
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from monitor.collectors.bluesky import BlueskyCollector, BlueskyOptions
from monitor.collectors.health import health
from monitor.collectors.runner import collect_once
from monitor.config import Brand
from monitor.storage.ingest import load_cursor
from monitor.storage.tables import EngagementSnapshot, Mention
from tests.replay.server import ReplayServer, Reply, serving
from tests.support import shared_path

SESSION = "/xrpc/com.atproto.server.createSession"
SEARCH = "/xrpc/app.bsky.feed.searchPosts"
BRAND = Brand(name="Parkeo", keywords=["parkeo"], exclusions=["parkeo game"])


def _jwt(seconds: int) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    payload = {"exp": int(time.time()) + seconds, "sub": "did:plc:vigie", "scope": "x"}
    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(payload)}.c2ln"


def session() -> Reply:
    return Reply.json(
        {
            "accessJwt": _jwt(3600),
            "refreshJwt": _jwt(86400),
            "handle": "vigie.test",
            "did": "did:plc:vigie",
        }
    )


def recorded_posts() -> list[dict[str, Any]]:
    """The thread's post view, and a post view around the recorded bare post record."""
    thread = json.loads(
        shared_path("fixtures", "atproto", "thread_view_post_with_embed_media.json").read_text()
    )["thread"]["post"]
    record = json.loads(shared_path("fixtures", "atproto", "post_record.json").read_text())
    bare = {
        "uri": record["uri"],
        "cid": record["cid"],
        "author": thread["author"],
        "record": record["value"],
        "indexedAt": record["value"]["createdAt"],
        "likeCount": 3,
        "repostCount": 2,
        "quoteCount": 1,
        "replyCount": 4,
    }
    return [thread, bare]


def posts_at(minutes_ago: list[int], now: datetime) -> list[dict[str, Any]]:
    """Recorded post views made distinct (uri) and recent, newest first."""
    base = recorded_posts()
    out = []
    for i, minutes in enumerate(minutes_ago):
        post = copy.deepcopy(base[i % 2])
        stamp = (now - timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")
        post["uri"] = f"{post['uri']}{i}"
        post["indexedAt"] = stamp
        post["record"]["createdAt"] = stamp
        out.append(post)
    return out


def collector(server: ReplayServer, **options: Any) -> BlueskyCollector:
    settings = {"service": server.url, "retry_wait_seconds": 0, "lookback_minutes": 0}
    return BlueskyCollector(BRAND, BlueskyOptions(**{**settings, **options}), "vigie.test", "pw")


def test_search_pages_with_the_cursor_through_the_atproto_models(engine):
    now = datetime.now(UTC).replace(microsecond=0)
    first, second = posts_at([1, 2, 3], now), posts_at([4, 5], now)
    second = [{**p, "uri": p["uri"] + "b"} for p in second]
    with serving() as server:
        server.add("POST", SESSION, session())
        server.add(
            "GET",
            SEARCH,
            Reply.json({"posts": first, "cursor": "c2"}),
            Reply.json({"posts": second}),
            Reply.json({"posts": []}),
        )
        made = collector(server)
        assert collect_once(engine, made, now) == 5
        collect_once(engine, made, now + timedelta(minutes=5), force=True)
        searches = server.requests_to(SEARCH)
        login = server.requests_to(SESSION)
    assert len(login) == 1 and json.loads(login[0].body)["identifier"] == "vigie.test"
    assert [s.param("cursor") for s in searches] == [None, "c2", None]
    assert searches[0].param("q") == "parkeo" and searches[0].param("sort") == "latest"
    assert searches[2].param("since") == (now - timedelta(minutes=1)).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ"
    )
    with engine.connect() as conn:
        rows = {r.external_id: r for r in conn.execute(select(Mention))}
        cursor = load_cursor(conn, made.key)
        counts = conn.execute(
            select(EngagementSnapshot.likes, EngagementSnapshot.reshares)
            .join(Mention, Mention.id == EngagementSnapshot.mention_id)
            .where(Mention.external_id == first[1]["uri"])
        ).one()
    bare = rows[first[1]["uri"]]
    assert bare.text == recorded_posts()[1]["record"]["text"]
    assert bare.author == "test.marshal.dev"
    assert (
        bare.url
        == f"https://bsky.app/profile/test.marshal.dev/post/{first[1]['uri'].rsplit('/', 1)[1]}"
    )
    assert rows[first[0]["uri"]].language == "en"
    assert tuple(counts) == (3, 3)
    assert cursor == {"search:parkeo": {"floor": (now - timedelta(minutes=1)).timestamp()}}


def test_excluded_posts_are_skipped(engine):
    now = datetime.now(UTC)
    posts = posts_at([1, 2], now)
    posts[0]["record"]["text"] = "Parkeo game tonight"
    with serving() as server:
        server.add("POST", SESSION, session())
        server.add("GET", SEARCH, Reply.json({"posts": posts}))
        assert collect_once(engine, collector(server), now) == 1


def test_a_rate_limit_holds_bluesky_until_the_reset(engine):
    now = datetime.now(UTC)
    reset = int(time.time()) + 600
    with serving() as server:
        server.add("POST", SESSION, session())
        server.add(
            "GET",
            SEARCH,
            Reply.json({"error": "RateLimitExceeded"}, 429, **{"ratelimit-reset": str(reset)}),
        )
        assert collect_once(engine, collector(server), now) == 0
    state = health(engine)[0]
    assert state.status == "rate_limited" and state.next_run_at.timestamp() == reset


def test_server_errors_then_a_malformed_page(engine):
    now = datetime.now(UTC)
    broken = posts_at([1], now)
    del broken[0]["author"]
    with serving() as server:
        server.add("POST", SESSION, session())
        server.add(
            "GET",
            SEARCH,
            Reply(502),
            Reply(500),
            Reply.json({"posts": posts_at([1], now)}),
            Reply.json({"posts": broken}),
        )
        made = collector(server)
        assert collect_once(engine, made, now) == 1
        with pytest.raises(Exception, match="unreadable response"):
            collect_once(engine, made, now + timedelta(minutes=1), force=True)
    assert health(engine)[0].last_error.startswith("MalformedResponse: search 'parkeo'")


def test_a_revoked_session_logs_in_again_on_the_next_run(engine):
    now = datetime.now(UTC)
    with serving() as server:
        server.add("POST", SESSION, session())
        server.add(
            "GET",
            SEARCH,
            Reply.json({"error": "ExpiredToken"}, 401),
            Reply.json({"posts": posts_at([1], now)}),
        )
        made = collector(server)
        with pytest.raises(Exception, match="Unauthorized"):
            collect_once(engine, made, now)
        assert collect_once(engine, made, now + timedelta(minutes=1)) == 1
        assert len(server.requests_to(SESSION)) == 2
