"""Trustpilot reviews of the brand's business unit, through the public Business Units API (a key).

``GET /v1/business-units/{id}/reviews`` lists reviews newest first (``orderBy=createdat.desc``),
``perPage`` up to 100, with a ``next-page`` link while more remain. Each listing resumes through
:func:`~monitor.collectors.paging.sweep` on the review's creation time; a first run stops at
``backfill_hours``. Stars go to ``rating``, likes to the engagement snapshot, and the company's
public reply (``companyReply``) marks the review answered at the time it was written. The key goes
in the ``apikey`` header, never in a URL that could be logged.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from functools import partial
from typing import Any

from pydantic import Field

from monitor.collectors.api import RequestsApi, SourceOptions
from monitor.collectors.base import MalformedResponse, read_each
from monitor.collectors.credentials import Credentials
from monitor.collectors.http import parse_time
from monitor.collectors.paging import Page, sweep
from monitor.config import Brand
from monitor.mentions import Answer, Batch, Engagement, MentionIn
from monitor.plugins import SourcePlugin

SOURCE = "trustpilot"
REVIEW_URL = "https://www.trustpilot.com/reviews/{}"


class TrustpilotOptions(SourceOptions):
    business_unit_id: str = Field(pattern=r"^[0-9a-f]{24}$")
    api_url: str = "https://api.trustpilot.com/v1"
    page_size: int = Field(100, gt=0, le=100)
    language: str = "all"


class TrustpilotCollector(RequestsApi):
    source = SOURCE

    def __init__(self, brand: Brand, options: TrustpilotOptions, api_key: str) -> None:
        super().__init__(brand, options)
        self.options: TrustpilotOptions = options
        self.session.headers["apikey"] = api_key
        self.url = f"{options.api_url.rstrip('/')}/business-units/{options.business_unit_id}"
        self.replies: dict[str, Answer] = {}

    def collect(self, cursor: dict[str, Any] | None, now: datetime) -> Iterator[Batch]:
        state = cursor or {"floor": now.timestamp() - self.options.backfill_hours * 3600}
        self.replies.clear()
        for batch in sweep(state, partial(self._page, now), self.options.max_pages):
            ids = [m.external_id for m in batch.mentions]
            batch.answers = [self.replies.pop(i) for i in ids if i in self.replies]
            yield batch

    def _page(self, now: datetime, token: str | None, floor: float | None) -> Page:
        page = int(token or 1)
        params = {
            "orderBy": "createdat.desc",
            "perPage": self.options.page_size,
            "page": page,
            "language": self.options.language,
        }
        body = self.fetch(f"reviews page {page}", "GET", f"{self.url}/reviews", params=params)
        payload = body.json()
        reviews = payload.get("reviews") if isinstance(payload, dict) else None
        if not isinstance(reviews, list):
            raise MalformedResponse("Trustpilot: no 'reviews' list in the response")
        self.meter.add_items(len(reviews))
        read, rejected = read_each(reviews, partial(self.read_review, now=now))
        self.replies.update(self._answers(reviews, {m.external_id for _, m in read}))
        more = any(
            isinstance(link, dict) and link.get("rel") == "next-page"
            for link in payload.get("links") or []
        )
        return Page(read, str(page + 1) if more and reviews else None, rejected)

    def read_review(self, review: dict[str, Any], now: datetime) -> tuple[float, MentionIn]:
        """A review of the API (or of a webhook event's ``eventData``, the same shape)."""
        created = parse_time(review["createdAt"])
        stars = int(review["stars"])
        if not 1 <= stars <= 5:
            raise ValueError(f"stars {stars} is not 1 to 5")
        consumer = review.get("consumer") or {}
        title, text = review.get("title") or "", review.get("text") or ""
        mention = MentionIn(
            source=SOURCE,
            external_id=str(review["id"]),
            brand=self.brand,
            text=f"{title}\n\n{text}".strip(),
            created_at=created,
            url=REVIEW_URL.format(review["id"]),
            author=consumer.get("displayName") or consumer.get("name"),
            language=review.get("language"),
            rating=stars,
            engagement=Engagement(now, likes=review.get("numberOfLikes")),
        )
        return created.timestamp(), mention

    @staticmethod
    def _answers(reviews: list[Any], ids: set[str]) -> dict[str, Answer]:
        """The company's replies to the reviews read, by review id."""
        found = {}
        for review in reviews:
            reply = review.get("companyReply") if isinstance(review, dict) else None
            ident = str(review.get("id")) if isinstance(review, dict) else ""
            if ident in ids and isinstance(reply, dict) and reply.get("createdAt"):
                try:
                    answered = parse_time(reply["createdAt"])
                except (TypeError, ValueError):
                    continue  # the review is kept; only its reply time is unreadable
                found[ident] = Answer(SOURCE, ident, answered, REVIEW_URL.format(ident))
        return found


def _build(brand: Brand, options: TrustpilotOptions, creds: Credentials) -> TrustpilotCollector:
    return TrustpilotCollector(brand, options, creds.value("TRUSTPILOT_API_KEY") or "")


PLUGIN = SourcePlugin(
    name=SOURCE,
    summary="reviews of the brand's business unit, with stars and the company's replies "
    "(Business Units API)",
    options=TrustpilotOptions,
    build=_build,
    credentials=("TRUSTPILOT_API_KEY",),
    requires=("business_unit_id",),
    link="https://developers.trustpilot.com/business-units-api-(public)",
    example="""
interval_seconds: 900
""",
    brand_example="{business_unit_id: 5d2b94b915dd0c0001cab136}   # GET /business-units/find",
)
