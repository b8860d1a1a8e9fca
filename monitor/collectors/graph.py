"""What the Facebook and Instagram sources share: the Graph API through ``python-facebook-api``.

Meta meters a Page's or an app's calls over a rolling hour and reports the share used in every
answer (``X-App-Usage``, ``X-Business-Use-Case-Usage``); going over blocks the token for a while.
So the source reads those headers after each call and, once one passes ``usage_limit_percent``,
stops before the next call and holds until the time Meta estimates (or ``usage_hold_minutes``).
Graph's own rate-limit errors (codes 4, 17, 32, 613, 80001…) and HTTP 429 hold it the same way;
its transient errors (``is_transient``, codes 1 and 2), timeouts and 5xx are retried.

Listings are walked with :func:`~monitor.collectors.paging.sweep` (newest first, ``after``
cursors); ``comments`` keeps, per post, the ``after`` cursor past the last comment read, so each
run asks only for the comments written since.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar

import requests
from pydantic import Field
from pyfacebook import GraphAPI
from pyfacebook.exceptions import FacebookError, LibraryError
from pyfacebook.ratelimit import RateLimit

from monitor.collectors.api import ApiCollector, SourceOptions
from monitor.collectors.base import MalformedResponse, RateLimited, read_each
from monitor.collectors.http import make_session, parse_time
from monitor.collectors.paging import Mark, Page
from monitor.config import Brand

T = TypeVar("T")
RATE_LIMIT_CODES = {4, 17, 32, 613, 80001, 80002, 80005, 80006}
TRANSIENT_CODES = {1, 2}


class GraphOptions(SourceOptions):
    api_url: str = GraphAPI.GRAPH_URL
    version: str = Field("v21.0", pattern=r"^v\d+\.\d+$")
    page_size: int = Field(50, gt=0, le=100)
    post_hours: float = Field(72.0, ge=0, le=24 * 366)
    posts_max: int = Field(25, ge=0, le=1000)
    usage_limit_percent: float = Field(90.0, gt=0, le=100)
    usage_hold_minutes: float = Field(30.0, gt=0, le=24 * 60)


def graph_time(value: str) -> datetime:
    """Graph writes ``2021-08-10T18:45:03+0000`` (no colon in the offset)."""
    if len(value) > 5 and value[-5] in "+-" and value[-3] != ":":
        value = f"{value[:-2]}:{value[-2:]}"
    return parse_time(value)


class GraphCollector(ApiCollector):
    """A Graph API source for one brand: a client, the usage guard and paged reads."""

    def __init__(self, brand: Brand, options: GraphOptions, access_token: str) -> None:
        super().__init__(brand, options)
        self.options: GraphOptions = options
        self.client = GraphAPI(
            access_token=access_token or "-",
            version=options.version,
            sleep_on_rate_limit=False,
            base_url=options.api_url.rstrip("/") + "/",
            timeout=options.timeout_seconds,
        )
        self.client.session = make_session(options.timeout_seconds)

    def transient(self, exc: BaseException) -> bool:
        if isinstance(exc, FacebookError):
            return bool(getattr(exc, "is_transient", False)) or exc.code in TRANSIENT_CODES
        return isinstance(exc, requests.ConnectionError | requests.Timeout)

    def rate_limit_reset(self, exc: BaseException) -> float | None:
        if isinstance(exc, FacebookError) and exc.code in RATE_LIMIT_CODES:
            return self._regained()
        return None

    def malformed(self, exc: BaseException) -> bool:
        return isinstance(exc, ValueError) or (
            isinstance(exc, LibraryError) and not isinstance(exc, FacebookError)
        )

    def begin(self) -> None:
        """A run starts with no usage figures: the hold the last ones asked for has passed."""
        self.client.rate_limit = RateLimit()

    def call(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Refuse the call once Meta says the hour's budget is nearly spent."""
        used = self._usage()
        if used >= self.options.usage_limit_percent:
            until = datetime.fromtimestamp(self._regained(), UTC)
            raise RateLimited(f"Graph API usage at {used:.0f}% of the hour's budget", until)
        return super().call(what, fn, *args, **kwargs)

    def _usage(self) -> float:
        limits = self.client.rate_limit
        usages = [limits.get_max_percent()]
        for kinds in limits.resources["business"].values():
            usages += [header.max_percent() for header in kinds.values()]
        return float(max(usages))

    def _regained(self) -> float:
        """When Meta expects the token to be let back in (else ``usage_hold_minutes``)."""
        minutes = [
            float(h.estimated_time_to_regain_access)
            for kinds in self.client.rate_limit.resources["business"].values()
            for h in kinds.values()
            if h.estimated_time_to_regain_access
        ]
        return time.time() + 60 * max(minutes or [self.options.usage_hold_minutes])

    def edge(self, what: str, object_id: str, edge: str, **params: Any) -> dict[str, Any]:
        """One page of a connection (``/{id}/{edge}``, or ``/{id}`` without an edge), checked to
        hold a ``data`` list."""
        params = {k: v for k, v in params.items() if v is not None}
        body = self.call(what, self._get_edge, object_id, edge, params)
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            raise MalformedResponse(f"{what}: no 'data' list in the response")
        self.meter.add_items(len(body["data"]))
        return body

    def _get_edge(self, object_id: str, edge: str, params: dict[str, Any]) -> Any:
        if not edge:  # a top-level node such as ig_hashtag_search
            return self._guarded(self.client.get, object_id, params)
        return self._guarded(self.client.get_connection, object_id, edge, **params)

    @staticmethod
    def _guarded(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """pyfacebook trips over an unexpected usage header or an error body that is not an
        object: that is an unreadable answer, not a crash."""
        try:
            return fn(*args, **kwargs)
        except (TypeError, AttributeError) as exc:
            raise MalformedResponse(f"unreadable Graph API answer: {exc}") from None

    def objects(self, what: str, ids: list[str], fields: str) -> dict[str, Any]:
        """Several nodes in one call (``/?ids=…``), by id: the re-poll of recent posts."""
        body = self.call(what, self._guarded, self.client.get_objects, ",".join(ids), fields)
        if not isinstance(body, dict):
            raise MalformedResponse(f"{what}: not an object of nodes")
        self.meter.add_items(len(body))
        return body

    def newest_first(
        self,
        what: str,
        object_id: str,
        edge: str,
        read: Callable[[Any], tuple[Mark, Any]],
        **params: Any,
    ) -> Callable[[str | None, Mark | None], Page]:
        """A ``sweep`` fetch over a newest-first edge, paged by ``after`` cursors."""

        def fetch(token: str | None, floor: Mark | None) -> Page:
            body = self.edge(what, object_id, edge, limit=self.options.page_size, after=token,
                             **params)
            items, rejected = read_each(body["data"], read)
            return Page(items, next_cursor(body), rejected)

        return fetch

    def forward(
        self, what: str, object_id: str, edge: str, after: str | None, **params: Any
    ) -> Iterator[tuple[list[Any], str | None]]:
        """Pages of an oldest-first edge after the ``after`` cursor, each with the cursor past
        it (the cursor of the last page stays, so the next run asks for what came since)."""
        for _ in range(self.options.max_pages):
            body = self.edge(what, object_id, edge, limit=self.options.page_size, after=after,
                             **params)
            cursors = (body.get("paging") or {}).get("cursors") or {}
            after = cursors.get("after") or after
            yield body["data"], after
            if not next_cursor(body):
                return


def next_cursor(body: dict[str, Any]) -> str | None:
    """The ``after`` cursor of the next page, when Graph says there is one."""
    paging = body.get("paging") or {}
    if not paging.get("next"):
        return None
    return (paging.get("cursors") or {}).get("after")


def count(node: Any, key: str = "summary") -> int | None:
    """``reactions.summary.total_count`` and the like; None where the field is absent."""
    if not isinstance(node, dict):
        return None
    summary = node.get(key)
    value = summary.get("total_count") if isinstance(summary, dict) else None
    return int(value) if isinstance(value, int) else None
