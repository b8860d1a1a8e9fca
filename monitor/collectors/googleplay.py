"""Google Play reviews, newest first, with the request and parsing rules of ``google-play-scraper``.

The library's own ``reviews()`` swallows every error (a failure looks like "no new reviews") and
its transport has no timeout, so the request goes through :class:`RequestsApi` (timeout, retries,
rate limits) while the URL, the request body, the response pattern and the review fields come
from the library. Importing the library turns off HTTPS certificate checks for the whole process
(``ssl._create_default_https_context``); that is undone right after the import.
"""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Iterator
from datetime import datetime
from functools import partial
from typing import Any

from google_play_scraper import Sort
from google_play_scraper.constants.element import ElementSpec, ElementSpecs
from google_play_scraper.constants.regex import Regex
from google_play_scraper.constants.request import PLAY_STORE_BASE_URL, Formats
from pydantic import Field

from monitor.collectors.api import RequestsApi, SourceOptions
from monitor.collectors.base import MalformedResponse, read_each
from monitor.collectors.http import from_epoch
from monitor.collectors.paging import Page, sweep_each
from monitor.config import Brand
from monitor.mentions import Batch, Engagement, MentionIn
from monitor.plugins import SourcePlugin

ssl._create_default_https_context = ssl.create_default_context

SOURCE = "googleplay"
GATEWAY_ERROR = "com.google.play.gateway.proto.PlayGatewayError"
POSTED_AT = ElementSpec(None, [5, 0])


class GooglePlayOptions(SourceOptions):
    app_id: str = Field(pattern=r"^[A-Za-z0-9_.]+$")
    languages: list[str] = Field(default_factory=lambda: ["en"], min_length=1)
    country: str = "us"
    page_size: int = Field(100, gt=0, le=200)
    base_url: str = PLAY_STORE_BASE_URL
    lookback_hours: float = Field(24.0, ge=0)


class PlayGatewayError(Exception):
    """Google's way of saying "too many requests" on this endpoint."""


def parse_reviews(text: str) -> tuple[list[list[Any]], str | None]:
    """Raw review arrays and the next page's token from one batchexecute response."""
    if GATEWAY_ERROR in text:
        raise PlayGatewayError("Google Play refused the request (PlayGatewayError)")
    found = Regex.REVIEWS.findall(text)
    try:
        payload = json.loads(json.loads(found[0])[0][2])
    except (IndexError, TypeError, ValueError) as exc:
        raise MalformedResponse(f"Google Play: unreadable reviews response ({exc!r})") from None
    if not isinstance(payload, list) or not payload:
        return [], None
    token = _token(payload)
    reviews = payload[0] if isinstance(payload[0], list) else []
    return [r for r in reviews if isinstance(r, list)], token


def _token(payload: list[Any]) -> str | None:
    """Where the library finds it: the last item of the second-to-last element."""
    try:
        token = payload[-2][-1]
    except (IndexError, TypeError):
        return None
    return token if isinstance(token, str) and token else None


class GooglePlayCollector(RequestsApi):
    source = SOURCE

    def __init__(self, brand: Brand, options: GooglePlayOptions) -> None:
        super().__init__(brand, options)
        self.options: GooglePlayOptions = options

    def rate_limit_reset(self, exc: BaseException) -> float | None:
        if isinstance(exc, PlayGatewayError):
            return time.time() + 60
        return super().rate_limit_reset(exc)

    def collect(self, cursor: dict[str, Any] | None, now: datetime) -> Iterator[Batch]:
        return sweep_each(
            self.options.languages,
            cursor,
            lambda lang: partial(self._page, lang, now),
            self.options.max_pages,
            self.options.lookback_hours * 3600,
            self.options.backfill_start(now).timestamp(),
        )

    def _page(self, lang: str, now: datetime, token: str | None, floor: float | None) -> Page:
        url = Formats.Reviews.build(lang=lang, country=self.options.country)
        url = self.options.base_url.rstrip("/") + url.removeprefix(PLAY_STORE_BASE_URL)
        body = Formats.Reviews.build_body(
            self.options.app_id, Sort.NEWEST.value, self.options.page_size, "null", "null", token
        )
        headers = {"content-type": "application/x-www-form-urlencoded"}
        reviews, next_token = self.call(
            f"reviews ({lang})", self._reviews, url, data=body, headers=headers
        )
        self.meter.add_items(len(reviews))
        items, rejected = read_each(reviews, lambda r: self._item(r, lang, now))
        return Page(items, next_token, rejected)

    def _reviews(self, url: str, **kwargs: Any) -> tuple[list[list[Any]], str | None]:
        return parse_reviews(self._send("POST", url, **kwargs).text)

    def _item(self, review: list[Any], lang: str, now: datetime) -> tuple[float, MentionIn]:
        fields = {k: spec.extract_content(review) for k, spec in ElementSpecs.Review.items()}
        posted = POSTED_AT.extract_content(review)
        if not fields["reviewId"] or not isinstance(posted, int | float):
            raise MalformedResponse("Google Play: a review without an id or a date")
        app = self.options.app_id
        mention = MentionIn(
            source=SOURCE,
            external_id=str(fields["reviewId"]),
            brand=self.brand,
            text=fields["content"] or "",
            created_at=from_epoch(posted),
            url=f"https://play.google.com/store/apps/details?id={app}&reviewId={fields['reviewId']}",
            author=fields["userName"],
            language=lang,
            rating=fields["score"] if isinstance(fields["score"], int) else None,
            engagement=Engagement(now, likes=fields["thumbsUpCount"]),
        )
        return float(posted), mention


PLUGIN = SourcePlugin(
    name=SOURCE,
    summary="public reviews of the brand's `app_id` (`google-play-scraper`)",
    options=GooglePlayOptions,
    build=lambda brand, options, _: GooglePlayCollector(brand, options),
    requires=("app_id",),
    example="""
interval_seconds: 3600
languages: [fr, nl, en]
country: be
""",
    brand_example="{app_id: com.parkeo.app}",
)
