"""X/Twitter through ``tweepy`` (API v2, app-only bearer token).

Three things per run: a recent search for the brand's query, the mentions of the brand's own
account, and a fresh look at the engagement of recent tracked tweets (``get_tweets``, 100 per
request), so the detection stage can measure how fast a complaint spreads. Searches resume with
``since_id`` through :func:`~monitor.collectors.paging.sweep`. Every request counts against the
monthly quota (the paid tiers cap reads): see ``monthly_request_quota`` / ``monthly_item_quota``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import tweepy
from pydantic import Field

from monitor.collectors.api import ApiCollector, SourceOptions
from monitor.collectors.credentials import Credentials
from monitor.collectors.http import TimeoutAdapter, parse_time
from monitor.collectors.paging import Page, Tracked, chunks, sweep
from monitor.config import Brand, ConfigError
from monitor.mentions import Batch, Engagement, MentionIn
from monitor.plugins import SourcePlugin

SOURCE = "twitter"
TWEET_FIELDS = [
    "created_at",
    "public_metrics",
    "lang",
    "conversation_id",
    "referenced_tweets",
    "author_id",
    "note_tweet",
]
USER_FIELDS = ["public_metrics", "username", "verified"]
EXPANSIONS = ["author_id"]
TWITTER_EPOCH_MS = 1288834974657
RECENT_SEARCH_DAYS = 7
NO_LANGUAGE = {"und", "zxx", "art"}


class TwitterOptions(SourceOptions):
    query: str | None = None
    exclude_retweets: bool = True
    exclude_own_posts: bool = True
    mentions: bool = True
    account_id: str | None = Field(None, pattern=r"^\d+$")
    max_query_length: int = Field(512, gt=0)
    backfill_hours: float = Field(24.0, ge=0, le=RECENT_SEARCH_DAYS * 24 - 1)
    track_hours: float = Field(6.0, ge=0)
    track_max: int = Field(300, ge=0)


def _term(word: str) -> str:
    """A keyword as a search term: quoted when it holds spaces or punctuation."""
    plain = word.replace('"', "").strip()
    return plain if plain.replace("_", "").replace("#", "").isalnum() else f'"{plain}"'


def _handle(handle: str) -> str:
    return handle.strip().lstrip("@")


def build_query(brand: Brand, options: TwitterOptions) -> str:
    """The recent-search query: keywords and handles, minus exclusions, in the brand's languages."""
    if options.query:
        query = options.query
    else:
        terms = [_term(k) for k in brand.keywords] + [f"@{_handle(h)}" for h in brand.handles]
        if not terms:
            raise ConfigError(f"brands.{brand.name}: twitter needs keywords or handles (or query)")
        parts = [f"({' OR '.join(terms)})" if len(terms) > 1 else terms[0]]
        parts += [f"-{_term(x)}" for x in brand.exclusions]
        langs = [f"lang:{code}" for code in brand.languages]
        if langs:
            parts.append(f"({' OR '.join(langs)})" if len(langs) > 1 else langs[0])
        if options.exclude_own_posts:
            parts += [f"-from:{_handle(h)}" for h in brand.handles]
        if options.exclude_retweets:
            parts.append("-is:retweet")
        query = " ".join(parts)
    if len(query) > options.max_query_length:
        raise ConfigError(
            f"brands.{brand.name}: the twitter query is {len(query)} characters, over "
            f"max_query_length={options.max_query_length} (your API tier's limit): {query}"
        )
    return query


def snowflake_time(tweet_id: int) -> datetime:
    """X ids encode their creation time (milliseconds since the Twitter epoch)."""
    return datetime.fromtimestamp(((tweet_id >> 22) + TWITTER_EPOCH_MS) / 1000, UTC)


