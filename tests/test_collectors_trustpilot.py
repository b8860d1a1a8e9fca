"""Trustpilot: recorded reviews served over plain HTTP on 127.0.0.1 as the Business Units API.

The recordings (../shared/data/fixtures/trustpilot/SOURCE.md) are a public review page's 20
reviews (web-page field names) and a webhook event whose ``eventData`` has the API's shape. The
page's reviews are served under the API's field names (``rating`` → ``stars``, publication date
→ ``createdAt``, ``likes`` → ``numberOfLikes``, ``reply`` → ``companyReply``): the values are the
recorded ones.
"""

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
from monitor.collectors.http import parse_time
from monitor.collectors.runner import collect_once
from monitor.collectors.trustpilot import TrustpilotCollector, TrustpilotOptions
from monitor.config import Brand
from monitor.storage.ingest import load_cursor
from monitor.storage.tables import EngagementSnapshot, Mention, Quarantined, Response
from tests.replay.server import ReplayServer, Reply, Seen, serving
from tests.support import shared_path

UNIT = "5d2b94b915dd0c0001cab136"
REVIEWS = f"/v1/business-units/{UNIT}/reviews"
BRAND = Brand(name="FreeNow", keywords=["free now"])


def api_review(page_review: dict[str, Any]) -> dict[str, Any]:
    reply = page_review.get("reply")
    return {
        "id": page_review["id"],
        "stars": page_review["rating"],
        "title": page_review["title"],
        "text": page_review["text"],
        "language": page_review["language"],
        "createdAt": page_review["dates"]["publishedDate"],
        "numberOfLikes": page_review["likes"],
        "consumer": {
            "id": page_review["consumer"]["id"],
            "displayName": page_review["consumer"]["displayName"],
        },
        "companyReply": (
            {"text": reply["message"], "createdAt": reply["publishedDate"]} if reply else None
        ),
    }


def recorded() -> list[dict[str, Any]]:
    path = shared_path(
        "fixtures",
        "trustpilot",
        "airbyte-source-trustpilot",
        "free-now.com_next_data_pageProps.TRANSCRIBED.json",
    )
    return [api_review(r) for r in json.loads(path.read_text(encoding="utf-8"))["reviews"]]


def webhook_review() -> dict[str, Any]:
    path = shared_path(
        "fixtures", "trustpilot", "lindar-open-trustpilot-client", "trustpilot-review-events.json"
    )
    return json.loads(path.read_text(encoding="utf-8"))["events"][0]["eventData"]


def pages(reviews: list[dict[str, Any]], size: int) -> Any:
    ordered = sorted(reviews, key=lambda r: r["createdAt"], reverse=True)

    def answer(seen: Seen) -> Reply:
        number = int(seen.param("page") or 1)
        chunk = ordered[(number - 1) * size : number * size]
        links = [{"rel": "next-page", "href": "…"}] if number * size < len(ordered) else []
        return Reply.json({"reviews": chunk, "links": links})

    return answer


def collector(server: ReplayServer, **options: Any) -> TrustpilotCollector:
    settings = {
        "business_unit_id": UNIT,
        "api_url": server.url + "/v1",
        "retry_wait_seconds": 0,
        "page_size": 8,
    }
    return TrustpilotCollector(BRAND, TrustpilotOptions(**{**settings, **options}), "tp-key")


