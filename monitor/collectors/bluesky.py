"""Bluesky through ``atproto``: ``app.bsky.feed.searchPosts`` for each of the brand's keywords.

Results come newest first (``sort=latest``) and page with an opaque cursor; each query resumes
through :func:`~monitor.collectors.paging.sweep` on the time the post was indexed, with ``since``
letting the server skip what was read before. Like, repost (+ quote) and reply counts are stored
as seen at collection time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from atproto import Client
from atproto_client import exceptions as at
from atproto_client.models.app.bsky.feed.defs import PostView
from atproto_client.request import Request
from pydantic import Field

from monitor.collectors.credentials import Credentials
from monitor.collectors.http import ApiCollector, SourceOptions, from_epoch, parse_time
from monitor.collectors.paging import Page, sweep_each
from monitor.config import Brand, ConfigError
from monitor.mentions import Batch, Engagement, MentionIn
from monitor.plugins import SourcePlugin

SOURCE = "bluesky"
PAGE = 100


@dataclass
class Account:
    """One logged-in client per account and process, shared by every brand: creating sessions
    is rate-limited (30 per 5 minutes, 300 a day), and the SDK refreshes the session itself."""

    client: Client
    handle: str
    logged_in: bool = False


_ACCOUNTS: dict[tuple[str, str], Account] = {}


class SessionRejected(Exception):
    """The server refused the session mid-run; the next run logs in again with the password."""


def _account(service: str, handle: str, timeout: float) -> Account:
    key = (service, handle)
    if key not in _ACCOUNTS:
        client = Client(service, request=Request(timeout=timeout))
        _ACCOUNTS[key] = Account(client, handle)
    return _ACCOUNTS[key]


class BlueskyOptions(SourceOptions):
    service: str = "https://bsky.social"
    queries: list[str] | None = None
    lookback_minutes: float = Field(10.0, ge=0)


def default_queries(brand: Brand) -> list[str]:
    queries = [f'"{k}"' if " " in k.strip() else k.strip() for k in brand.keywords]
    if not queries:
        raise ConfigError(f"brands.{brand.name}: bluesky needs keywords (or queries)")
    return queries


class BlueskyCollector(ApiCollector):
    source = SOURCE

    def __init__(self, brand: Brand, options: BlueskyOptions, handle: str, password: str) -> None:
        super().__init__(brand, options)
        self.options: BlueskyOptions = options
        self.queries = options.queries or default_queries(brand)
        self.account = _account(options.service, handle, options.timeout_seconds)
        self.client = self.account.client
        self._password = password

    def transient(self, exc: BaseException) -> bool:
        if isinstance(exc, at.RateLimitExceededError):
            return False
        if isinstance(exc, at.RequestException) and exc.response is not None:
            return exc.response.status_code >= 500
        return isinstance(exc, at.NetworkError)

    def rate_limit_reset(self, exc: BaseException) -> float | None:
        if not isinstance(exc, at.RateLimitExceededError):
            return None
        reset = exc.response.headers.get("ratelimit-reset") if exc.response else None
        return float(reset) if reset else datetime.now(UTC).timestamp() + 300

    def malformed(self, exc: BaseException) -> bool:
        return isinstance(exc, at.ModelError | ValueError)

    def collect(self, cursor: dict[str, Any] | None, now: datetime) -> Iterator[Batch]:
        if not self.account.logged_in:
            login = self.client.login
            self.call("login", login, self.account.handle, self._password, fetch_bsky_profile=False)
            self.account.logged_in = True
        names = {f"search:{query}": query for query in self.queries}
        try:
            yield from sweep_each(
                list(names),
                cursor,
                lambda name: partial(self._page, names[name], now),
                self.options.max_pages,
                self.options.lookback_minutes * 60,
            )
        except at.UnauthorizedError as exc:
            self.account.logged_in = False
            raise SessionRejected(
                f"Unauthorized: session expired or revoked ({exc}); logging in again next run"
            ) from exc

    def _page(self, query: str, now: datetime, token: str | None, floor: float | None) -> Page:
        since = (
            from_epoch(floor - self.options.lookback_minutes * 60)
            if floor is not None
            else now - timedelta(hours=self.options.backfill_hours)
        )
        params = {
            "q": query,
            "sort": "latest",
            "limit": PAGE,
            "since": since.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        }
        if token:
            params["cursor"] = token
        response = self.call(f"search {query!r}", self.client.app.bsky.feed.search_posts, params)
        self.meter.add_items(len(response.posts))
        items = []
        for post in response.posts:
            mention = self._mention(post, now)
            items.append((_sort_at(post, mention), mention if self._wanted(mention) else None))
        return Page(items, response.cursor)

    def _wanted(self, mention: MentionIn) -> bool:
        low = mention.text.casefold()
        return not any(x.casefold() in low for x in self.watch.exclusions)

    def _mention(self, post: PostView, now: datetime) -> MentionIn:
        record = post.record
        reply = getattr(record, "reply", None)
        langs = getattr(record, "langs", None) or []
        rkey = post.uri.rsplit("/", 1)[-1]
        return MentionIn(
            source=SOURCE,
            external_id=post.uri,
            brand=self.brand,
            text=getattr(record, "text", "") or "",
            created_at=parse_time(getattr(record, "created_at", None) or post.indexed_at),
            url=f"https://bsky.app/profile/{post.author.handle}/post/{rkey}",
            author=post.author.handle,
            language=langs[0][:8] if langs else None,
            parent_id=reply.parent.uri if reply else None,
            thread_id=reply.root.uri if reply else None,
            engagement=Engagement(
                now,
                likes=post.like_count,
                reshares=(post.repost_count or 0) + (post.quote_count or 0),
                replies=post.reply_count,
            ),
        )


def _sort_at(post: PostView, mention: MentionIn) -> float:
    """The time search sorts and filters by: indexing, or creation when that claims earlier."""
    return min(parse_time(post.indexed_at), mention.created_at).timestamp()


def _build(brand: Brand, options: BlueskyOptions, creds: Credentials) -> BlueskyCollector:
    handle = creds.value("BLUESKY_HANDLE") or ""
    return BlueskyCollector(brand, options, handle, creds.value("BLUESKY_APP_PASSWORD") or "")


PLUGIN = SourcePlugin(
    name=SOURCE,
    summary="post search (`atproto`); BLUESKY_APP_PASSWORD is an app password",
    options=BlueskyOptions,
    build=_build,
    credentials=("BLUESKY_HANDLE", "BLUESKY_APP_PASSWORD"),
    link="https://bsky.app/settings/app-passwords",
    example="""
interval_seconds: 300
""",
)