class TwitterCollector(ApiCollector):
    source = SOURCE

    def __init__(self, brand: Brand, options: TwitterOptions, bearer_token: str) -> None:
        super().__init__(brand, options)
        self.options: TwitterOptions = options
        self.query = build_query(brand, options)
        self.client = tweepy.Client(bearer_token=bearer_token, wait_on_rate_limit=False)
        adapter = TimeoutAdapter(options.timeout_seconds, budget=self.budget)
        self.client.session.mount("https://", adapter)

    def transient(self, exc: BaseException) -> bool:
        return isinstance(exc, tweepy.TwitterServerError) or super().transient(exc)

    def rate_limit_reset(self, exc: BaseException) -> float | None:
        if not isinstance(exc, tweepy.TooManyRequests):
            return None
        reset = exc.response.headers.get("x-rate-limit-reset")
        return float(reset) if reset else datetime.now(UTC).timestamp() + 900

    def collect(self, cursor: dict[str, Any] | None, now: datetime) -> Iterator[Batch]:
        state = dict(cursor or {})
        state.setdefault(
            "start_time", (now - timedelta(hours=self.options.backfill_hours)).isoformat()
        )
        tracked = Tracked.load(
            state.get("tracked"), self.options.track_hours, self.options.track_max
        )
        seen: set[str] = set()
        streams = [("search", self._search)]
        if self.options.mentions and (self.options.account_id or self.watch.handles):
            streams.append(("mentions", self._mentions))
        for name, fetch in streams:
            pages = sweep(state.get(name), partial(fetch, state, now), self.options.max_pages)
            for page in pages:
                state[name], mentions = page.cursor, page.mentions
                tracked.add(mentions, now)
                seen.update(m.external_id for m in mentions)
                cursor = {**state, "tracked": dict(tracked.posts)}
                yield Batch(mentions, cursor, rejected=page.rejected)
        yield from self._refresh(state, tracked, seen, now)

    def _window(self, state: dict[str, Any], floor: int | None, now: datetime) -> dict[str, Any]:
        """``since_id`` once a sweep has completed, else the backfill start (inside 7 days)."""
        if floor is not None:
            return {"since_id": str(floor)}
        earliest = now - timedelta(days=RECENT_SEARCH_DAYS) + timedelta(minutes=1)
        return {"start_time": max(parse_time(state["start_time"]), earliest)}

    def _fields(self) -> dict[str, Any]:
        return {
            "tweet_fields": TWEET_FIELDS,
            "user_fields": USER_FIELDS,
            "expansions": EXPANSIONS,
        }

    def _search(self, state: dict, now: datetime, token: str | None, floor: int | None) -> Page:
        params = {**self._window(state, floor, now), **self._fields(), "max_results": 100}
        if token:
            params["next_token"] = token
        response = self.call(
            "recent search", self.client.search_recent_tweets, self.query, **params
        )
        return self._page(response, now)

    def _mentions(self, state: dict, now: datetime, token: str | None, floor: int | None) -> Page:
        account = self.options.account_id or state.get("account_id") or self._account_id(state)
        params = {**self._window(state, floor, now), **self._fields(), "max_results": 100}
        if token:
            params["pagination_token"] = token
        response = self.call("mentions", self.client.get_users_mentions, account, **params)
        return self._page(response, now)

    def _account_id(self, state: dict[str, Any]) -> str:
        """The id of the brand's first handle, looked up once and kept in the cursor."""
        username = _handle(self.watch.handles[0])
        response = self.call("user lookup", self.client.get_user, username=username)
        if response.data is None:
            raise ConfigError(f"brands.{self.brand}: no X account named @{username}")
        state["account_id"] = str(response.data.id)
        return state["account_id"]

    def _page(self, response: tweepy.Response, now: datetime) -> Page:
        tweets = response.data or []
        self.meter.add_items(len(tweets))
        users = {u.id: u for u in response.includes.get("users", [])}
        items = [(t.id, self._mention(t, users, now)) for t in tweets]
        return Page(items, response.meta.get("next_token"))

    def _refresh(
        self, state: dict[str, Any], tracked: Tracked, seen: set[str], now: datetime
    ) -> Iterator[Batch]:
        """Re-poll recent tweets' counts, 100 ids per request; deleted ones stop being tracked."""
        for ids in chunks(tracked.due(seen), 100):
            response = self.call("tweet lookup", self.client.get_tweets, ids, **self._fields())
            tweets = response.data or []
            self.meter.add_items(len(tweets))
            users = {u.id: u for u in response.includes.get("users", [])}
            mentions = [self._mention(t, users, now) for t in tweets]
            tracked.forget(set(ids) - {m.external_id for m in mentions})
            yield Batch(mentions, {**state, "tracked": dict(tracked.posts)})

    def _mention(
        self, tweet: tweepy.Tweet, users: dict[int, tweepy.User], now: datetime
    ) -> MentionIn:
        user = users.get(tweet.author_id)
        username = user.username if user else None
        note = tweet.data.get("note_tweet") or {}
        parent = next(
            (str(r.id) for r in tweet.referenced_tweets or [] if r.type == "replied_to"), None
        )
        lang = tweet.lang if tweet.lang and tweet.lang not in NO_LANGUAGE else None
        return MentionIn(
            source=SOURCE,
            external_id=str(tweet.id),
            brand=self.brand,
            text=note.get("text") or tweet.text,
            created_at=tweet.created_at or snowflake_time(tweet.id),
            url=f"https://x.com/{username or 'i/web'}/status/{tweet.id}",
            author=username,
            author_followers=(user.public_metrics or {}).get("followers_count") if user else None,
            language=lang if lang and not lang.startswith("q") else None,
            parent_id=parent,
            thread_id=str(tweet.conversation_id) if tweet.conversation_id else None,
            engagement=_engagement(tweet.public_metrics, now),
        )


def _engagement(metrics: dict[str, int] | None, now: datetime) -> Engagement | None:
    if not metrics:
        return None
    reshares = metrics.get("retweet_count", 0) + metrics.get("quote_count", 0)
    return Engagement(
        observed_at=now,
        likes=metrics.get("like_count"),
        reshares=reshares,
        replies=metrics.get("reply_count"),
        views=metrics.get("impression_count"),
    )


def _build(brand: Brand, options: TwitterOptions, creds: Credentials) -> TwitterCollector:
    return TwitterCollector(brand, options, creds.value("TWITTER_BEARER_TOKEN") or "")


PLUGIN = SourcePlugin(
    name=SOURCE,
    summary="X API v2 recent search, the brand account's mentions, engagement re-polls (`tweepy`)",
    options=TwitterOptions,
    build=_build,
    credentials=("TWITTER_BEARER_TOKEN",),
    link="https://docs.x.com/x-api/posts/search/introduction",
    example="""
interval_seconds: 300
jitter_seconds: 30
monthly_item_quota: 10000   # posts read per month on your tier (reads are capped)
exclude_retweets: true      # adds -is:retweet to the query built from keywords etc.
track_hours: 6              # re-poll engagement of recent tweets (counts as reads)
max_query_length: 512       # 1024 on Pro
rate_limit_max_wait_seconds: 30   # wait a shorter rate limit out, else skip the cycle
""",
    brand_example='{account_id: "123456789"}   # else looked up once from the first handle',
)
