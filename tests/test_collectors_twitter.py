"""X/Twitter: recorded API v2 responses through the real tweepy client (vcrpy, local server)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from monitor.collectors import build_collectors
from monitor.collectors.base import DisabledCollector
from monitor.collectors.credentials import Credentials
from monitor.collectors.health import RunPolicy, health
from monitor.collectors.runner import collect_once
from monitor.collectors.twitter import TwitterCollector, TwitterOptions, build_query
from monitor.config import Brand, ConfigError, SourceConfig, VigieConfig
from monitor.logs import RedactSecrets, secret_values
from monitor.storage.ingest import load_cursor, save_cursor
from monitor.storage.tables import ApiUsage, EngagementSnapshot, Mention
from tests.replay.recordings import merged_cassette, replaying, vcr_json
from tests.replay.redirect import redirect
from tests.replay.server import Reply, Seen, serving
from tests.support import ROOT, shared_path

TOKEN = "AAAA-test-bearer-token-0123456789"
SEARCH = "/2/tweets/search/recent"
MENTIONS = "/2/users/783214/mentions"
LOOKUP = "/2/tweets"


def recording(name: str) -> Any:
    return vcr_json(shared_path("fixtures", "tweepy", f"test_client_{name}.yaml"))


def brand() -> Brand:
    return Brand(name="Tweepy", keywords=["tweepy"], handles=["@TwitterDev"])


def collector(server_url: str, **options: Any) -> TwitterCollector:
    defaults = {"account_id": "783214", "retry_wait_seconds": 0, "track_hours": 0}
    made = TwitterCollector(brand(), TwitterOptions(**{**defaults, **options}), TOKEN)
    redirect(
        made.client.session, "https://api.twitter.com", server_url, made.options.timeout_seconds
    )
    return made


def page(tweets: list[dict], next_token: str | None = None) -> Reply:
    meta: dict[str, Any] = {"result_count": len(tweets)}
    if next_token:
        meta["next_token"] = next_token
    return Reply.json({"data": tweets, "meta": meta} if tweets else {"meta": meta})


def stored_ids(engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(select(Mention.external_id)).scalars())


def state_of(engine, key: str):
    return next(h for h in health(engine) if h.key == key)


def test_query_holds_keywords_handles_exclusions_languages_and_no_retweets():
    watched = Brand(
        name="Parkeo",
        keywords=["parkeo", "parkeo app"],
        handles=["@Parkeo"],
        exclusions=["parkeo game"],
        languages=["fr", "nl"],
    )
    query = build_query(watched, TwitterOptions())
    assert query == (
        '(parkeo OR "parkeo app" OR @Parkeo) -"parkeo game" (lang:fr OR lang:nl) '
        "-from:Parkeo -is:retweet"
    )
    assert "-is:retweet" not in build_query(watched, TwitterOptions(exclude_retweets=False))
    with pytest.raises(ConfigError, match="max_query_length"):
        build_query(watched, TwitterOptions(max_query_length=40))


def test_recorded_search_mentions_and_lookup_replay_through_tweepy(engine, tmp_path):
    fixtures = shared_path("fixtures", "tweepy")
    cassette = merged_cassette(
        [
            fixtures / "test_client_search_recent_tweets.yaml",
            fixtures / "test_client_get_users_mentions.yaml",
            fixtures / "test_client_get_tweets.yaml",
        ],
        tmp_path / "twitter.yaml",
    )
    lookup = [t["id"] for t in recording("get_tweets")["data"]]
    now = datetime(2022, 10, 8, tzinfo=UTC)
    made = TwitterCollector(brand(), TwitterOptions(account_id="783214", max_pages=1), TOKEN)
    with engine.begin() as conn:
        tracked = {i: (now - timedelta(hours=1)).timestamp() for i in lookup}
        save_cursor(conn, made.key, made.source, made.brand, {"tracked": tracked})
    with replaying(cassette):
        new = collect_once(engine, made, now)

    expected = [t["id"] for t in recording("search_recent_tweets")["data"]]
    expected += [t["id"] for t in recording("get_users_mentions")["data"]] + lookup
    assert sorted(stored_ids(engine)) == sorted(expected) and new == len(expected)
    with engine.connect() as conn:
        cursor = load_cursor(conn, made.key)
        rows = conn.execute(select(Mention.text, Mention.created_at)).all()
    # One page per run: the search keeps its next_token, so the next run resumes there.
    assert cursor["search"]["token"] == recording("search_recent_tweets")["meta"]["next_token"]
    # The recording asked for no created_at; the time comes from the snowflake id, and the
    # test tweets carry the time they were sent in their text.
    for text, created in rows:
        if text.endswith(" tweepy"):
            sent = datetime.fromisoformat(text.removesuffix(" tweepy")).replace(tzinfo=UTC)
            assert abs((created - sent).total_seconds()) < 5


def test_pages_are_stored_newest_first_and_the_next_run_asks_since_the_newest(engine, now):
    newer = recording("get_users_mentions")["data"]
    older = recording("search_recent_tweets")["data"]
    with serving() as server:
        server.add("GET", SEARCH, page(newer, "p2"), page(older), page([]))
        server.add("GET", MENTIONS, page([]))
        made = collector(server.url, mentions=True)
        assert collect_once(engine, made, now) == len(newer) + len(older)
        collect_once(engine, made, now + timedelta(minutes=5), force=True)
        searches = server.requests_to(SEARCH)
    assert [s.param("next_token") for s in searches] == [None, "p2", None]
    newest = max(int(t["id"]) for t in newer)
    assert searches[0].param("since_id") is None and searches[0].param("start_time")
    assert searches[2].param("since_id") == str(newest)
    assert len(stored_ids(engine)) == len(set(stored_ids(engine))) == len(newer) + len(older)


def _with_metrics(tweets: list[dict], retweets: int) -> list[dict]:
    metrics = {"retweet_count": retweets, "quote_count": 1, "like_count": 7, "reply_count": 2}
    return [{**t, "public_metrics": metrics, "author_id": "42"} for t in tweets]


def test_engagement_of_tracked_tweets_is_repolled_100_ids_a_request(engine, now):
    tweets = _with_metrics(recording("search_recent_tweets")["data"], retweets=3)
    known = {t["id"]: t for t in tweets}
    gone = [str(10**18 + i) for i in range(120)]
    users = {
        "users": [
            {
                "id": "42",
                "name": "n",
                "username": "someone",
                "public_metrics": {"followers_count": 1234},
            }
        ]
    }

    def lookup(seen: Seen) -> Reply:
        ids = seen.param("ids").split(",")
        found = [{**known[i], "public_metrics": {"retweet_count": 50}} for i in ids if i in known]
        errors = [{"resource_id": i, "title": "Not Found Error"} for i in ids if i not in known]
        return Reply.json({"data": found, "includes": users, "errors": errors})

    with serving() as server:
        server.add(
            "GET",
            SEARCH,
            Reply.json({"data": tweets, "includes": users, "meta": {"result_count": len(tweets)}}),
            page([]),
        )
        server.add("GET", LOOKUP, lookup)
        made = collector(server.url, mentions=False, track_hours=24)
        first = now.replace(year=2022, month=10, day=8)
        with engine.begin() as conn:
            seed = {i: (first - timedelta(hours=1)).timestamp() for i in gone}
            save_cursor(conn, made.key, made.source, made.brand, {"tracked": seed})
        collect_once(engine, made, first)
        later = first + timedelta(minutes=10)
        collect_once(engine, made, later, force=True)
        lookups = server.requests_to(LOOKUP)
    assert [len(s.param("ids").split(",")) for s in lookups] == [100, 20, 10]
    with engine.connect() as conn:
        cursor = load_cursor(conn, made.key)
        series = (
            conn.execute(
                select(EngagementSnapshot.reshares).order_by(EngagementSnapshot.observed_at)
            )
            .scalars()
            .all()
        )
        followers = conn.execute(select(func.max(Mention.author_followers))).scalar()
    assert set(cursor["tracked"]) == set(known)  # deleted tweets are no longer tracked
    assert series == [4] * len(tweets) + [50] * len(tweets)
    assert followers == 1234


def test_a_long_rate_limit_holds_the_source_until_the_reset(engine):
    now = datetime.now(UTC)  # the reset header is wall-clock time
    reset = int(time.time()) + 900
    tweets = recording("search_recent_tweets")["data"]
    with serving() as server:
        server.add(
            "GET",
            SEARCH,
            page(tweets[:5], "p2"),
            Reply.json({"title": "Too Many Requests"}, 429, **{"x-rate-limit-reset": str(reset)}),
        )
        made = collector(server.url, mentions=False)
        assert collect_once(engine, made, now) == 5
        held = state_of(engine, made.key)
        collect_once(engine, made, now + timedelta(minutes=5))  # before the reset: skipped
        assert len(server.requests_to(SEARCH)) == 2
    assert held.status == "rate_limited" and held.consecutive_failures == 0
    assert held.next_run_at == datetime.fromtimestamp(reset, UTC)
    with engine.connect() as conn:
        assert load_cursor(conn, made.key)["search"]["token"] == "p2"


def test_a_short_rate_limit_is_waited_out(engine, now, caplog):
    tweets = recording("search_recent_tweets")["data"]
    with serving() as server:
        server.add(
            "GET",
            SEARCH,
            Reply.json({}, 429, **{"x-rate-limit-reset": str(int(time.time()) + 1)}),
            page(tweets),
        )
        made = collector(server.url, mentions=False, rate_limit_max_wait_seconds=30)
        with caplog.at_level(logging.WARNING):
            assert collect_once(engine, made, now) == len(tweets)
    assert "waiting" in caplog.text
    assert state_of(engine, made.key).status == "ok"


def test_server_errors_are_retried_and_every_request_counts_against_the_quota(engine, now):
    tweets = recording("search_recent_tweets")["data"]
    with serving() as server:
        server.add("GET", SEARCH, Reply(503), Reply(502), page(tweets))
        made = collector(server.url, mentions=False)
        assert collect_once(engine, made, now) == len(tweets)
    with engine.connect() as conn:
        used = conn.execute(select(ApiUsage.requests, ApiUsage.items)).one()
    assert tuple(used) == (3, len(tweets))


def test_the_monthly_quota_stops_requests_until_next_month(engine, now):
    tweets = recording("search_recent_tweets")["data"]
    with serving() as server:
        server.add("GET", SEARCH, page(tweets[:3], "p2"), page(tweets[3:6], "p3"))
        made = collector(server.url, mentions=False, monthly_request_quota=2)
        assert collect_once(engine, made, now) == 6
        assert len(server.requests_to(SEARCH)) == 2
    state = state_of(engine, made.key)
    assert state.status == "quota" and "quota" in state.last_error
    assert state.next_run_at == datetime(now.year, now.month + 1, 1, tzinfo=UTC)


def test_a_timeout_is_recorded_and_loses_nothing(engine, now):
    tweets = recording("search_recent_tweets")["data"]
    with serving() as server:
        server.add("GET", SEARCH, Reply(delay=2.0), page(tweets))
        made = collector(server.url, mentions=False, retries=0, timeout_seconds=0.3)
        with pytest.raises(Exception, match=r"[Tt]imed? ?out"):
            collect_once(engine, made, now)
        failed = state_of(engine, made.key)
        assert collect_once(engine, made, now + timedelta(minutes=5)) == len(tweets)
    assert failed.status == "error" and "Timeout" in failed.last_error
    assert failed.consecutive_failures == 1 and failed.next_run_at is None


def test_malformed_json_is_a_clear_error_and_stores_nothing(engine, now):
    with serving() as server:
        server.add(
            "GET", SEARCH, Reply(200, b'{"data": [{"id": ', {"Content-Type": "application/json"})
        )
        made = collector(server.url, mentions=False)
        with pytest.raises(Exception, match="unreadable response"):
            collect_once(engine, made, now)
    assert stored_ids(engine) == []
    assert state_of(engine, made.key).last_error.startswith("MalformedResponse: recent search")


def test_an_empty_result_keeps_the_position(engine, now):
    with serving() as server:
        server.add("GET", SEARCH, page([]))
        made = collector(server.url, mentions=False)
        assert collect_once(engine, made, now) == 0
    with engine.connect() as conn:
        cursor = load_cursor(conn, made.key)
    assert cursor["search"] == {"floor": None}
    assert state_of(engine, made.key).status == "ok"


CHILD = """
import sys
from datetime import datetime
from monitor.collectors.runner import collect_once
from monitor.storage.db import make_engine
from tests.test_collectors_twitter import collector
engine = make_engine(sys.argv[1])
collect_once(engine, collector(sys.argv[2], mentions=False), datetime.fromisoformat(sys.argv[3]))
"""


def test_kill_9_mid_pagination_resumes_at_the_next_page_without_loss_or_duplicate(engine, now):
    pages = [
        recording("get_users_mentions")["data"],
        recording("search_recent_tweets")["data"],
        recording("get_quote_tweets")["data"],
    ]
    hold = threading.Event()
    with serving() as server:
        server.add(
            "GET",
            SEARCH,
            page(pages[0], "p2"),
            page(pages[1], "p3"),
            Reply(hold=hold),
            page(pages[2]),
        )
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        child = subprocess.Popen(
            [
                sys.executable,
                "-c",
                CHILD,
                str(engine.url.render_as_string(False)),
                server.url,
                now.isoformat(),
            ],
            cwd=ROOT,
            env=env,
        )
        try:
            assert server.arrived.wait(30), "the child never asked for the third page"
            os.kill(child.pid, signal.SIGKILL)
            child.wait(10)
        finally:
            hold.set()
        assert sorted(stored_ids(engine)) == sorted(t["id"] for p in pages[:2] for t in p)
        made = collector(server.url, mentions=False)
        assert collect_once(engine, made, now + timedelta(minutes=1)) == len(pages[2])
        resumed = server.requests_to(SEARCH)[3]
    assert resumed.param("next_token") == "p3"
    everything = [t["id"] for p in pages for t in p]
    assert sorted(stored_ids(engine)) == sorted(everything)
    with engine.connect() as conn:
        assert load_cursor(conn, made.key)["search"] == {"floor": max(int(i) for i in everything)}


def test_without_a_token_twitter_is_disabled_with_one_log_line(engine, now, caplog):
    config = VigieConfig(
        brands=[brand(), Brand(name="Other", keywords=["other"])],
        sources={"twitter": SourceConfig()},
    )
    with caplog.at_level(logging.WARNING):
        collectors = build_collectors(config, credentials=Credentials(TWITTER_BEARER_TOKEN=""))
    assert all(isinstance(c, DisabledCollector) for c in collectors) and len(collectors) == 2
    assert [r.getMessage() for r in caplog.records] == [
        "source twitter disabled: no TWITTER_BEARER_TOKEN in the environment"
    ]
    for made in collectors:
        assert collect_once(engine, made, now, RunPolicy()) == 0
    states = health(engine)
    assert {(s.status, s.last_error) for s in states} == {
        ("disabled", "disabled: no TWITTER_BEARER_TOKEN")
    }


def test_the_bearer_token_never_reaches_the_logs_or_the_health_table(engine, now, caplog):
    caplog.handler.addFilter(RedactSecrets(secret_values({"TWITTER_BEARER_TOKEN": TOKEN})))
    with serving() as server:
        server.add("GET", SEARCH, Reply.json({"title": "Unauthorized", "detail": "bad"}, 401))
        made = collector(server.url, mentions=False)
        with caplog.at_level(logging.DEBUG), pytest.raises(Exception, match="401"):
            collect_once(engine, made, now)
        auth = server.requests_to(SEARCH)[0].headers["Authorization"]
    assert auth == f"Bearer {TOKEN}"  # it was sent, and tweepy logged its headers at DEBUG
    assert "Authorization" in caplog.text and TOKEN not in caplog.text
    assert TOKEN not in (state_of(engine, made.key).last_error or "")
