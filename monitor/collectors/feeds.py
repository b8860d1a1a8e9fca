"""Any RSS or Atom feed (news, blogs, Google Alerts) through ``feedparser``.

Feeds are fetched with a conditional GET (``ETag`` / ``Last-Modified`` kept in the cursor), so an
unchanged feed costs one empty 304. Items must name the brand unless ``match_brand`` is off (a
feed that is already about the brand, such as a Google Alert). One broken feed does not keep the
others of the same brand from being read; the run still reports it as an error.
"""

from __future__ import annotations

import calendar
import hashlib
import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import feedparser
from pydantic import Field

from monitor.collectors.api import RequestsApi, SourceOptions
from monitor.collectors.base import Held, MalformedResponse
from monitor.collectors.http import from_epoch
from monitor.collectors.markup import html_to_text
from monitor.config import Brand
from monitor.mentions import Batch, MentionIn
from monitor.plugins import SourcePlugin

SOURCE = "feeds"
MAX_ID = 255
log = logging.getLogger(__name__)


class FeedsOptions(SourceOptions):
    urls: list[str] = Field(min_length=1)
    match_brand: bool = True


class FeedErrors(Exception):
    """Some feeds of the run failed; the others were stored."""


def unwrap_link(link: str | None) -> str | None:
    """Google Alerts wraps every link in a google.com redirect; keep the article's own URL."""
    if not link:
        return None
    parts = urlsplit(link)
    if parts.netloc.endswith("google.com") and parts.path == "/url":
        target = parse_qs(parts.query).get("url")
        if target:
            return target[0]
    return link


def _entry_id(entry: Any, url: str | None) -> str:
    raw = entry.get("id") or url or f"{entry.get('title', '')}|{entry.get('published', '')}"
    if len(raw) <= MAX_ID:
        return raw
    return "sha256:" + hashlib.sha256(raw.encode()).hexdigest()


class FeedsCollector(RequestsApi):
    source = SOURCE

    def __init__(self, brand: Brand, options: FeedsOptions) -> None:
        super().__init__(brand, options)
        self.options: FeedsOptions = options

    def collect(self, cursor: dict[str, Any] | None, now: datetime) -> Iterator[Batch]:
        state = dict(cursor or {})
        failed: list[str] = []
        for url in self.options.urls:
            try:
                batch = self._read(url, state, now)
            except Held:
                raise
            except Exception as exc:
                log.warning("%s: feed %s failed: %s", self.key, url, exc)
                failed.append(f"{url}: {type(exc).__name__}: {exc}")
                continue
            if batch is not None:
                yield batch
        if failed:
            raise FeedErrors(
                f"{len(failed)} of {len(self.options.urls)} feeds failed; " + failed[0]
            )

    def _read(self, url: str, state: dict[str, Any], now: datetime) -> Batch | None:
        """One feed, or None when unchanged since the last read."""
        seen = state.get(url) or {}
        headers = {}
        if seen.get("etag"):
            headers["If-None-Match"] = seen["etag"]
        if seen.get("modified"):
            headers["If-Modified-Since"] = seen["modified"]
        response = self.fetch(f"feed {url}", "GET", url, headers=headers)
        if response.status_code == 304:
            return None
        parsed = feedparser.parse(
            response.content,
            response_headers={k.lower(): v for k, v in response.headers.items()},
        )
        if not parsed.version and not parsed.entries:
            reason = parsed.get("bozo_exception") or "no RSS or Atom content"
            raise MalformedResponse(f"not a feed ({reason})")
        self.meter.add_items(len(parsed.entries))
        language = (parsed.feed.get("language") or "").split("-")[0].lower()[:8] or None
        mentions = [m for e in parsed.entries if (m := self._mention(e, language, now))]
        if url not in state:  # a feed read for the first time: its last backfill_hours only
            since = self.options.backfill_start(now)
            mentions = [m for m in mentions if m.created_at >= since]
        state[url] = {
            "etag": response.headers.get("ETag"),
            "modified": response.headers.get("Last-Modified"),
        }
        return Batch(mentions, dict(state))

    def _mention(self, entry: Any, language: str | None, now: datetime) -> MentionIn | None:
        title = html_to_text(entry.get("title"))
        summary = html_to_text(entry.get("summary"))
        text = f"{title}\n\n{summary}".strip()
        if self.options.match_brand and not self.watch.matches(text):
            return None
        low = text.casefold()
        if any(x.casefold() in low for x in self.watch.exclusions):
            return None
        stamp = entry.get("published_parsed") or entry.get("updated_parsed")
        link = unwrap_link(entry.get("link"))
        return MentionIn(
            source=SOURCE,
            external_id=_entry_id(entry, link),
            brand=self.brand,
            text=text,
            created_at=from_epoch(calendar.timegm(stamp)) if stamp else now,
            url=link,
            author=entry.get("author"),
            language=language,
        )


PLUGIN = SourcePlugin(
    name=SOURCE,
    summary="any RSS/Atom feed in the brand's `urls` (news, blogs, Google Alerts)",
    options=FeedsOptions,
    build=lambda brand, options, _: FeedsCollector(brand, options),
    requires=("urls",),
    example="""
interval_seconds: 900
""",
    brand_example='{urls: ["https://www.google.com/alerts/feeds/000/111"], match_brand: false}',
)
