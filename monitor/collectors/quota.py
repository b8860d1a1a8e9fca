"""What a source may still spend: its monthly quota (:class:`Meter`) and this run's requests
(:class:`RequestBudget`).

Apart from the HTTP plumbing because the runner opens and drains them around every run and
stored batch, whatever client library the source speaks through.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import requests

from monitor.collectors.base import QuotaExhausted
from monitor.collectors.units import DailyUnits


def month_of(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m")


def next_month(now: datetime) -> datetime:
    now = now.astimezone(UTC)
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    return datetime(year, month, 1, tzinfo=UTC)


@dataclass
class Meter:
    """Requests and items of the current run, checked against what the month has left.

    The runner opens it with the month's usage so far (shared by every brand of the source) and
    drains it into the usage table with each stored batch.
    """

    request_quota: int | None = None
    item_quota: int | None = None
    units: DailyUnits | None = None  # a daily budget of cost units, for APIs that charge so
    requests: int = 0
    items: int = 0
    _used_requests: int = 0
    _used_items: int = 0
    _resets_at: datetime | None = None

    def open(self, used_requests: int, used_items: int, now: datetime) -> None:
        self.requests = self.items = 0
        self._used_requests, self._used_items = used_requests, used_items
        self._resets_at = next_month(now)

    def before_request(self) -> None:
        """Refuse the request that would go over the monthly quota."""
        used_r = self._used_requests + self.requests
        used_i = self._used_items + self.items
        over = (self.request_quota is not None and used_r >= self.request_quota) or (
            self.item_quota is not None and used_i >= self.item_quota
        )
        if over:
            until = self._resets_at or next_month(datetime.now(UTC))
            raise QuotaExhausted(
                f"monthly quota used up ({used_r} requests, {used_i} items); "
                f"resumes {until:%Y-%m-%d}",
                until,
            )
        self.requests += 1

    def add_items(self, count: int) -> None:
        self.items += count

    def drain(self) -> tuple[int, int]:
        """The counts not yet saved, which now count as used."""
        counts = (self.requests, self.items)
        self._used_requests += self.requests
        self._used_items += self.items
        self.requests = self.items = 0
        return counts


class BudgetSpent(requests.ConnectionError):
    """A run sent as many requests as it may: a network error, tried again next cycle."""


@dataclass
class RequestBudget:
    """Requests one run may send, counted where they leave (the session), whatever the client
    library does between our calls: Mastodon.py once sent ~968 probes in a single run."""

    limit: int
    sent: int = 0
    spent: bool = False

    def open(self) -> None:
        self.sent, self.spent = 0, False

    def take(self, url: str) -> None:
        if self.sent >= self.limit:
            self.spent = True
            raise BudgetSpent(self.error(url))
        self.sent += 1

    def error(self, url: str = "") -> str:
        where = f" (refused: {url.split('?')[0]})" if url else ""
        return f"{self.limit} requests sent this run, as many as max_requests_per_run allows{where}"
