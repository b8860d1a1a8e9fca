"""App Store reviews from Apple's public customer-reviews feed (JSON), per app and country.

The feed lists the most recent reviews first, 50 a page, up to 10 pages; there is no key and no
documented rate limit, so requests go through the same retries as the APIs. Ratings (1 to 5) are
kept. Reviews show up in the feed with some delay, hence the ``lookback_hours`` re-read margin.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from functools import partial
from typing import Any

from pydantic import Field, field_validator

from monitor.collectors.api import RequestsApi, SourceOptions
from monitor.collectors.base import MalformedResponse, read_each
from monitor.collectors.http import HttpError, parse_time
from monitor.collectors.paging import Page, sweep_each
from monitor.config import Brand
from monitor.mentions import Batch, MentionIn
from monitor.plugins import SourcePlugin

SOURCE = "appstore"
FEED_URL = (
    "https://itunes.apple.com/{country}/rss/customerreviews/page={page}/id={app_id}"
    "/sortby=mostrecent/json"
)
LAST_PAGE = 10


class AppStoreOptions(SourceOptions):
    app_id: str = Field(pattern=r"^\d+$")
    countries: list[str] = Field(default_factory=lambda: ["us"], min_length=1)
    feed_url: str = FEED_URL
    lookback_hours: float = Field(24.0, ge=0)
    max_pages: int = Field(LAST_PAGE, gt=0, le=LAST_PAGE)

    @field_validator("feed_url")
    @classmethod
    def _placeholders(cls, value: str) -> str:
        missing = [p for p in ("{country}", "{page}", "{app_id}") if p not in value]
        if missing:
            raise ValueError(f"feed_url lacks {', '.join(missing)}")
        return value

    @field_validator("countries")
    @classmethod
    def _codes(cls, value: list[str]) -> list[str]:
        return [c.strip().lower() for c in value]


def _label(entry: dict[str, Any], key: str) -> str | None:
    value = entry.get(key)
    return value.get("label") if isinstance(value, dict) else None


def reviews_of(payload: Any) -> list[Any]:
    """The review entries of one feed page (the app's own entry, which names it, is not one)."""
    feed = payload.get("feed") if isinstance(payload, dict) else None
    if not isinstance(feed, dict):
        raise MalformedResponse("App Store feed: no 'feed' object in the response")
    entries = feed.get("entry", [])
    entries = [entries] if isinstance(entries, dict) else entries
    if not isinstance(entries, list):
        raise MalformedResponse("App Store feed: 'entry' is neither a list nor an object")
    return [e for e in entries if not (isinstance(e, dict) and "im:name" in e)]


class AppStoreCollector(RequestsApi):
    source = SOURCE

    def __init__(self, brand: Brand, options: AppStoreOptions) -> None:
        super().__init__(brand, options)
        self.options: AppStoreOptions = options

    def collect(self, cursor: dict[str, Any] | None, now: datetime) -> Iterator[Batch]:
        return sweep_each(
            self.options.countries,
            cursor,
            lambda country: partial(self._page, country, now),
            self.options.max_pages,
            self.options.lookback_hours * 3600,
            self.options.backfill_start(now).timestamp(),
        )

    def _page(self, country: str, now: datetime, token: str | None, floor: float | None) -> Page:
        page = int(token or 1)
        url = self.options.feed_url.format(country=country, page=page, app_id=self.options.app_id)
        try:
            response = self.fetch(f"reviews page {page} ({country})", "GET", url)
        except HttpError as exc:
            if exc.status == 404 and page > 1:  # past the feed's last page: the listing ends
                return Page([], None)
            raise
        try:
            payload = json.loads(response.content)
        except ValueError as exc:
            raise MalformedResponse(f"App Store feed: not JSON ({exc})") from None
        reviews = reviews_of(payload)
        self.meter.add_items(len(reviews))
        items, rejected = read_each(reviews, partial(self._item, country=country))
        more = bool(reviews) and page < LAST_PAGE
        return Page(items, str(page + 1) if more else None, rejected)

    def _item(self, entry: dict[str, Any], country: str) -> tuple[float, MentionIn]:
        return review_mention(entry, self.brand, self.options.app_id, country)


def review_mention(
    entry: dict[str, Any], brand: str, app_id: str, country: str
) -> tuple[float, MentionIn]:
    """One feed entry as a mention (the collector's and the backtest's reading of a review)."""
    review_id = _label(entry, "id")
    if not review_id:
        raise MalformedResponse("App Store feed: a review without an id")
    try:
        created = parse_time(_label(entry, "updated") or "")
    except ValueError:
        raise MalformedResponse("App Store feed: a review without a time ('updated')") from None
    try:
        rating = int(_label(entry, "im:rating") or "")
    except ValueError:
        raise MalformedResponse("App Store feed: a review without a rating") from None
    author = entry.get("author") if isinstance(entry.get("author"), dict) else {}
    title, body = _label(entry, "title") or "", _label(entry, "content") or ""
    mention = MentionIn(
        source=SOURCE,
        external_id=review_id,
        brand=brand,
        text=f"{title}\n\n{body}".strip(),
        created_at=created,
        url=f"https://apps.apple.com/{country}/app/id{app_id}?see-all=reviews",
        author=_label(author, "name"),
        rating=rating,
    )
    return created.timestamp(), mention


PLUGIN = SourcePlugin(
    name=SOURCE,
    summary="the public customer-reviews feed of the brand's `app_id`",
    options=AppStoreOptions,
    build=lambda brand, options, _: AppStoreCollector(brand, options),
    requires=("app_id",),
    example="""
interval_seconds: 3600
countries: [be, fr, nl]
""",
    brand_example='{app_id: "1234567890"}',
)
