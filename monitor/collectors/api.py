"""What every API collector shares: options, retries, rate limits and quotas.

Each real source subclasses :class:`ApiCollector` and routes every request through
:meth:`ApiCollector.call`, so a transient error (timeout, connection reset, 5xx) is retried with
exponential backoff (tenacity), a rate limit is either waited out (short) or turns into
:class:`~monitor.collectors.base.RateLimited` (long: the scheduler comes back after the reset),
and every request counts against the source's quotas (:mod:`monitor.collectors.quota`).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, TypeVar

import requests
from pydantic import BaseModel, ConfigDict, Field
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from tenacity import wait_exponential as exponential

from monitor.collectors.base import MalformedResponse, RateLimited
from monitor.collectors.http import HttpError, make_session, retry_after
from monitor.collectors.quota import BudgetSpent, Meter, RequestBudget
from monitor.config import Brand

log = logging.getLogger(__name__)
T = TypeVar("T")


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
