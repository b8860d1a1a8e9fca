"""App Store (customer-reviews JSON feed) and Google Play reviews, served on 127.0.0.1.

No recording of these services ships in ../shared, so the pages are built here in the services'
formats; the App Store one as Apple's feed documents it, Google Play's as google-play-scraper
parses it (its own pattern and field positions read them).
"""

from __future__ import annotations

import json
import ssl
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import pytest
from sqlalchemy import select

from monitor.collectors.appstore import AppStoreCollector, AppStoreOptions
from monitor.collectors.googleplay import GooglePlayCollector, GooglePlayOptions
from monitor.collectors.health import health
from monitor.collectors.runner import collect_once
from monitor.config import Brand
from monitor.storage.ingest import load_cursor
from monitor.storage.tables import Mention
from tests.replay.server import ReplayServer, Reply, Seen, serving

BRAND = Brand(name="Parkeo", keywords=["parkeo"])
APP = "1234567890"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def feed_path(page: int, country: str = "be") -> str:
    return f"/{country}/rss/customerreviews/page={page}/id={APP}/sortby=mostrecent/json"


def review(number: int, hours_ago: float, rating: int = 2) -> dict[str, Any]:
    updated = (NOW - timedelta(hours=hours_ago)).astimezone(UTC).isoformat()
    return {
        "author": {"name": {"label": f"driver{number}"}, "uri": {"label": "https://example"}},
        "updated": {"label": updated},
        "im:rating": {"label": str(rating)},
        "im:version": {"label": "4.2"},
        "id": {"label": str(9000 + number)},
        "title": {"label": f"Review {number}"},
        "content": {"label": f"Fined although I paid, case {number}", "attributes": {}},
    }


def feed(entries: list[dict[str, Any]] | dict[str, Any] | None) -> Reply:
    body: dict[str, Any] = {"author": {"name": {"label": "iTunes Store"}}}
    if entries is not None:
        body["entry"] = entries
    return Reply.json({"feed": body})


def appstore(server: ReplayServer, **options: Any) -> AppStoreCollector:
    url = (
        server.url + "/{country}/rss/customerreviews/page={page}/id={app_id}/sortby=mostrecent/json"
    )
    settings = {"app_id": APP, "countries": ["be"], "feed_url": url, "retry_wait_seconds": 0}
    return AppStoreCollector(BRAND, AppStoreOptions(**{**settings, **options}))


def stored(engine) -> dict[str, Any]:
    with engine.connect() as conn:
        return {r.external_id: r for r in conn.execute(select(Mention))}


def test_app_store_pages_until_an_empty_page_and_keeps_ratings(engine):
    first = [review(i, hours_ago=i) for i in range(50)]
    second = [review(i, hours_ago=i) for i in range(50, 60)]
    with serving() as server:
        server.add("GET", feed_path(1), feed(first))
        server.add("GET", feed_path(2), feed(second))
        server.add("GET", feed_path(3), feed(None))
        assert collect_once(engine, appstore(server, backfill_hours=72), NOW) == 60
    rows = stored(engine)
    assert rows["9003"].rating == 2 and rows["9003"].author == "driver3"
    assert rows["9003"].text == "Review 3\n\nFined although I paid, case 3"
    assert rows["9003"].created_at == NOW - timedelta(hours=3)
    assert rows["9003"].url == f"https://apps.apple.com/be/app/id{APP}?see-all=reviews"


def test_app_store_first_run_reaches_back_backfill_hours_only(engine):
    with serving() as server:
        server.add("GET", feed_path(1), feed([review(i, hours_ago=3 * i) for i in range(50)]))
        assert collect_once(engine, appstore(server, backfill_hours=10), NOW) == 4
        assert len(server.requests_to(feed_path(2))) == 0  # older pages are not even read
    assert sorted(stored(engine)) == ["9000", "9001", "9002", "9003"]


def test_app_store_next_run_reads_only_until_what_it_has(engine):
    with serving() as server:
        server.add(
            "GET",
            feed_path(1),
            feed([review(i, hours_ago=i) for i in range(50)]),
            feed([review(100, hours_ago=-0.1), *[review(i, hours_ago=i) for i in range(49)]]),
        )
        server.add("GET", feed_path(2), feed(None))
        made = appstore(server, lookback_hours=0, backfill_hours=72)
        collect_once(engine, made, NOW)
        assert collect_once(engine, made, NOW + timedelta(minutes=30), force=True) == 1
        assert len(server.requests_to(feed_path(2))) == 1  # the second run stopped on page 1
    with engine.connect() as conn:
        assert load_cursor(conn, made.key)["be"] == {
            "floor": (NOW + timedelta(hours=0.1)).timestamp()
        }


