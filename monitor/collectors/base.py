"""What every collector returns, and the small interface they share.

A collector turns one poll of a service into a :class:`Batch`: the mentions found, plus the cursor
to resume from. Storage saves both in one transaction, so a crash can neither lose nor repeat.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Engagement:
    """Counts seen at ``observed_at``; ``None`` where the service does not tell."""

    observed_at: datetime
    likes: int | None = None
    reshares: int | None = None
    replies: int | None = None
    views: int | None = None


@dataclass(frozen=True, slots=True)
class MentionIn:
    """A mention as collected, before storage gives it an id."""

    source: str
    external_id: str
    brand: str
    text: str
    created_at: datetime
    url: str | None = None
    author: str | None = None
    author_followers: int | None = None
    language: str | None = None
    rating: int | None = None
    parent_id: str | None = None
    thread_id: str | None = None
    engagement: Engagement | None = None


@dataclass(slots=True)
class Batch:
    """One page of results and the cursor that follows it."""

    mentions: list[MentionIn] = field(default_factory=list)
    cursor: dict[str, Any] | None = None


class Collector(Protocol):
    """A source for one brand. ``key`` names its stored state (cursor and health).

    API sources also carry a ``meter`` (:class:`monitor.collectors.http.Meter`): the runner opens
    it with the month's usage and saves what each stored batch cost, for the monthly quotas.
    """

    source: str
    key: str
    brand: str | None

    def collect(self, cursor: dict[str, Any] | None, now: datetime) -> Iterator[Batch]:
        """Yield batches newer than ``cursor``; each batch is stored before the next is fetched."""
        ...


class Held(Exception):
    """The service asks us to stop until ``until``: the run ends cleanly, nothing is lost.

    Not a failure: the runner keeps the cursor of the batches already stored, does not count
    it towards the error backoff, and the scheduler skips the source until ``until``.
    """

    status = "held"

    def __init__(self, message: str, until: datetime) -> None:
        super().__init__(message)
        self.until = until


class RateLimited(Held):
    status = "rate_limited"


class QuotaExhausted(Held):
    status = "quota"


class MalformedResponse(Exception):
    """The service answered something we cannot read (bad JSON, unexpected shape)."""


@dataclass(slots=True)
class DisabledCollector:
    """Stands in for a source that cannot run (e.g. no credentials), so health can show why."""

    source: str
    brand: str | None
    reason: str

    @property
    def key(self) -> str:
        return f"{self.source}:{self.brand}"

    def collect(self, cursor: dict[str, Any] | None, now: datetime) -> Iterator[Batch]:
        yield from ()
