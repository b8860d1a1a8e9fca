"""Google reviews of the brand's places (offices, shops) through ``googlemaps`` (Place Details).

Place Details answers at most five reviews per place; asked for the newest first
(``reviews_sort="newest"``), a run every hour or so sees every new one of a place that gets fewer
than five reviews between runs. The cursor keeps, per place, the time of the newest review stored
(a first run reaches back ``backfill_hours`` at most), and each place's reviews are stored with
it. Stars go to ``rating``. Google's review has no id: a review is its place, its author's
profile and its time, so an edited review (a new time) is a new mention. Place Details does not
return the owner's replies; answers are marked on the dashboard.

Every request is billed by Google: ``monthly_request_quota`` stops before the cap. The library's
own retries are cut short (``retry_timeout``), so timeouts and 5xx go through the shared retries;
``OVER_QUERY_LIMIT`` and HTTP 429 hold the source.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import googlemaps
from googlemaps import exceptions as gm
from pydantic import Field

from monitor.collectors.api import ApiCollector, SourceOptions
from monitor.collectors.base import MalformedResponse, read_each
from monitor.collectors.credentials import Credentials
from monitor.collectors.http import from_epoch, make_session
from monitor.config import Brand
from monitor.mentions import Batch, MentionIn
from monitor.plugins import SourcePlugin

SOURCE = "googleplaces"
FIELDS = ["place_id", "name", "url", "rating", "user_ratings_total", "reviews"]
RATE_LIMIT_HOLD_S = 60.0
log = logging.getLogger(__name__)


class GooglePlacesOptions(SourceOptions):
    place_ids: list[str] = Field(min_length=1)
    language: str | None = None
    api_url: str = "https://maps.googleapis.com"
    queries_per_second: int = Field(10, gt=0, le=1000)


class GooglePlacesCollector(ApiCollector):
    source = SOURCE

    def __init__(self, brand: Brand, options: GooglePlacesOptions, api_key: str) -> None:
        super().__init__(brand, options)
        self.options: GooglePlacesOptions = options
        self.client = googlemaps.Client(
            key=api_key,
            timeout=options.timeout_seconds,
            retry_timeout=1,
            retry_over_query_limit=False,
            queries_per_second=options.queries_per_second,
            requests_session=make_session(options.timeout_seconds),
            base_url=options.api_url.rstrip("/"),
        )

    def transient(self, exc: BaseException) -> bool:
        if isinstance(exc, gm.HTTPError):
            return exc.status_code >= 500 or exc.status_code == 408
        return isinstance(exc, gm.Timeout | gm.TransportError)

    def rate_limit_reset(self, exc: BaseException) -> float | None:
        limited = isinstance(exc, gm.HTTPError) and exc.status_code == 429
        limited |= isinstance(exc, gm.ApiError) and exc.status == "OVER_QUERY_LIMIT"
        return time.time() + RATE_LIMIT_HOLD_S if limited else None

    def malformed(self, exc: BaseException) -> bool:
        return isinstance(exc, ValueError) and not isinstance(exc, gm.ApiError)

    def collect(self, cursor: dict[str, Any] | None, now: datetime) -> Iterator[Batch]:
        state = dict(cursor or {})
        for place_id in self.options.place_ids:
            place = self._details(place_id)
            if place is None:
                continue
            floor = state.get(place_id, now.timestamp() - self.options.backfill_hours * 3600)
            reviews = place.get("reviews") or []
            if not isinstance(reviews, list):
                raise MalformedResponse(f"place {place_id}: 'reviews' is not a list")
            read, rejected = read_each(reviews, lambda r, p=place: self._read(p, r))
            self.meter.add_items(len(reviews))
            fresh = [m for mark, m in read if mark > floor]
            state[place_id] = max([floor, *(mark for mark, _ in read)])
            yield Batch(fresh, dict(state), rejected=rejected)

    def _details(self, place_id: str) -> dict[str, Any] | None:
        """The place's details, or None (logged) for a place Google no longer knows."""
        try:
            body = self.call(
                f"details of {place_id}",
                self.client.place,
                place_id,
                fields=FIELDS,
                language=self.options.language,
                reviews_sort="newest",
                reviews_no_translations=True,
            )
        except gm.ApiError as exc:
            if exc.status not in ("NOT_FOUND", "INVALID_REQUEST"):
                raise
            log.warning("%s: place %s skipped: %s", self.key, place_id, exc.status)
            return None
        result = body.get("result") if isinstance(body, dict) else None
        if not isinstance(result, dict):
            raise MalformedResponse(f"place {place_id}: no 'result' in the response")
        return result

    def _read(self, place: dict[str, Any], review: dict[str, Any]) -> tuple[float, MentionIn]:
        created = float(review["time"])
        rating = int(review["rating"])
        if not 1 <= rating <= 5:
            raise ValueError(f"rating {rating} is not 1 to 5")
        author = review.get("author_url") or review.get("author_name") or "anonymous"
        mention = MentionIn(
            source=SOURCE,
            external_id=f"{place['place_id']}/{author}/{int(created)}",
            brand=self.brand,
            text=str(review.get("text") or "").strip(),
            created_at=from_epoch(created),
            url=place.get("url"),
            author=review.get("author_name"),
            language=review.get("original_language") or review.get("language"),
            rating=rating,
        )
        return created, mention


def _build(brand: Brand, options: GooglePlacesOptions, creds: Credentials) -> ApiCollector:
    return GooglePlacesCollector(brand, options, creds.value("GOOGLE_PLACES_API_KEY") or "")


PLUGIN = SourcePlugin(
    name=SOURCE,
    summary="Google reviews of the brand's places (offices, shops), with stars (`googlemaps`)",
    options=GooglePlacesOptions,
    build=_build,
    credentials=("GOOGLE_PLACES_API_KEY",),
    requires=("place_ids",),
    link="https://developers.google.com/maps/documentation/places/web-service/details",
    example="""
interval_seconds: 3600      # Place Details gives the 5 newest reviews: poll often enough
monthly_request_quota: 5000 # each call is billed
language: fr
""",
    brand_example="{place_ids: [ChIJ442GNENu5kcRGYUrvgqHw88]}   # from Google's Place ID finder",
)
