"""YouTube comments through ``python-youtube`` (Data API v3, an API key, public data only).

Per run: every comment thread on the brand's own channel (``allThreadsRelatedToChannelId``), the
brand's videos found by search (``search.list``, at most every ``search_every_minutes``: it costs
100 units) with their comment threads, then fresh like and reply counts of recent threads
(``commentThreads.list id=…``) and the views, likes and comment counts of the videos followed
(``videos.list``), 50 per request. Threads come newest first and each listing resumes
through :func:`~monitor.collectors.paging.sweep` on the top comment's time. Replies written by the
brand's channel (``channel_id``) are not mentions: they mark the comment they answer as answered.

Quota: YouTube charges units per call against a daily budget per Google project
(:mod:`monitor.collectors.units`); the run stops before the call that would go over and resumes
after midnight Pacific time. A thread that cannot be read is quarantined, the rest stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import requests
from pydantic import Field
from pyyoutube import Client

from monitor.collectors.api import ApiCollector, SourceOptions
from monitor.collectors.base import MalformedResponse, QuotaExhausted, read_each
from monitor.collectors.credentials import Credentials
from monitor.collectors.http import HttpError, make_session, parse_time, retry_after
from monitor.collectors.paging import Page, Tracked, chunks, sweep
from monitor.collectors.units import DailyUnits
from monitor.config import Brand, ConfigError
from monitor.mentions import Answer, Batch, Engagement, MentionIn, Rejected
from monitor.plugins import SourcePlugin

SOURCE = "youtube"
PAGE = 100
IDS_PER_CALL = 50
COST = {"commentThreads.list": 1, "search.list": 100, "videos.list": 1}
QUOTA_ZONE = ZoneInfo("America/Los_Angeles")
QUOTA_REASONS = {"quotaExceeded", "dailyLimitExceeded"}
RATE_REASONS = {"rateLimitExceeded", "userRateLimitExceeded"}
WATCH = "https://www.youtube.com/watch?v={}"
Json = dict[str, Any]


class YouTubeOptions(SourceOptions):
    api_url: str = Client.BASE_URL
    channel_id: str | None = None
    search: bool = True
    queries: list[str] | None = None
    search_every_minutes: float = Field(60.0, gt=0, le=7 * 24 * 60)
    videos_max: int = Field(20, ge=0, le=1000)
    video_hours: float = Field(72.0, ge=0, le=10**6)
    match_comments: bool = False
    daily_quota_units: int = Field(10_000, gt=0, le=10**9)
    lookback_minutes: float = Field(10.0, ge=0, le=24 * 60)
    track_hours: float = Field(24.0, ge=0, le=10**6)
    track_max: int = Field(300, ge=0, le=100_000)


class YouTubeError(HttpError):
    """An error answer of the Data API, with its ``reason`` (``quotaExceeded``, …)."""

    def __init__(self, response: requests.Response) -> None:
        super().__init__(response)
        try:
            errors = response.json()["error"]["errors"]
            self.reason = str(errors[0].get("reason", ""))
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            self.reason = ""


class HeaderKeyClient(Client):
    """The API key travels in the ``X-goog-api-key`` header, never in a URL: URLs end up in
    exception messages, and those in logs and the collector's health."""

    def __init__(self, api_key: str) -> None:
        super().__init__(api_key=api_key)

    def add_api_key_to_params(self, params: dict | None = None) -> dict:
        return dict(params or {})


