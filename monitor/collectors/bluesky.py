"""Bluesky through ``atproto``: ``app.bsky.feed.searchPosts`` for each of the brand's keywords.

Results come newest first (``sort=latest``) and page with an opaque cursor; each query resumes
through :func:`~monitor.collectors.paging.sweep` on the time the post was indexed, with ``since``
letting the server skip what was read before. Like, repost (+ quote) and reply counts are stored
as seen at collection time.

With ``live: true`` the brand's posts also come from the Jetstream firehose as they are written
(:mod:`monitor.collectors.jetstream`: a reader thread buffers them, each run drains the buffer
first and commits the stream position with them, never waiting on the network). Live and search
find the same post under the same ``at://`` URI, so it is stored once; search still brings the
engagement counts. ``search: false`` keeps only the live stream (no login then).
"""

from __future__ import annotations

import time
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

from monitor.collectors import jetstream
from monitor.collectors.api import ApiCollector, SourceOptions
from monitor.collectors.base import RateLimited, read_each
from monitor.collectors.credentials import Credentials
from monitor.collectors.http import from_epoch, parse_time
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
    search: bool = True
    live: bool = False
    jetstream_url: str = "wss://jetstream2.us-east.bsky.network/subscribe"
    live_buffer_max: int = Field(10_000, gt=0, le=1_000_000)
    live_idle_timeout_seconds: float = Field(60.0, gt=0, le=3600)
    live_backfill_minutes: float = Field(10.0, ge=0, le=24 * 60)


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
        state = dict(cursor or {})
        if self.options.live:
            batch = self._live(state, now)
            state = dict(batch.cursor or state)
            yield batch
        if self.options.search:
            yield from self._searches(state, now)
        if self.options.live:
            self._live_health()

    def _live(self, state: dict[str, Any], now: datetime) -> Batch:
        """What the Jetstream reader buffered for this brand since the last run (no waiting)."""
        options = self.options
        stream = self.stream = jetstream.shared(
            options.jetstream_url, options.live_buffer_max, options.live_idle_timeout_seconds
        )
        minutes = min(options.live_backfill_minutes, options.backfill_hours * 60)
        start = jetstream.micros(now - timedelta(minutes=minutes))
        stream.subscribe(self.key, self.watch.matches, int(state.get("live", start)))
        drained = stream.drain(self.key)
        mentions, rejected = read_each(drained.events, self._live_mention)
        self.meter.add_items(len(drained.events))
        cursor = {**state, "live": drained.position}
        return Batch(mentions, cursor, rejected=drained.rejected + rejected)

    def _live_health(self) -> None:
        """The reader reconnects by itself (and logs it once); a rate limit holds the source."""
        stream = self.stream
        held = stream.held_until
        if held is not None and held > time.time():
            raise RateLimited(f"Jetstream: {stream.problem}", from_epoch(held))

    def _live_mention(self, event: dict[str, Any]) -> MentionIn:
        commit, did = event["commit"], event["did"]
        record, rkey = commit["record"], commit["rkey"]
        reply = record.get("reply") or {}
        langs = record.get("langs") or []
        created = record.get("createdAt")
        return MentionIn(
            source=SOURCE,
            external_id=f"at://{did}/{jetstream.POSTS}/{rkey}",
            brand=self.brand,
            text=record["text"],
            created_at=parse_time(created) if created else from_epoch(event["time_us"] / 1e6),
            url=f"https://bsky.app/profile/{did}/post/{rkey}",
            author=did,
            language=langs[0][:8] if langs else None,
            parent_id=reply["parent"]["uri"] if reply else None,
            thread_id=reply["root"]["uri"] if reply else None,
        )

    def _searches(self, state: dict[str, Any], now: datetime) -> Iterator[Batch]:
        if not self.account.logged_in:
            login = self.client.login
            self.call("login", login, self.account.handle, self._password, fetch_bsky_profile=False)
            self.account.logged_in = True
        names = {f"search:{query}": query for query in self.queries}
        try:
            yield from sweep_each(
                list(names),
                state,
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
    summary="post search (`atproto`), and with `live: true` the Jetstream firehose as posts are "
    "written (`websockets`); BLUESKY_APP_PASSWORD is an app password",
    options=BlueskyOptions,
    build=_build,
    credentials=("BLUESKY_HANDLE", "BLUESKY_APP_PASSWORD"),
    link="https://bsky.app/settings/app-passwords",
    example="""
interval_seconds: 300
live: false                 # true: also the Jetstream firehose, read by a thread, drained each run
search: true                # false: the live stream only (no login)
jetstream_url: wss://jetstream2.us-east.bsky.network/subscribe
live_buffer_max: 10000      # posts buffered per brand; the reader waits when full, drops nothing
live_idle_timeout_seconds: 60   # silence after which it reconnects from its cursor
live_backfill_minutes: 10   # how far back the stream starts on its first run
""",
)
