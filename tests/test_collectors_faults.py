"""The same faults, in the middle of a paged collection, for every source but X (whose own file
covers them): each source's real client library reads two pages from 127.0.0.1, and between the
pages the server times out, resets the connection, answers garbage, a 5xx, a 429 with its reset
headers, or the process is killed with SIGKILL. Whatever happens, the next run ends with every
mention stored exactly once.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from monitor.collectors import build_collectors
from monitor.collectors.base import Collector, DisabledCollector
from monitor.collectors.bluesky import BlueskyCollector, BlueskyOptions
from monitor.collectors.credentials import Credentials
from monitor.collectors.feeds import FeedsCollector, FeedsOptions
from monitor.collectors.health import Health, health
from monitor.collectors.mastodon import MastodonCollector, MastodonOptions
from monitor.collectors.runner import collect_once
from monitor.config import Brand, SourceConfig, VigieConfig
from monitor.storage.ingest import save_cursor
from monitor.storage.tables import Mention
from tests import test_collectors_bluesky as bsky
from tests import test_collectors_mastodon as masto
from tests import test_collectors_reddit as rdt
from tests import test_collectors_stores as stores
from tests.replay.server import ReplayServer, Reply, serving
from tests.support import ROOT

NOW = stores.NOW  # the store reviews are dated from it
BRAND = Brand(name="Parkeo", keywords=["parkeo"])


@dataclass(frozen=True)
class Case:
    """One source: how to point it at the server, serve its two pages, and its 429."""

    name: str
    build: Callable[..., Collector]  # (server URL, **source options)
    serve: Callable[[ReplayServer, list[Reply]], None]  # the faults go between the pages
    first: int  # mentions on the first page
    total: int
    rate_limited: Callable[[float], Reply]
    empty: Callable[[ReplayServer], None]
    prepare: Callable[[Engine, Collector], None] = lambda engine, made: None
    # Attempts the client library makes itself on a timeout, a reset or a 5xx (prawcore: 3).
    attempts: int = 1


def _retry_after(reset: float) -> Reply:
    return Reply.json(
        {"error": "slow down"}, 429, **{"Retry-After": str(round(reset - time.time()))}
    )


# Bluesky: searchPosts pages with an opaque cursor, after a session is created.
def _bluesky(url: str, **options: Any) -> Collector:
    settings = {"service": url, "retry_wait_seconds": 0, "lookback_minutes": 0, **options}
    return BlueskyCollector(BRAND, BlueskyOptions(**settings), "vigie.test", "pw")


def _bluesky_serve(server: ReplayServer, faults: list[Reply]) -> None:
    server.add("POST", bsky.SESSION, bsky.session())
    first = bsky.posts_at([1, 2, 3], NOW)
    second = [{**p, "uri": p["uri"] + "b"} for p in bsky.posts_at([4, 5], NOW)]
    server.add(
        "GET",
        bsky.SEARCH,
        Reply.json({"posts": first, "cursor": "c2"}),
        *faults,
        Reply.json({"posts": second}),
    )


def _bluesky_empty(server: ReplayServer) -> None:
    server.add("POST", bsky.SESSION, bsky.session())
    server.add("GET", bsky.SEARCH, Reply.json({"posts": []}))


def _bluesky_429(reset: float) -> Reply:
    return Reply.json({"error": "RateLimitExceeded"}, 429, **{"ratelimit-reset": str(int(reset))})


# Mastodon: a hashtag timeline paged forward with min_id from the saved position.
def _mastodon(url: str, **options: Any) -> Collector:
    settings = {"instance": url, "retry_wait_seconds": 0, "search": False, "page_size": 3}
    return MastodonCollector(BRAND, MastodonOptions(**{**settings, **options}), "token-123")


def _mastodon_serve(server: ReplayServer, faults: list[Reply]) -> None:
    timeline = masto._timeline(masto.recorded_statuses())
    server.add("GET", masto.TAG, timeline, *faults, timeline)


def _mastodon_from_the_oldest(engine: Engine, made: Collector) -> None:
    oldest = masto.recorded_statuses()[0]["id"]
    with engine.begin() as conn:
        save_cursor(conn, made.key, made.source, made.brand, {"tag:parkeo": oldest})


def _mastodon_429(reset: float) -> Reply:
    headers = {
        "X-RateLimit-Limit": "300",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": datetime.fromtimestamp(reset, UTC).isoformat(),
        "Date": format_datetime(datetime.now(UTC), usegmt=True),
    }
    return Reply.json({"error": "Too many requests"}, 429, **headers)


# Reddit: search listings of 100, paged with the last post's fullname (after an OAuth token).
def _reddit(url: str, **options: Any) -> Collector:
    settings = {"oauth_url": url, "reddit_url": url, "retry_wait_seconds": 0, "track_hours": 0}
    return rdt.RedditCollector(BRAND, rdt.RedditOptions(**{**settings, **options}), rdt.CREDENTIALS)


def _listing(numbers: range) -> Reply:
    posts = [
        {
            "kind": "t3",
            "data": {
                "id": f"p{n}",
                "name": f"t3_p{n}",
                "title": f"Parkeo fined me twice, case {n}",
                "selftext": "",
                "created_utc": (NOW - timedelta(minutes=n)).timestamp(),
                "author": f"driver{n}",
                "permalink": f"/r/brussels/comments/p{n}/t/",
                "score": n,
                "num_comments": 1,
                "subreddit": "brussels",
            },
        }
        for n in numbers
    ]
    after = posts[-1]["data"]["name"] if len(posts) == 100 else None  # Reddit: more follow
    return Reply.json({"kind": "Listing", "data": {"children": posts, "after": after}})


def _reddit_token(server: ReplayServer) -> None:
    token = {"access_token": "t", "token_type": "bearer", "expires_in": 3600, "scope": "*"}
    server.add("POST", rdt.TOKEN_PATH, Reply.json(token))


def _reddit_serve(server: ReplayServer, faults: list[Reply]) -> None:
    _reddit_token(server)
    server.add("GET", "/r/all/search", _listing(range(100)), *faults, _listing(range(100, 102)))


def _reddit_empty(server: ReplayServer) -> None:
    _reddit_token(server)
    server.add("GET", "/r/all/search", rdt.EMPTY)


def _reddit_429(reset: float) -> Reply:
    wait = str(round(reset - time.time()))
    return Reply.json({"message": "Too Many Requests"}, 429, **{"x-ratelimit-reset": wait})


# Feeds: two feeds, each its own batch.
def _feeds(url: str, **options: Any) -> Collector:
    urls = [f"{url}/one.rss", f"{url}/two.rss"]
    return FeedsCollector(BRAND, FeedsOptions(urls=urls, retry_wait_seconds=0, **options))


def _rss(name: str, count: int) -> Reply:
    items = "".join(
        f"<item><guid>{name}-{i}</guid><title>Parkeo fined me twice, case {i}</title>"
        f"<link>https://news.example/{name}/{i}</link>"
        f"<pubDate>Mon, 23 Nov 2026 0{i}:00:00 GMT</pubDate></item>"
        for i in range(count)
    )
    body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>{name}</title>{items}'
    return Reply(200, (body + "</channel></rss>").encode(), {"Content-Type": "application/rss+xml"})


def _feeds_serve(server: ReplayServer, faults: list[Reply]) -> None:
    server.add("GET", "/one.rss", _rss("one", 3))
    server.add("GET", "/two.rss", *faults, _rss("two", 2))


def _feeds_empty(server: ReplayServer) -> None:
    server.add("GET", "/one.rss", _rss("one", 0))
    server.add("GET", "/two.rss", _rss("two", 0))


# App Store: the customer-reviews feed, page after page until an empty one.
def _appstore(url: str, **options: Any) -> Collector:
    feed_url = url + "/{country}/rss/customerreviews/page={page}/id={app_id}/sortby=mostrecent/json"
    settings = {"app_id": stores.APP, "countries": ["be"], "feed_url": feed_url}
    settings["backfill_hours"] = 72  # the reviews reach 53 h back, past the 24 h default
    return stores.AppStoreCollector(
        BRAND, stores.AppStoreOptions(**{**settings, "retry_wait_seconds": 0, **options})
    )


def _appstore_serve(server: ReplayServer, faults: list[Reply]) -> None:
    server.add("GET", stores.feed_path(1), stores.feed([stores.review(i, i) for i in range(50)]))
    page_two = stores.feed([stores.review(i, i) for i in range(50, 54)])
    server.add("GET", stores.feed_path(2), *faults, page_two)
    server.add("GET", stores.feed_path(3), stores.feed(None))


def _appstore_empty(server: ReplayServer) -> None:
    server.add("GET", stores.feed_path(1), stores.feed(None))


# Google Play: review pages chained by a continuation token.
def _googleplay(url: str, **options: Any) -> Collector:
    settings = {"app_id": "com.parkeo.app", "base_url": url, "page_size": 3}
    return stores.GooglePlayCollector(
        BRAND, stores.GooglePlayOptions(**{**settings, "retry_wait_seconds": 0, **options})
    )


def _googleplay_serve(server: ReplayServer, faults: list[Reply]) -> None:
    first = stores.play_page([stores.play_review(i, i) for i in range(3)], "next-please")
    second = stores.play_page([stores.play_review(i, i) for i in range(3, 5)], None)
    server.add("POST", stores.PLAY_PATH, first, *faults, second)


def _googleplay_empty(server: ReplayServer) -> None:
    server.add("POST", stores.PLAY_PATH, stores.play_page([], None))


CASES = {
    c.name: c
    for c in (
        Case("bluesky", _bluesky, _bluesky_serve, 3, 5, _bluesky_429, _bluesky_empty),
        Case(
            "mastodon",
            _mastodon,
            _mastodon_serve,
            3,
            7,
            _mastodon_429,
            lambda server: server.add("GET", masto.TAG, Reply.json([])),
            _mastodon_from_the_oldest,
        ),
        Case("reddit", _reddit, _reddit_serve, 100, 102, _reddit_429, _reddit_empty, attempts=3),
        Case("feeds", _feeds, _feeds_serve, 3, 5, _retry_after, _feeds_empty),
        Case("appstore", _appstore, _appstore_serve, 50, 54, _retry_after, _appstore_empty),
        Case("googleplay", _googleplay, _googleplay_serve, 3, 5, _retry_after, _googleplay_empty),
    )
}
TRANSIENT = {"timeout", "connection reset", "server error"}
FAULTS = {
    "timeout": Reply(delay=2.0),
    "connection reset": Reply(drop=True),
    "malformed": Reply(200, b'{"posts": [{"uri": ', {"Content-Type": "application/json"}),
    "server error": Reply(502),
}


def stored(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(Mention)).scalar_one()


def state(engine: Engine) -> Health:
    (only,) = health(engine)
    return only


def _start(case: Case, engine: Engine, server: ReplayServer, **options: Any) -> Collector:
    made = case.build(server.url, **options)
    case.prepare(engine, made)
    return made


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("name", CASES)
def test_a_fault_between_pages_is_recorded_and_the_next_run_loses_nothing(engine, name, fault):
    case = CASES[name]
    with serving() as server:
        case.serve(server, [FAULTS[fault]] * (case.attempts if fault in TRANSIENT else 1))
        made = _start(case, engine, server, retries=0, timeout_seconds=0.5)
        with pytest.raises(Exception):  # noqa: B017 - each library words its errors its own way
            collect_once(engine, made, NOW)
        failed = state(engine)
        assert stored(engine) == case.first
        assert collect_once(engine, made, NOW + timedelta(minutes=5), force=True) == (
            case.total - case.first
        )
    assert failed.status == "error" and failed.consecutive_failures == 1
    assert failed.last_error and failed.last_success_at is None
    assert stored(engine) == case.total
    assert state(engine).status == "ok"


@pytest.mark.parametrize("name", CASES)
def test_a_5xx_is_retried_within_the_run(engine, name):
    case = CASES[name]
    with serving() as server:
        case.serve(server, [Reply(503)])
        made = _start(case, engine, server, retries=1)
        assert collect_once(engine, made, NOW) == case.total
    assert state(engine).status == "ok" and stored(engine) == case.total


@pytest.mark.parametrize("name", CASES)
def test_a_429_holds_the_source_until_its_reset_then_resumes(engine, name):
    case = CASES[name]
    reset = time.time() + 600
    with serving() as server:
        case.serve(server, [case.rate_limited(reset)])
        made = _start(case, engine, server, rate_limit_max_wait_seconds=0)
        assert collect_once(engine, made, NOW) == case.first
        held = state(engine)
        assert collect_once(engine, made, NOW + timedelta(minutes=1)) == 0  # still held
        later = NOW + timedelta(minutes=11)
        assert collect_once(engine, made, later, force=True) == case.total - case.first
    assert held.status == "rate_limited"
    assert abs(held.next_run_at.timestamp() - reset) < 5
    assert stored(engine) == case.total


@pytest.mark.parametrize("name", CASES)
def test_an_empty_result_is_a_quiet_success(engine, name):
    case = CASES[name]
    with serving() as server:
        case.empty(server)
        made = _start(case, engine, server)
        assert collect_once(engine, made, NOW) == 0
    assert state(engine).status == "ok" and state(engine).last_error is None
    assert stored(engine) == 0


CHILD = """
import sys
from datetime import datetime
from monitor.collectors.runner import collect_once
from monitor.storage.db import make_engine
from tests.test_collectors_faults import CASES
engine = make_engine(sys.argv[1])
made = CASES[sys.argv[2]].build(sys.argv[3])
collect_once(engine, made, datetime.fromisoformat(sys.argv[4]))
"""


def _kill_while_waiting(engine: Engine, name: str, server: ReplayServer) -> None:
    """Run the collection in a child process and SIGKILL it while it waits for page two."""
    url = engine.url.render_as_string(hide_password=False)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, url, name, server.url, NOW.isoformat()],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert server.arrived.wait(60), "the child never asked for the second page"
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(10) == -signal.SIGKILL
    finally:
        child.kill()


@pytest.mark.parametrize("name", CASES)
def test_kill_9_mid_collection_resumes_without_loss_or_duplicate(engine, name):
    case = CASES[name]
    hold = threading.Event()
    with serving() as server:
        case.serve(server, [Reply(hold=hold)])
        case.prepare(engine, case.build(server.url))
        try:
            _kill_while_waiting(engine, name, server)
        finally:
            hold.set()
        assert stored(engine) == case.first
        made = case.build(server.url)
        assert collect_once(engine, made, NOW + timedelta(minutes=1)) == case.total - case.first
    assert stored(engine) == case.total


@pytest.mark.parametrize(
    ("source", "options", "variables"),
    [
        ("reddit", {}, "REDDIT_CLIENT_ID / REDDIT_CLIENT_SECRET"),
        ("mastodon", {"instance": "https://mastodon.example"}, "MASTODON_ACCESS_TOKEN"),
        ("bluesky", {}, "BLUESKY_HANDLE / BLUESKY_APP_PASSWORD"),
    ],
)
def test_a_source_without_credentials_is_disabled_with_one_log_line(
    engine, caplog, monkeypatch, source, options, variables
):
    for variable in variables.split(" / "):
        monkeypatch.delenv(variable, raising=False)
    config = VigieConfig(
        brands=[BRAND, Brand(name="Other", keywords=["other"])],
        sources={source: SourceConfig(**options)},
    )
    with caplog.at_level(logging.INFO):
        collectors = build_collectors(config, credentials=Credentials())
    assert [r.getMessage() for r in caplog.records] == [
        f"source {source} disabled: no {variables} in the environment"
    ]
    assert len(collectors) == 2 and all(isinstance(c, DisabledCollector) for c in collectors)
    for made in collectors:
        assert collect_once(engine, made, NOW) == 0
    assert {(s.status, s.last_error) for s in health(engine)} == {
        ("disabled", f"disabled: no {variables}")
    }