def test_ingests_the_recorded_reviews_with_stars_likes_and_the_companys_replies(engine):
    reviews = recorded()
    replied = reviews[3]
    replied["companyReply"] = {"text": "Sorry", "createdAt": "2022-10-14T18:00:00.000Z"}
    newest = max(parse_time(r["createdAt"]) for r in reviews)
    now = newest + timedelta(hours=1)
    with serving() as server:
        server.add("GET", REVIEWS, pages(reviews, 8))
        made = collector(server, backfill_hours=24 * 30)
        assert collect_once(engine, made, now) == 20
        assert collect_once(engine, made, now + timedelta(minutes=15)) == 0
        asked = server.requests_to(REVIEWS)
    assert [s.param("page") for s in asked] == ["1", "2", "3", "1"]
    assert asked[0].headers["apikey"] == "tp-key" and "apikey" not in asked[0].query
    assert asked[0].param("orderBy") == "createdat.desc"
    with engine.connect() as conn:
        rows = {r.external_id: r for r in conn.execute(select(Mention))}
        likes = conn.execute(select(EngagementSnapshot.likes)).scalars().all()
        answered = conn.execute(
            select(Mention.external_id, Response.answered_at).join(
                Response, Response.mention_id == Mention.id
            )
        ).all()
        cursor = load_cursor(conn, made.key)
    first = rows["63497c66377e522e314f2434"]
    assert first.rating == 1 and first.author == "Beatriz Martin" and first.language == "en"
    assert first.text.startswith("Waste of time\n\n-Got an offer for 50% off.")
    assert first.url == "https://www.trustpilot.com/reviews/63497c66377e522e314f2434"
    assert sorted({r.rating for r in rows.values()}) == sorted({r["stars"] for r in reviews})
    assert len(likes) == 20
    assert [(i, a.replace(tzinfo=UTC)) for i, a in answered] == [
        (replied["id"], datetime(2022, 10, 14, 18, 0, tzinfo=UTC))
    ]
    assert cursor == {"floor": newest.timestamp()}


def test_a_webhook_events_review_reads_as_an_api_review():
    made = TrustpilotCollector(BRAND, TrustpilotOptions(business_unit_id=UNIT), "k")
    now = datetime(2022, 7, 9, tzinfo=UTC)
    mark, mention = made.read_review(webhook_review(), now)
    assert mention.rating == 4 and mention.author == "pantelakis georgiou"
    assert mention.external_id == "62c8968be77911f2449e9f74"
    assert mark == datetime(2022, 7, 8, 22, 41, 48, tzinfo=UTC).timestamp()


def test_the_first_run_reads_back_backfill_hours_only(engine):
    reviews = recorded()
    newest = max(parse_time(r["createdAt"]) for r in reviews)
    within = [r for r in reviews if parse_time(r["createdAt"]) > newest - timedelta(hours=6)]
    with serving() as server:
        server.add("GET", REVIEWS, pages(reviews, 8))
        made = collector(server, backfill_hours=6)
        assert collect_once(engine, made, newest) == len(within) < 20


def test_survives_a_malformed_item_a_rate_limit_and_a_timeout(engine):
    reviews = recorded()[:5]
    broken = copy.deepcopy(reviews)
    broken[2]["stars"] = "five"
    now = max(parse_time(r["createdAt"]) for r in reviews) + timedelta(hours=1)
    reset = int(time.time()) + 900
    with serving() as server:
        server.add(
            "GET",
            REVIEWS,
            pages(broken, 8),
            Reply.json({"message": "Too many requests"}, 429, **{"Retry-After": "900"}),
            Reply(200, b"", delay=2.0),
            Reply(200, b"", delay=2.0),
            pages(reviews, 8),
        )
        made = collector(server, timeout_seconds=0.5, retries=1, backfill_hours=24 * 30)
        assert collect_once(engine, made, now) == 4
        with engine.connect() as conn:
            payloads = conn.execute(select(Quarantined.payload)).scalars().all()
        assert [json.loads(p)["stars"] for p in payloads] == ["five"]
        assert collect_once(engine, made, now + timedelta(minutes=5), force=True) == 0
        state = health(engine)[0]
        assert state.status == "rate_limited"
        assert abs(state.next_run_at.timestamp() - reset) < 5
        with pytest.raises(requests.Timeout):
            collect_once(engine, made, now + timedelta(minutes=20), force=True)
        assert health(engine)[0].status == "error"
        assert collect_once(engine, made, now + timedelta(minutes=30), force=True) == 0
    assert health(engine)[0].status == "ok"
