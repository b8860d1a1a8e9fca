"""What every collector returns, and the small interface they share.

A collector turns one poll of a service into a :class:`~monitor.mentions.Batch`: the mentions
found, plus the cursor to resume from. Storage saves both in one transaction, so a crash can
neither lose nor repeat.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from monitor.mentions import Batch, Rejected, Stream
from monitor.storage.quarantine import reject

R = TypeVar("R")
T = TypeVar("T")
UNREADABLE = (LookupError, TypeError, ValueError, AttributeError)


class Collector(Stream, Protocol):
    """A source for one brand. ``key`` names its stored state (cursor and health).

    API sources also carry a ``meter`` (:class:`monitor.collectors.quota.Meter`): the runner opens
    it with the month's usage and saves what each stored batch cost, for the monthly quotas; and
    a ``budget`` (:class:`monitor.collectors.quota.RequestBudget`) the runner refills each run.
    """

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


def read_each(raws: Iterable[R], read: Callable[[R], T]) -> tuple[list[T], list[Rejected]]:
    """Read every item of a page on its own: one that cannot be read is set aside with why
    (the runner quarantines it) and costs only itself, never the page or the feed after it."""
    done: list[T] = []
    rejected: list[Rejected] = []
    for raw in raws:
        try:
            done.append(read(raw))
        except (MalformedResponse, *UNREADABLE) as exc:
            rejected.append(reject(raw, exc))
    return done, rejected


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
