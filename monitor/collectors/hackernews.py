"""Hacker News through its Algolia search API (public, no key), with plain ``requests``.

Per run: ``search_by_date`` for each of the brand's keywords over stories and comments (newest
first), the comments written by the brand's own HN ``accounts`` (their replies mark the comment
they answer as answered, and are not mentions), then fresh points and comment counts of the
stories collected recently (``tags=story,(story_1,…)``, 100 per request). Each listing resumes
through :func:`~monitor.collectors.paging.sweep` on ``created_at_i``, and the server filters out
what is older than the floor (``numericFilters``), bounded by ``backfill_hours`` on the first run.
An item that cannot be read is quarantined; the rest of its page is stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from functools import partial
from typing import Any

from pydantic import Field

from monitor.collectors.api import RequestsApi, SourceOptions
from monitor.collectors.base import MalformedResponse, read_each
from monitor.collectors.http import from_epoch
from monitor.collectors.markup import html_to_text
from monitor.collectors.paging import Page, Tracked, chunks, sweep
from monitor.config import Brand, ConfigError
from monitor.mentions import Answer, Batch, Engagement, MentionIn
from monitor.plugins import SourcePlugin

SOURCE = "hackernews"
PAGE = 100
ITEM_URL = "https://news.ycombinator.com/item?id={}"


class HackerNewsOptions(SourceOptions):
    api_url: str = "https://hn.algolia.com/api/v1"
    queries: list[str] | None = None
    accounts: list[str] = Field(default_factory=list)
    lookback_minutes: float = Field(10.0, ge=0, le=24 * 60)
    track_hours: float = Field(24.0, ge=0, le=10**6)
    track_max: int = Field(300, ge=0, le=100_000)


def default_queries(brand: Brand) -> list[str]:
    queries = [k.strip() for k in brand.keywords]
    if not queries:
        raise ConfigError(f"brands.{brand.name}: hackernews needs keywords (or queries)")
    return queries


class HackerNewsCollector(RequestsApi):
    source = SOURCE

    def __init__(self, brand: Brand, options: HackerNewsOptions) -> None:
        super().__init__(brand, options)
        self.options: HackerNewsOptions = options
        self.queries = options.queries or default_queries(brand)
        self.accounts = {a.casefold() for a in options.accounts}
        self.api = options.api_url.rstrip("/")

    def collect(self, cursor: dict[str, Any] | None, now: datetime) -> Iterator[Batch]:
        state = dict(cursor or {})
        tracked = Tracked.load(
            state.get("tracked"), self.options.track_hours, self.options.track_max
        )
        seen: set[str] = set()
        lookback = self.options.lookback_minutes * 60
        for name, fetch, answers in self._streams(now):
            for swept in sweep(state.get(name), fetch, self.options.max_pages, lookback):
                state[name], page = swept.cursor, swept.mentions
                mentions = [] if answers else page
                tracked.add([m for m in mentions if m.parent_id is None], now)
                seen.update(m.external_id for m in mentions)
                batch = Batch(mentions, {**state, "tracked": dict(tracked.posts)})
                batch.answers = self._answers(page) if answers else []
                batch.rejected = swept.rejected
                yield batch
        yield from self._refresh(state, tracked, seen, now)

    def _streams(self, now: datetime) -> list[tuple[str, Callable[..., Page], bool]]:
        streams = []
        for query in self.queries:
            params = {"query": query, "tags": "(story,comment)"}
            streams.append((f"search:{query}", partial(self._page, params, True, now), False))
        for account in sorted(self.accounts):
            params = {"tags": f"comment,author_{account}"}
            streams.append((f"by:{account}", partial(self._page, params, False, now), True))
        return streams

    def _page(
        self,
        params: dict[str, str],
        must_match: bool,
        now: datetime,
        token: str | None,
        floor: float | None,
    ) -> Page:
        """One page of ``search_by_date``; Algolia pages by number, newest first."""
        since = (
            floor - self.options.lookback_minutes * 60
            if floor is not None
            else now.timestamp() - self.options.backfill_hours * 3600
        )
        page = int(token or 0)
        query = {
            **params,
            "hitsPerPage": PAGE,
            "page": page,
            "numericFilters": f"created_at_i>{int(since)}",
        }
        body = self._search("search_by_date", query)
        read, rejected = read_each(body["hits"], partial(self._read, now=now))
        items = [(mark, m if not must_match or self._wanted(m) else None) for mark, m in read]
        more = page + 1 < int(body.get("nbPages") or 0)
        return Page(items, str(page + 1) if more else None, rejected)

    def _search(self, endpoint: str, params: dict[str, Any]) -> dict[str, Any]:
        what = f"{endpoint} {params.get('query') or params.get('tags')!r}"
        body = self.fetch(what, "GET", f"{self.api}/{endpoint}", params=params).json()
        if not isinstance(body, dict) or not isinstance(body.get("hits"), list):
            raise MalformedResponse(f"{what}: no hits in the response")
        self.meter.add_items(len(body["hits"]))
        return body

    def _wanted(self, mention: MentionIn) -> bool:
        if mention.author and mention.author.casefold() in self.accounts:
            return False
        return self.watch.matches(f"{mention.text}\n{mention.url or ''}")

    def _read(self, hit: Any, now: datetime) -> tuple[int, MentionIn]:
        return int(hit["created_at_i"]), self._mention(hit, now)

    def _mention(self, hit: dict[str, Any], now: datetime) -> MentionIn:
        ident = str(hit["objectID"])
        tags = hit.get("_tags") or []
        if "comment" in tags:
            text = html_to_text(hit["comment_text"])
            parent, thread = str(hit["parent_id"]), str(hit["story_id"])
            counts = Engagement(now, likes=hit.get("points"))
        else:
            title = hit.get("title") or ""
            text = f"{title}\n\n{html_to_text(hit.get('story_text'))}".strip()
            parent, thread = None, ident
            counts = Engagement(now, likes=hit.get("points"), replies=hit.get("num_comments"))
        if not text:
            raise ValueError("no text")
        return MentionIn(
            source=SOURCE,
            external_id=ident,
            brand=self.brand,
            text=text,
            created_at=from_epoch(int(hit["created_at_i"])),
            url=ITEM_URL.format(ident),
            author=hit.get("author"),
            parent_id=parent,
            thread_id=thread,
            engagement=counts,
        )

    def _answers(self, replies: list[MentionIn]) -> list[Answer]:
        return [Answer(SOURCE, m.parent_id, m.created_at, m.url) for m in replies if m.parent_id]

    def _refresh(
        self, state: dict[str, Any], tracked: Tracked, seen: set[str], now: datetime
    ) -> Iterator[Batch]:
        """Fresh points and comment counts of recent stories; deleted ones stop being tracked."""
        for ids in chunks(tracked.due(seen), PAGE):
            tags = "story,(" + ",".join(f"story_{i}" for i in ids) + ")"
            body = self._search("search", {"tags": tags, "hitsPerPage": PAGE})
            read, rejected = read_each(body["hits"], partial(self._read, now=now))
            mentions = [m for _, m in read]
            tracked.forget(set(ids) - {m.external_id for m in mentions})
            yield Batch(mentions, {**state, "tracked": dict(tracked.posts)}, rejected=rejected)


PLUGIN = SourcePlugin(
    name=SOURCE,
    summary="stories and comments that name the brand, through Algolia's HN search",
    options=HackerNewsOptions,
    build=lambda brand, options, _: HackerNewsCollector(brand, options),
    link="https://hn.algolia.com/api",
    example="""
interval_seconds: 600
""",
    brand_example="{accounts: [parkeo_support]}   # the brand's own HN accounts",
)