def _raise_for_status(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    """Before ``python-youtube`` parses a body: a 5xx page of HTML is an error, not bad JSON."""
    if not response.ok:
        raise YouTubeError(response)


def default_queries(brand: Brand) -> list[str]:
    return [f'"{k}"' if " " in k.strip() else k.strip() for k in brand.keywords]


class YouTubeCollector(ApiCollector):
    source = SOURCE

    def __init__(self, brand: Brand, options: YouTubeOptions, api_key: str) -> None:
        super().__init__(brand, options)
        self.options: YouTubeOptions = options
        self.query = " | ".join(options.queries or default_queries(brand)) if options.search else ""
        if not self.query and not options.channel_id:
            raise ConfigError(f"brands.{brand.name}: youtube needs a channel_id or keywords")
        self.client = HeaderKeyClient(api_key)  # no timeout of its own: the session's applies
        self.client.BASE_URL = options.api_url.rstrip("/") + "/"
        self.client.session = make_session(options.timeout_seconds)
        self.client.session.headers["X-goog-api-key"] = api_key
        self.client.session.hooks["response"].append(_raise_for_status)
        self.meter.units = DailyUnits(options.daily_quota_units, QUOTA_ZONE)

    def rate_limit_reset(self, exc: BaseException) -> float | None:
        if isinstance(exc, YouTubeError) and (exc.status == 429 or exc.reason in RATE_REASONS):
            return retry_after(exc.headers)
        return None

    def malformed(self, exc: BaseException) -> bool:
        return isinstance(exc, ValueError) and not isinstance(exc, HttpError)

    def _api(self, method: str, fn: Callable[..., dict[str, Any]], **params: Any) -> dict:
        """One metered call: its units are charged before each attempt (failed calls cost too)."""

        def charged() -> dict[str, Any]:
            assert self.meter.units is not None
            self.meter.units.charge(COST[method])
            return fn(return_json=True, **params)

        try:
            body = self.call(method, charged)
        except YouTubeError as exc:
            if exc.reason not in QUOTA_REASONS or self.meter.units is None:
                raise
            self.meter.units.exhaust()
            until = self.meter.units.resets_at
            raise QuotaExhausted(f"YouTube says the daily quota is used up ({exc})", until) from exc
        items = body.get("items") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise MalformedResponse(f"{method}: no items in the response")
        self.meter.add_items(len(items))
        return body

    def collect(self, cursor: dict[str, Any] | None, now: datetime) -> Iterator[Batch]:
        state = dict(cursor or {})
        tracked = Tracked.load(
            state.get("tracked"), self.options.track_hours, self.options.track_max
        )
        videos = Tracked.load(
            state.get("videos"), self.options.video_hours, self.options.videos_max
        )
        seen: set[str] = set()
        if self.query and self._search_due(state, now):
            found, rejected = self._search(now)
            videos.add(found, now)
            state["searched_at"] = now.timestamp()
            yield Batch(found, {**state, "videos": dict(videos.posts)}, rejected=rejected)
        state["videos"] = dict(videos.posts)
        lookback = self.options.lookback_minutes * 60
        for name, fetch, must_match in self._listings(videos):
            for swept in sweep(state.get(name), fetch, self.options.max_pages, lookback):
                state[name] = swept.cursor
                batch = self._batch(swept.mentions, must_match, state, now)
                tops = [m for m in batch.mentions if m.parent_id is None]
                tracked.add(tops, now)
                seen.update(m.external_id for m in tops)
                batch.cursor = {**state, "tracked": dict(tracked.posts)}
                batch.rejected += swept.rejected
                yield batch
        for name in [k for k in state if k.startswith("video:") and k not in videos.posts]:
            del state[name]  # a video no longer followed: its position goes too
        yield from self._refresh(state, tracked, seen, now)
        yield from self._video_counts(videos, {**state, "tracked": dict(tracked.posts)}, now)

    def _search_due(self, state: dict[str, Any], now: datetime) -> bool:
        last = state.get("searched_at")
        return last is None or now.timestamp() - last >= self.options.search_every_minutes * 60

    def _listings(self, videos: Tracked) -> list[tuple[str, Callable[..., Page], bool]]:
        """(cursor key, page fetcher, whether comments must name the brand) of each listing."""
        listings = []
        if self.options.channel_id:
            params = {"all_threads_related_to_channel_id": self.options.channel_id}
            listings.append(("channel", partial(self._threads, params), False))
        for video in videos.posts:
            fetch = partial(self._threads, {"video_id": video.removeprefix("video:")})
            listings.append((video, fetch, self.options.match_comments))
        return listings

    def _search(self, now: datetime) -> tuple[list[MentionIn], list[Rejected]]:
        """The brand's recent videos (one page: a search costs 100 units)."""
        since = now - timedelta(hours=self.options.backfill_hours)
        body = self._api(
            "search.list",
            self.client.search.list,
            parts="snippet",
            q=self.query,
            type="video",
            order="date",
            published_after=since.strftime("%Y-%m-%dT%H:%M:%SZ"),
            max_results=50,
        )
        found, rejected = read_each(body["items"], partial(self._video, now=now))
        return [v for v in found if not self._excluded(v.text)], rejected

    def _threads(self, params: dict[str, str], token: str | None, floor: float | None) -> Page:
        """One page of threads, newest first, each marked with its top comment's time.

        The page holds the threads as the API sent them: a thread makes several mentions and
        answers, sorted out by :meth:`_batch` once the sweep has placed the page. (The API's
        JSON is read directly: ``python-youtube``'s dataclass models cost 4 ms a thread.)
        """
        body = self._api(
            "commentThreads.list",
            self.client.commentThreads.list,
            parts="snippet,replies",
            order="time",
            text_format="plainText",
            max_results=PAGE,
            page_token=token,
            **params,
        )
        items, rejected = read_each(body["items"], _thread_at)
        return Page(items, body.get("nextPageToken"), rejected)

    def _batch(self, threads: list[Json], must_match: bool, cursor: Json, now: datetime) -> Batch:
        """Threads read from a listing become mentions, and the brand's replies answers."""
        read, rejected = read_each(threads, partial(self._thread, now=now))
        batch = Batch([], dict(cursor), rejected=rejected)
        for mentions, answers in read:
            batch.mentions += [m for m in mentions if self._wanted(m, must_match)]
            batch.answers += answers
        return batch

    def _wanted(self, mention: MentionIn, must_match: bool) -> bool:
        if self._excluded(mention.text):
            return False
        return not must_match or self.watch.matches(mention.text)

    def _excluded(self, text: str) -> bool:
        low = text.casefold()
        return any(x.casefold() in low for x in self.watch.exclusions)

    def _video_counts(self, videos: Tracked, state: Json, now: datetime) -> Iterator[Batch]:
        """Engagement of the videos followed (a complaint video spreads too): 1 unit per 50."""
        for ids in chunks([v.removeprefix("video:") for v in videos.posts], IDS_PER_CALL):
            body = self._api(
                "videos.list",
                self.client.videos.list,
                parts="snippet,statistics",
                video_id=",".join(ids),
            )
            found, rejected = read_each(body["items"], partial(self._video, now=now))
            yield Batch(found, dict(state), rejected=rejected)

    def _video(self, raw: Json, now: datetime) -> MentionIn:
        """A video from a search result (``id.videoId``) or ``videos.list`` (``id``, counts)."""
        ident, snippet = raw["id"], raw["snippet"]
        video = ident["videoId"] if isinstance(ident, dict) else ident
        stats = raw.get("statistics")
        text = f"{snippet.get('title') or ''}\n\n{snippet.get('description') or ''}".strip()
        return MentionIn(
            source=SOURCE,
            external_id=f"video:{video}",
            brand=self.brand,
            text=text,
            created_at=parse_time(snippet["publishedAt"]),
            url=WATCH.format(video),
            author=snippet.get("channelTitle"),
            thread_id=f"video:{video}",
            engagement=_video_engagement(stats, now) if stats else None,
        )

    def _thread(self, thread: Json, now: datetime) -> tuple[list[MentionIn], list[Answer]]:
        """The top comment and the replies that came with it (the API sends up to five)."""
        top = thread["snippet"]["topLevelComment"]
        likes, replies = top["snippet"].get("likeCount"), thread["snippet"].get("totalReplyCount")
        mentions, answers = [], []
        if not self._by_brand(top):
            counts = Engagement(now, likes=likes, replies=replies)
            mentions.append(self._comment(top, thread, None, counts))
        for reply in (thread.get("replies") or {}).get("comments") or []:
            if self._by_brand(reply):
                when = parse_time(reply["snippet"]["publishedAt"])
                answers.append(Answer(SOURCE, thread["id"], when, _url(thread, reply["id"])))
            else:
                counts = Engagement(now, likes=reply["snippet"].get("likeCount"))
                mentions.append(self._comment(reply, thread, thread["id"], counts))
        return mentions, answers

    def _by_brand(self, comment: Json) -> bool:
        author = comment["snippet"].get("authorChannelId") or {}
        own = self.options.channel_id
        return bool(own) and author.get("value") == own

    def _comment(
        self, comment: Json, thread: Json, parent: str | None, counts: Engagement
    ) -> MentionIn:
        snippet = comment["snippet"]
        return MentionIn(
            source=SOURCE,
            external_id=comment["id"],
            brand=self.brand,
            text=snippet.get("textOriginal") or snippet.get("textDisplay") or "",
            created_at=parse_time(snippet["publishedAt"]),
            url=_url(thread, comment["id"]),
            author=snippet.get("authorDisplayName"),
            parent_id=parent,
            thread_id=thread["id"],
            engagement=counts,
        )

    def _refresh(
        self, state: Json, tracked: Tracked, seen: set[str], now: datetime
    ) -> Iterator[Batch]:
        """Fresh counts and new replies of recent threads; deleted ones stop being tracked."""
        for ids in chunks(tracked.due(seen), IDS_PER_CALL):
            page = self._threads({"thread_id": ",".join(ids)}, None, None)
            threads = [t for _, t in page.items]
            tracked.forget(set(ids) - {t["id"] for t in threads})
            batch = self._batch(threads, False, {**state, "tracked": dict(tracked.posts)}, now)
            batch.rejected += page.rejected
            yield batch


def _thread_at(raw: Json) -> tuple[float, Json]:
    """A thread marked with its top comment's time (one without id or time is set aside)."""
    top = raw["snippet"]["topLevelComment"]
    if not (isinstance(raw["id"], str) and isinstance(top["id"], str)):
        raise ValueError("thread without id")
    return parse_time(top["snippet"]["publishedAt"]).timestamp(), raw


def _video_engagement(stats: Json, now: datetime) -> Engagement:
    def count(name: str) -> int | None:
        value = stats.get(name)
        return int(value) if value is not None else None  # the API sends counts as strings

    return Engagement(
        now, likes=count("likeCount"), replies=count("commentCount"), views=count("viewCount")
    )


def _url(thread: Json, comment_id: str) -> str | None:
    video = thread["snippet"].get("videoId")
    video = video or thread["snippet"]["topLevelComment"]["snippet"].get("videoId")
    return f"{WATCH.format(video)}&lc={comment_id}" if video else None


def _build(brand: Brand, options: YouTubeOptions, creds: Credentials) -> YouTubeCollector:
    return YouTubeCollector(brand, options, creds.value("YOUTUBE_API_KEY") or "")


PLUGIN = SourcePlugin(
    name=SOURCE,
    summary="comment threads on the brand's channel and on videos found by search (with their "
    "views and likes), daily quota units metered (`python-youtube`)",
    options=YouTubeOptions,
    build=_build,
    credentials=("YOUTUBE_API_KEY",),
    link="https://developers.google.com/youtube/v3/getting-started",
    example="""
interval_seconds: 900
daily_quota_units: 10000    # the Google project's daily budget (search costs 100 a call)
""",
    brand_example="{channel_id: UC0123456789abcdefghijkl}   # its replies mark comments answered",
)
