"""What every API collector shares: options, retries, rate limits, quotas and timeouts.

Each real source subclasses :class:`ApiCollector` and routes every request through
:meth:`ApiCollector.call`, so a transient error (timeout, connection reset, 5xx) is retried with
exponential backoff (tenacity), a rate limit is either waited out (short) or turns into
:class:`~monitor.collectors.base.RateLimited` (long: the scheduler comes back after the reset),
and every request counts against the source's monthly quota.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar, TypeVar

import requests
from pydantic import BaseModel, ConfigDict, Field
from requests.adapters import HTTPAdapter
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from tenacity import wait_exponential as exponential

from monitor.collectors.base import MalformedResponse, QuotaExhausted, RateLimited
from monitor.collectors.units import DailyUnits
from monitor.config import Brand

log = logging.getLogger(__name__)
T = TypeVar("T")
USER_AGENT = "Vigie/0.1 (self-hosted brand monitor)"


class SourceOptions(BaseModel):
    """Options every API source accepts (under ``sources.<name>`` or a brand's ``sources``)."""

    model_config = ConfigDict(extra="forbid")

    timeout_seconds: float = Field(20.0, gt=0)
    retries: int = Field(3, ge=0)
    retry_wait_seconds: float = Field(2.0, ge=0)
    rate_limit_max_wait_seconds: float = Field(30.0, ge=0)
    max_pages: int = Field(10, gt=0)
    backfill_hours: float = Field(24.0, ge=0)
    monthly_request_quota: int | None = Field(None, gt=0)
    monthly_item_quota: int | None = Field(None, gt=0)
    max_requests_per_run: int = Field(300, gt=0)

    def backfill_start(self, now: datetime) -> datetime:
        """How far back a first run reads: nothing older is collected, whatever the source."""
        return now - timedelta(hours=self.backfill_hours)


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


class TimeoutAdapter(HTTPAdapter):
    """``requests`` has no session-wide timeout; client libraries that own the call get one.

    With ``override`` the source's timeout also replaces one the library passes itself (prawcore
    sends a fixed 16 s with every request). With a ``budget`` every request sent counts."""

    def __init__(
        self,
        timeout: float,
        override: bool = False,
        budget: RequestBudget | None = None,
        **kwargs: Any,
    ) -> None:
        self.timeout = timeout
        self.override = override
        self.budget = budget
        super().__init__(**kwargs)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        if self.budget is not None:
            self.budget.take(request.url or "")
        if self.override or kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)


def make_session(
    timeout: float,
    user_agent: str = USER_AGENT,
    override: bool = False,
    budget: RequestBudget | None = None,
) -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = user_agent
    adapter = TimeoutAdapter(timeout, override, budget)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


class HttpError(Exception):
    """A non-success HTTP status from a plain-HTTP source."""

    def __init__(self, response: requests.Response) -> None:
        super().__init__(f"HTTP {response.status_code} {response.reason} from {response.url}")
        self.status = response.status_code
        self.headers = response.headers


def retry_after(headers: Any, default: float = 60.0) -> float:
    """Epoch seconds at which a ``Retry-After`` (seconds or HTTP date) lets us back in."""
    value = headers.get("Retry-After") if headers else None
    if value:
        try:
            return time.time() + float(value)
        except ValueError:
            try:
                return parsedate_to_datetime(value).timestamp()
            except (TypeError, ValueError):
                pass
    return time.time() + default


class ApiCollector:
    """Base of the real sources: one brand, its options, its meter, and a guarded ``call``."""

    source: ClassVar[str]

    def __init__(self, brand: Brand, options: SourceOptions) -> None:
        self.watch = brand
        self.brand = brand.name
        self.key = f"{self.source}:{brand.name}"
        self.options = options
        self.meter = Meter(options.monthly_request_quota, options.monthly_item_quota)
        self.budget = RequestBudget(options.max_requests_per_run)

    def transient(self, exc: BaseException) -> bool:
        """Worth retrying at once (network trouble, server errors); subclasses add their own."""
        if isinstance(exc, HttpError):
            return exc.status >= 500 or exc.status == 408
        return isinstance(exc, requests.ConnectionError | requests.Timeout)

    def rate_limit_reset(self, exc: BaseException) -> float | None:
        """Epoch seconds when a rate limit ends, if ``exc`` is one."""
        if isinstance(exc, HttpError) and exc.status == 429:
            return retry_after(exc.headers)
        return None

    def malformed(self, exc: BaseException) -> bool:
        return isinstance(exc, json.JSONDecodeError)

    def call(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """One API request: metered, retried when transient, rate limits waited out or deferred."""
        waited = False
        while True:
            try:
                return self._retrying(what)(fn, *args, **kwargs)
            except Exception as exc:
                if self.budget.spent:  # whatever the library made of it (even a RecursionError)
                    raise BudgetSpent(f"{what}: {self.budget.error()}") from exc
                if self.malformed(exc):
                    raise MalformedResponse(f"{what}: unreadable response ({exc})") from exc
                reset = self.rate_limit_reset(exc)
                if reset is None:
                    raise
            delay = reset - time.time()
            if waited or delay > self.options.rate_limit_max_wait_seconds:
                until = datetime.fromtimestamp(reset, UTC)
                log.warning(
                    "%s: rate limited on %s until %s; skipping to the next cycle after it",
                    self.key,
                    what,
                    f"{until:%H:%M:%S} UTC",
                )
                raise RateLimited(f"rate limited until {until:%Y-%m-%d %H:%M:%S} UTC", until)
            log.warning(
                "%s: rate limited on %s; waiting %.0f s for the reset", self.key, what, delay
            )
            time.sleep(max(delay, 0.0) + 1.0)
            waited = True

    def _retrying(self, what: str) -> Retrying:
        def before_request(state: RetryCallState) -> None:
            self.meter.before_request()

        def note(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            log.warning("%s: %s failed (%s), retrying", self.key, what, type(exc).__name__)

        return Retrying(
            stop=stop_after_attempt(self.options.retries + 1),
            wait=exponential(multiplier=self.options.retry_wait_seconds, max=60),
            retry=retry_if_exception(lambda exc: not self.budget.spent and self.transient(exc)),
            before=before_request,
            before_sleep=note,
            reraise=True,
        )


class RequestsApi(ApiCollector):
    """A source spoken to with plain ``requests`` (feeds, App Store, Google Play)."""

    def __init__(self, brand: Brand, options: SourceOptions) -> None:
        super().__init__(brand, options)
        self.session = make_session(options.timeout_seconds, budget=self.budget)

    def fetch(self, what: str, method: str, url: str, **kwargs: Any) -> requests.Response:
        """A checked request: 2xx and 304 come back, anything else raises :class:`HttpError`."""
        return self.call(what, self._send, method, url, **kwargs)

    def _send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        response = self.session.request(method, url, **kwargs)
        if response.status_code == 304 or response.ok:
            return response
        raise HttpError(response)


def from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def parse_time(value: str | datetime) -> datetime:
    """An ISO 8601 time (``Z`` or offset; naive means UTC) as aware UTC."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
