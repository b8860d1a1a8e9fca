"""HTTP plumbing the sources share: sessions with a timeout and a request budget, HTTP errors,
``Retry-After``, and times as the APIs write them.

Client libraries that own their requests (tweepy, praw, Mastodon.py) get a session from
:func:`make_session`, so every request of every source has the source's timeout and counts.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from monitor.collectors.quota import RequestBudget

USER_AGENT = "Vigie/0.1 (self-hosted brand monitor)"


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


def from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def parse_time(value: str | datetime) -> datetime:
    """An ISO 8601 time (``Z`` or offset; naive means UTC) as aware UTC."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
