"""Google Places: the recorded Place Details bodies served on 127.0.0.1 to the real ``googlemaps``
client."""

from __future__ import annotations

import copy
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from googlemaps import exceptions as gm
from sqlalchemy import select

from monitor.collectors.googleplaces import GooglePlacesCollector, GooglePlacesOptions
from monitor.collectors.health import health
from monitor.collectors.runner import collect_once
from monitor.config import Brand
from monitor.storage.ingest import load_cursor
from monitor.storage.tables import Mention, Quarantined
from tests.replay.server import ReplayServer, Reply, Seen, serving
from tests.support import shared_path

DETAILS = "/maps/api/place/details/json"
BRAND = Brand(name="SacreCoeur", keywords=["sacré-cœur"])
PARIS = "ChIJ442GNENu5kcRGYUrvgqHw88"
SYDNEY = "ChIJN1t_tDeuEmsRUsoyG83frY4"


def recorded(name: str) -> dict[str, Any]:
    path = shared_path("fixtures", "google-places", "google-maps-services-java", name)
    return json.loads(path.read_text(encoding="utf-8"))


def by_place(bodies: dict[str, dict[str, Any]]) -> Any:
    def answer(seen: Seen) -> Reply:
        return Reply.json(bodies[seen.param("placeid")])

    return answer


def collector(server: ReplayServer, **options: Any) -> GooglePlacesCollector:
    settings = {
        "api_url": server.url,
        "place_ids": [PARIS],
        "retry_wait_seconds": 0,
        "backfill_hours": 24 * 365 * 12,
    }
    return GooglePlacesCollector(BRAND, GooglePlacesOptions(**{**settings, **options}), "AIza-t")


def test_ingests_the_recorded_reviews_with_their_stars(engine):
    paris, sydney = recorded("PlacesApiDetailsInFrenchResponse.json"), recorded(
        "PlaceDetailsResponse.json"
    )
    now = datetime(2023, 3, 1, tzinfo=UTC)
    with serving() as server:
        server.add("GET", DETAILS, by_place({PARIS: paris, SYDNEY: sydney}))
        made = collector(server, place_ids=[PARIS, SYDNEY], language="fr")
        assert collect_once(engine, made, now) == 6
        assert collect_once(engine, made, now + timedelta(hours=1)) == 0
        asked = server.requests_to(DETAILS)[0]
    assert asked.param("key") == "AIza-t" and asked.param("language") == "fr"
    assert asked.param("reviews_sort") == "newest"
    assert "reviews" in asked.param("fields").split(",")
    with engine.connect() as conn:
        rows = conn.execute(select(Mention).order_by(Mention.created_at)).all()
        cursor = load_cursor(conn, made.key)
    assert [r.rating for r in rows] == [1, 4, 3, 5, 5, 1]
    first = rows[0]
    assert first.source == "googleplaces" and first.language == "fr"
    assert first.url == "https://maps.google.com/?cid=14970958066519606553"
    assert first.created_at.replace(tzinfo=UTC) == datetime.fromtimestamp(1492510266, UTC)
    assert first.external_id.startswith(f"{PARIS}/https://www.google.com/maps/contrib/")
    assert cursor == {PARIS: 1497783169, SYDNEY: 1675722932}


def test_backfill_is_bounded_and_only_newer_reviews_count_later(engine):
    paris = recorded("PlacesApiDetailsInFrenchResponse.json")
    newest = datetime.fromtimestamp(1497783169, UTC)
    later = copy.deepcopy(paris)
    fresh = {**later["result"]["reviews"][0], "time": 1497783169 + 3600, "rating": 2}
    later["result"]["reviews"].insert(0, fresh)
    with serving() as server:
        server.add("GET", DETAILS, Reply.json(paris), Reply.json(later))
        made = collector(server, backfill_hours=48)
        assert collect_once(engine, made, newest + timedelta(hours=1)) == 2  # within 48 h
        assert collect_once(engine, made, newest + timedelta(hours=2)) == 1
    with engine.connect() as conn:
        ratings = conn.execute(select(Mention.rating).order_by(Mention.created_at)).scalars()
        assert list(ratings) == [5, 5, 2]


def test_survives_a_malformed_item_a_rate_limit_and_a_timeout(engine):
    paris = recorded("PlacesApiDetailsInFrenchResponse.json")
    broken = copy.deepcopy(paris)
    del broken["result"]["reviews"][1]["time"]
    now = datetime(2023, 3, 1, tzinfo=UTC)
    with serving() as server:
        server.add(
            "GET",
            DETAILS,
            Reply.json(broken),
            Reply.json({"error": "slow down"}, 429),
            Reply(200, b"", delay=2.0),
            Reply(200, b"", delay=2.0),
            Reply.json(paris),
        )
        made = collector(server, timeout_seconds=0.5, retries=1, rate_limit_max_wait_seconds=0)
        assert collect_once(engine, made, now) == 4
        with engine.connect() as conn:
            payloads = conn.execute(select(Quarantined.payload)).scalars().all()
        assert [json.loads(p)["rating"] for p in payloads] == [3]
        later = now + timedelta(minutes=5)
        assert collect_once(engine, made, later, force=True) == 0
        state = health(engine)[0]
        assert state.status == "rate_limited"
        assert 0 < state.next_run_at.timestamp() - time.time() < 120
        with pytest.raises(gm.Timeout):
            collect_once(engine, made, later + timedelta(minutes=5), force=True)
        assert health(engine)[0].status == "error"
        # nothing is repeated, and the review set aside stays in the quarantine
        assert collect_once(engine, made, later + timedelta(minutes=10), force=True) == 0
    assert health(engine)[0].status == "ok"


def test_a_place_google_no_longer_knows_is_skipped_not_fatal(engine):
    paris = recorded("PlacesApiDetailsInFrenchResponse.json")
    gone = {"status": "NOT_FOUND", "html_attributions": []}
    with serving() as server:
        server.add("GET", DETAILS, by_place({"gone": gone, PARIS: paris}))
        made = collector(server, place_ids=["gone", PARIS])
        assert collect_once(engine, made, datetime(2023, 3, 1, tzinfo=UTC)) == 5
