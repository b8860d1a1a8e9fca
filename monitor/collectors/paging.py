"""Resumable walks over newest-first result pages, and the list of posts worth re-polling.

Search APIs return the newest results first and page backwards. Saving the newest position after
the first page would lose the older pages if the process died before reaching them, so a sweep
keeps three things in the cursor: the ``floor`` it stops at (the top of the previous complete
sweep), the page ``token`` to resume from, and the ``top`` seen so far in this sweep. Only when a
sweep completes does ``top`` become the new floor. Each page is stored with that state in one
transaction, so a crash or kill at any point resumes at the next unstored page.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from monitor.mentions import Batch, MentionIn, Rejected

log = logging.getLogger(__name__)
Mark = float | int


@dataclass(slots=True)
class Page:
    """Results newest first, each with its position mark, and the token of the next page.

    A result that does not concern the brand comes as ``(mark, None)``: it still tells the sweep
    how far down the listing it has read.
    """

    items: list[tuple[Mark, MentionIn | None]]
    next_token: str | None
    rejected: list[Rejected] = field(default_factory=list)


Fetch = Callable[[str | None, Mark | None], Page]


def sweep(
    state: dict[str, Any] | None,
    fetch: Fetch,
    max_pages: int,
    lookback: float = 0.0,
    start: Mark | None = None,
) -> Iterator[Batch]:
    """Yield each page's new mentions (and items set aside) with the sweep state after them.

    ``fetch(token, floor)`` returns one page (``floor`` lets the API filter server-side). Items
    at or below ``floor - lookback`` end the sweep; ``lookback`` (seconds, for time marks) re-reads
    a margin for services whose search index lags, storage ignoring what it already has. The
    first sweep, with no floor yet, ends at items at or below ``start`` (the source's
    ``backfill_hours``, for time marks). A page
    that points at itself again (a listing whose last page is full) ends it too. After
    ``max_pages`` the token is kept and the next run continues where this one stopped.
    """
    state = state or {}
    floor: Mark | None = state.get("floor")
    token: str | None = state.get("token")
    top: Mark | None = state.get("top")
    for _ in range(max_pages):
        page = fetch(token, floor)
        bound = floor - lookback if floor is not None else start
        fresh = [(m, item) for m, item in page.items if bound is None or m > bound]
        marks = [m for m, _ in page.items]
        if marks:
            top = max(marks) if top is None else max(top, *marks)
        mentions = [item for _, item in fresh if item is not None]
        ended = len(fresh) < len(page.items) or page.next_token in (None, token)
        token = page.next_token
        if ended:
            done = {"floor": top if top is not None else floor}
            yield Batch(mentions, done, rejected=page.rejected)
            return
        yield Batch(mentions, {"floor": floor, "token": token, "top": top}, rejected=page.rejected)
    log.info("sweep stopped after %d pages; the next run continues from there", max_pages)


@dataclass
class Tracked:
    """Recent posts whose engagement is re-polled each run, so spreading can be measured.

    Kept in the cursor (id → creation time, epoch seconds), bounded in age and count.
    """

    hours: float
    limit: int
    posts: dict[str, float] = field(default_factory=dict)

    @classmethod
    def load(cls, raw: dict[str, float] | None, hours: float, limit: int) -> Tracked:
        return cls(hours, limit, dict(raw or {}))

    def add(self, mentions: list[MentionIn], now: datetime) -> None:
        for m in mentions:
            self.posts[m.external_id] = m.created_at.timestamp()
        self.prune(now)

    def prune(self, now: datetime) -> None:
        oldest = now.timestamp() - self.hours * 3600
        recent = sorted(
            ((t, i) for i, t in self.posts.items() if t >= oldest and self.hours > 0),
            reverse=True,
        )
        self.posts = {i: t for t, i in recent[: self.limit]}

    def due(self, skip: set[str]) -> list[str]:
        """Ids to re-poll now: every tracked post not already fetched during this run."""
        return [i for i in self.posts if i not in skip]

    def forget(self, ids: set[str]) -> None:
        for i in ids:
            self.posts.pop(i, None)


def sweep_each(
    keys: list[str],
    cursor: dict[str, Any] | None,
    fetch_for: Callable[[str], Fetch],
    max_pages: int,
    lookback_s: float,
    start: Mark | None = None,
) -> Iterator[Batch]:
    """``sweep`` over several listings (a store per country, per language), one cursor each.

    Each batch carries every listing's position, so a restart resumes each where it stopped.
    """
    state = dict(cursor or {})
    for key in keys:
        for page in sweep(state.get(key), fetch_for(key), max_pages, lookback_s, start):
            state[key] = page.cursor
            yield Batch(page.mentions, dict(state), rejected=page.rejected)


def chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