def test_app_store_failure_mid_pagination_resumes_at_the_failed_page(engine):
    with serving() as server:
        server.add("GET", feed_path(1), feed([review(i, hours_ago=i) for i in range(50)]))
        server.add("GET", feed_path(2), Reply(500))
        made = appstore(server, retries=0, backfill_hours=72)
        with pytest.raises(Exception, match="HTTP 500"):
            collect_once(engine, made, NOW)
        assert len(stored(engine)) == 50
        server.routes[("GET", feed_path(2))] = [
            feed([review(i, hours_ago=i) for i in range(50, 55)])
        ]
        server.add("GET", feed_path(3), feed(None))
        assert collect_once(engine, made, NOW + timedelta(minutes=5)) == 5
        second_run = server.seen[2:]
    assert [s.path for s in second_run] == [feed_path(2), feed_path(3)]  # not page 1 again
    assert len(stored(engine)) == 55


def test_app_store_odd_and_broken_feeds(engine):
    with serving() as server:
        server.add(
            "GET",
            feed_path(1),
            feed(review(1, hours_ago=1)),
            feed(None),
            Reply(200, b"<html>maintenance</html>", {"Content-Type": "text/html"}),
        )
        server.add("GET", feed_path(2), feed(None))
        made = appstore(server)
        assert collect_once(engine, made, NOW) == 1  # a single entry comes as an object
        assert collect_once(engine, made, NOW + timedelta(hours=1), force=True) == 0  # empty
        with pytest.raises(Exception, match="not JSON"):
            collect_once(engine, made, NOW + timedelta(hours=2), force=True)
    assert health(engine)[0].last_error.startswith("MalformedResponse: App Store feed")


def play_review(number: int, hours_ago: float, rating: int = 1) -> list[Any]:
    posted = (NOW - timedelta(hours=hours_ago)).timestamp()
    return [
        f"gp:review-{number}",
        [f"Driver {number}", [None, None, None, [None, None, "https://img.example"]]],
        rating,
        None,
        f"App charges twice, case {number}",
        [int(posted), 0],
        number % 5,
        None,
        None,
        None,
        "5.0.1",
    ]


def play_page(reviews: list[list[Any]], token: str | None) -> Reply:
    inner = json.dumps([reviews, [None, token], None])
    return Reply(200, (")]}'\n\n" + json.dumps([["wrb.fr", "oCPfdb", inner, None]])).encode())


PLAY_PATH = "/_/PlayStoreUi/data/batchexecute"


def googleplay(server: ReplayServer, **options: Any) -> GooglePlayCollector:
    settings = {"app_id": "com.parkeo.app", "base_url": server.url, "retry_wait_seconds": 0}
    return GooglePlayCollector(BRAND, GooglePlayOptions(**{**settings, **options}))


def _form(seen: Seen) -> str:
    return parse_qs(seen.body.decode())["f.req"][0]


def test_google_play_pages_with_the_continuation_token(engine):
    with serving() as server:
        server.add(
            "POST",
            PLAY_PATH,
            play_page([play_review(i, i) for i in range(3)], "next-please"),
            play_page([play_review(i, i) for i in range(3, 5)], None),
        )
        made = googleplay(server, page_size=3, languages=["fr"], country="be")
        assert collect_once(engine, made, NOW) == 5
        first, second = server.requests_to(PLAY_PATH)
    assert first.param("hl") == "fr" and first.param("gl") == "be"
    assert "com.parkeo.app" in _form(first) and "next-please" not in _form(first)
    assert "next-please" in _form(second)
    row = stored(engine)["gp:review-2"]
    assert (row.rating, row.language, row.author) == (1, "fr", "Driver 2")
    assert row.created_at == NOW - timedelta(hours=2)
    assert row.url.endswith("id=com.parkeo.app&reviewId=gp:review-2")


def test_google_play_gateway_error_is_a_rate_limit(engine):
    with serving() as server:
        server.add(
            "POST",
            PLAY_PATH,
            Reply(
                200,
                b')]}\'\n\n[["er",null,null,null,null,null,'
                b'"com.google.play.gateway.proto.PlayGatewayError"]]',
            ),
        )
        made = googleplay(server, rate_limit_max_wait_seconds=0)
        assert collect_once(engine, made, datetime.now(UTC)) == 0
    assert health(engine)[0].status == "rate_limited"


def test_google_play_unreadable_response(engine):
    with serving() as server:
        server.add("POST", PLAY_PATH, Reply(200, b"<html>consent</html>"))
        with pytest.raises(Exception, match="unreadable reviews response"):
            collect_once(engine, googleplay(server), NOW)
    assert stored(engine) == {}


def test_importing_google_play_scraper_leaves_https_verification_on():
    assert ssl._create_default_https_context is ssl.create_default_context
