"""Reddit: praw's own betamax recordings served on 127.0.0.1, read through the real praw."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from monitor.collectors.credentials import Credentials
from monitor.collectors.health import health
from monitor.collectors.reddit import RedditCollector, RedditOptions, build_query
from monitor.collectors.runner import collect_once
from monitor.config import Brand
from monitor.storage.ingest import load_cursor
from monitor.storage.tables import EngagementSnapshot, Mention
from tests.replay.recordings import betamax_replies
from tests.replay.server import ReplayServer, Reply, Seen, serving
from tests.support import shared_path

CREDENTIALS = Credentials(REDDIT_CLIENT_ID="client-id", REDDIT_CLIENT_SECRET="client-secret")
TOKEN_PATH = "/api/v1/access_token"
EMPTY = Reply.json({"kind": "Listing", "data": {"children": [], "after": None, "before": None}})


def recording(name: str) -> list[tuple[str, str, Reply]]:
    return betamax_replies(shared_path("fixtures", "praw", f"{name}.json"))


def children(reply: Reply) -> list[dict[str, Any]]:
    return [c["data"] for c in json.loads(reply.body)["data"]["children"]]


def serve(server: ReplayServer, name: str) -> list[tuple[str, str, Reply]]:
    replies = recording(name)
    for method, path, reply in replies:
        server.add(method, path, reply)
    return replies


def collector(server: ReplayServer, brand: Brand, **options: Any) -> RedditCollector:
    # The recordings are years old: a first run must reach back to them (backfill_hours).
    settings = {"oauth_url": server.url, "reddit_url": server.url, "retry_wait_seconds": 0,
                "backfill_hours": 24 * 365 * 20}
    return RedditCollector(brand, RedditOptions(**{**settings, **options}), CREDENTIALS)


def rows(engine) -> dict[str, Any]:
    with engine.connect() as conn:
        return {r.external_id: r for r in conn.execute(select(Mention))}


def test_search_query_ors_keywords_and_nots_exclusions():
    brand = Brand(name="P", keywords=["parkeo", "parkeo app"], exclusions=["parkeo game"])
    assert build_query(brand) == '(parkeo OR "parkeo app") NOT "parkeo game"'


def test_recorded_search_is_stored_with_score_and_comment_counts(engine, now):
    with serving() as server:
        replies = serve(server, "TestSubreddit.test_search")
        made = collector(server, Brand(name="PRAW", keywords=["praw"]))
        new = collect_once(engine, made, now)
        search = server.requests_to("/r/all/search")[0]
        token = server.requests_to(TOKEN_PATH)[0]
    posts = children(replies[1][2])
    stored = rows(engine)
    assert new == len(posts) and set(stored) == {p["name"] for p in posts}
    assert search.param("q") == "praw" and search.param("sort") == "new"
    assert search.headers["Authorization"] == "bearer <ACCESS_TOKEN>"
    assert b"grant_type=client_credentials" in token.body
    first = posts[0]
    row = stored[first["name"]]
    assert row.author == first["author"] and row.url.startswith("https://www.reddit.com/r/")
    assert row.created_at == datetime.fromtimestamp(first["created_utc"], UTC)
    assert row.text.startswith(first["title"])
    with engine.connect() as conn:
        likes, replies_ = conn.execute(
            select(EngagementSnapshot.likes, EngagementSnapshot.replies).where(
                EngagementSnapshot.mention_id == row.id
            )
        ).one()
    assert (likes, replies_) == (first["score"], first["num_comments"])


def test_new_posts_of_a_subreddit_are_kept_when_they_name_the_brand(engine, now):
    with serving() as server:
        replies = serve(server, "TestSubredditListings.test_new")
        server.add("GET", "/r/askreddit/new", EMPTY)
        made = collector(
            server,
            Brand(name="R", keywords=["reddit"]),
            search=False,
            subreddits=["askreddit"],
            comments=False,
        )
        collect_once(engine, made, now)
        pages = server.requests_to("/r/askreddit/new")
    posts = children(replies[1][2])
    wanted = {p["name"] for p in posts if "reddit" in f"{p['title']} {p['selftext']}".casefold()}
    assert wanted and set(rows(engine)) == wanted
    # a full page (100) asks for the next one after its last item; the empty page ends the sweep
    assert [p.param("after") for p in pages] == [None, posts[-1]["name"]]
    with engine.connect() as conn:
        cursor = load_cursor(conn, made.key)
    assert cursor["new:askreddit"] == {"floor": max(p["created_utc"] for p in posts)}


def test_new_comments_of_a_subreddit_that_name_the_brand(engine, now):
    with serving() as server:
        replies = serve(server, "TestSubredditStreams.test_comments__with_pause")
        made = collector(
            server,
            Brand(name="K", keywords=["kakapo", "the"]),
            search=False,
            subreddits=["kakapo"],
            posts=False,
        )
        collect_once(engine, made, now)
    comments = children(replies[1][2])
    wanted = {
        c["name"]: c
        for c in comments
        if "kakapo" in c["body"].casefold() or "the" in c["body"].casefold()
    }
    stored = rows(engine)
    assert wanted and set(stored) == set(wanted)
    for name, row in stored.items():
        assert row.parent_id == wanted[name]["parent_id"]
        assert row.thread_id == wanted[name]["link_id"]
        assert row.url.endswith(f"/{wanted[name]['id']}/")


def test_tracked_posts_get_fresh_score_and_comment_counts(engine):
    with serving() as server:
        replies = serve(server, "TestSubreddit.test_search")
        listing = json.loads(replies[1][2].body)

        def info(seen: Seen) -> Reply:
            ids = set(seen.param("id").split(","))
            kept = [c for c in listing["data"]["children"] if c["data"]["name"] in ids]
            return Reply.json({"kind": "Listing", "data": {**listing["data"], "children": kept}})

        server.add("GET", "/api/info", info)
        made = collector(server, Brand(name="PRAW", keywords=["praw"]), track_hours=24 * 365 * 20)
        now = datetime.now(UTC)
        collect_once(engine, made, now)
        collect_once(engine, made, now + timedelta(minutes=5), force=True)
        infos = server.requests_to("/api/info")
    posts = children(replies[1][2])
    newest = max(posts, key=lambda p: p["created_utc"])["name"]
    # the newest post is re-read by the search (its look-back margin); the others come by info
    assert len(infos) == 1
    assert set(infos[0].param("id").split(",")) == {p["name"] for p in posts} - {newest}
    with engine.connect() as conn:
        snapshots = conn.execute(select(EngagementSnapshot.mention_id)).scalars().all()
    assert len(snapshots) == 2 * len(posts)


def test_a_rate_limit_holds_reddit_until_the_reset(engine):
    now = datetime.now(UTC)
    with serving() as server:
        serve(server, "TestSubreddit.test_search")
        server.routes[("GET", "/r/all/search")] = [
            Reply.json({"message": "Too Many Requests"}, 429, **{"x-ratelimit-reset": "600"})
        ]
        made = collector(server, Brand(name="PRAW", keywords=["praw"]))
        assert collect_once(engine, made, now) == 0
    state = health(engine)[0]
    assert state.status == "rate_limited"
    assert 590 < (state.next_run_at.timestamp() - time.time()) <= 600


def test_server_errors_then_success(engine, now):
    with serving() as server:
        replies = serve(server, "TestSubreddit.test_search")
        server.routes[("GET", "/r/all/search")] = [Reply(503), replies[1][2]]
        made = collector(server, Brand(name="PRAW", keywords=["praw"]))
        assert collect_once(engine, made, now) == len(children(replies[1][2]))


def test_malformed_json_is_reported_and_nothing_is_stored(engine, now):
    with serving() as server:
        serve(server, "TestSubreddit.test_search")
        server.routes[("GET", "/r/all/search")] = [
            Reply(200, b"<html>oops</html>", {"Content-Type": "application/json"})
        ]
        made = collector(server, Brand(name="PRAW", keywords=["praw"]))
        with pytest.raises(Exception, match="unreadable response"):
            collect_once(engine, made, now)
    assert rows(engine) == {}
    assert health(engine)[0].status == "error"


def full_page(template: dict[str, Any], now: datetime, after: str | None) -> Reply:
    """One page of exactly 100 posts: Reddit's own ``after`` says whether more follow."""
    posts = []
    for i in range(100):
        post = {**template, "id": f"zz{i:03d}", "name": f"t3_zz{i:03d}", "title": f"praw {i}"}
        post["created_utc"] = now.timestamp() - 60 * (i + 1)
        posts.append({"kind": "t3", "data": post})
    return Reply.json({"kind": "Listing", "data": {"children": posts, "after": after}})


@pytest.mark.parametrize("after", [None, "t3_zz099"])
def test_a_listing_without_an_empty_last_page_is_read_once(engine, after):
    """Whether Reddit says "no more" (after null) or hands the same page back, the sweep ends."""
    now = datetime.now(UTC)
    with serving() as server:
        replies = serve(server, "TestSubreddit.test_search")
        template = children(replies[1][2])[0]
        server.routes[("GET", "/r/all/search")] = [full_page(template, now, after)]
        made = collector(server, Brand(name="PRAW", keywords=["praw"]))
        assert collect_once(engine, made, now) == 100
        searches = server.requests_to("/r/all/search")
    assert len(searches) == (1 if after is None else 2)
    assert len({s.param("after") for s in searches}) == len(searches)  # never the same page
    with engine.connect() as conn:
        position = load_cursor(conn, made.key)["search"]
    assert position == {"floor": now.timestamp() - 60}  # the sweep is complete, not mid-way
