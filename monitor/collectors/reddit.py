"""Reddit through ``praw`` (app-only OAuth, read only).

Per run: a search for the brand's keywords across Reddit (newest first), the new posts and new
comments of the configured subreddits that name the brand, then fresh score and comment counts
for the posts collected recently (``info``, 100 per request). Each listing resumes through
:func:`~monitor.collectors.paging.sweep` on creation time, re-reading a margin because Reddit's
search index lags behind new posts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import partial
from typing import Any, Literal

import praw
import prawcore
from praw.models import Comment, Submission
from pydantic import Field

from monitor.collectors.api import ApiCollector, SourceOptions
from monitor.collectors.base import read_each
from monitor.collectors.credentials import DEFAULT_REDDIT_USER_AGENT, Credentials
from monitor.collectors.http import from_epoch, make_session
from monitor.collectors.paging import Page, Tracked, chunks, sweep
from monitor.config import Brand, ConfigError
from monitor.mentions import Batch, Engagement, MentionIn
from monitor.plugins import SourcePlugin

SOURCE = "reddit"
PAGE = 100
SITE = "https://www.reddit.com"


class RedditOptions(SourceOptions):
    query: str | None = None
    search: bool = True
    subreddits: list[str] = Field(default_factory=list)
    posts: bool = True
    comments: bool = True
    time_filter: Literal["hour", "day", "week", "month", "year", "all"] = "week"
    lookback_minutes: float = Field(60.0, ge=1)
    track_hours: float = Field(24.0, ge=0)
    track_max: int = Field(300, ge=0)
    oauth_url: str = "https://oauth.reddit.com"
    reddit_url: str = SITE


def build_query(brand: Brand) -> str:
    """Reddit search syntax: the keywords OR'ed, each exclusion NOT'ed."""
    terms = [f'"{k}"' if " " in k.strip() else k.strip() for k in brand.keywords]
    if not terms:
        raise ConfigError(f"brands.{brand.name}: reddit needs keywords (or query)")
    query = " OR ".join(terms)
    if brand.exclusions:
        query = f"({query}) " + " ".join(f'NOT "{x.strip()}"' for x in brand.exclusions)
    return query


class RedditCollector(ApiCollector):
    source = SOURCE

    def __init__(self, brand: Brand, options: RedditOptions, credentials: Credentials) -> None:
        super().__init__(brand, options)
        self.options: RedditOptions = options
        self.query = options.query or (build_query(brand) if options.search else "")
        self.reddit = praw.Reddit(
            client_id=credentials.value("REDDIT_CLIENT_ID"),
            client_secret=credentials.value("REDDIT_CLIENT_SECRET"),
            user_agent=credentials.value("REDDIT_USER_AGENT") or DEFAULT_REDDIT_USER_AGENT,
            oauth_url=options.oauth_url,
            reddit_url=options.reddit_url,
            timeout=max(1, round(options.timeout_seconds)),
            check_for_updates=False,
            check_for_async=False,
            # prawcore passes its own 16 s to every request, whatever praw's ``timeout`` says
            requestor_kwargs={
                "session": make_session(
                    options.timeout_seconds, override=True, budget=self.budget
                )
            },
        )
        self.reddit.read_only = True

    def transient(self, exc: BaseException) -> bool:
        return isinstance(exc, prawcore.ServerError | prawcore.RequestException)

    def rate_limit_reset(self, exc: BaseException) -> float | None:
        if not isinstance(exc, prawcore.TooManyRequests):
            return None
        headers = exc.response.headers
        wait = headers.get("x-ratelimit-reset") or headers.get("retry-after") or 60
        return datetime.now(UTC).timestamp() + float(wait)

    def malformed(self, exc: BaseException) -> bool:
        return isinstance(exc, prawcore.BadJSON) or super().malformed(exc)

    def collect(self, cursor: dict[str, Any] | None, now: datetime) -> Iterator[Batch]:
        state = dict(cursor or {})
        tracked = Tracked.load(
            state.get("tracked"), self.options.track_hours, self.options.track_max
        )
        seen: set[str] = set()
        for name, fetch in self._streams(now):
            pages = sweep(state.get(name), fetch, self.options.max_pages, self._lookback(),
                          self.options.backfill_start(now).timestamp())
            for page in pages:
                state[name], mentions = page.cursor, page.mentions
                tracked.add([m for m in mentions if m.external_id.startswith("t3_")], now)
                seen.update(m.external_id for m in mentions)
                cursor = {**state, "tracked": dict(tracked.posts)}
                yield Batch(mentions, cursor, rejected=page.rejected)
        yield from self._refresh(state, tracked, seen, now)

    def _lookback(self) -> float:
        return self.options.lookback_minutes * 60

    def _streams(self, now: datetime) -> list[tuple[str, Callable[..., Page]]]:
        streams = []
        if self.query:
            search = self.reddit.subreddit("all").search
            listing = partial(search, self.query, sort="new", time_filter=self.options.time_filter)
            streams.append(("search", partial(self._page, "search", listing, False, now)))
        for name in self.options.subreddits:
            sub = self.reddit.subreddit(name.removeprefix("r/"))
            if self.options.posts:
                fetch = partial(self._page, f"r/{name} new", sub.new, True, now)
                streams.append((f"new:{name}", fetch))
            if self.options.comments:
                fetch = partial(self._page, f"r/{name} comments", sub.comments, True, now)
                streams.append((f"comments:{name}", fetch))
        return streams

    def _page(
        self,
        what: str,
        listing: Callable[..., Any],
        must_match: bool,
        now: datetime,
        token: str | None,
        floor: float | None,
    ) -> Page:
        """One page of a newest-first listing; Reddit pages with the last item's fullname."""
        params = {"after": token} if token else {}

        def read() -> tuple[list[Any], Any]:
            generator = listing(limit=PAGE, params=params)
            return list(generator), generator.params.get("after")

        things, after = self.call(what, read)
        self.meter.add_items(len(things))
        # Reddit's own ``after`` says whether a page follows: a full last page has none.
        next_token = after if len(things) == PAGE and after != token else None

        def item(thing: Any) -> tuple[float, MentionIn | None]:
            mention = self._mention(thing, now)
            wanted = self.watch.matches(mention.text) or not (must_match or self._excluded(mention))
            return thing.created_utc, mention if wanted else None

        items, rejected = read_each(things, item)
        return Page(items, next_token, rejected)

    def _excluded(self, mention: MentionIn) -> bool:
        low = mention.text.casefold()
        return any(x.casefold() in low for x in self.watch.exclusions)

    def _refresh(
        self, state: dict[str, Any], tracked: Tracked, seen: set[str], now: datetime
    ) -> Iterator[Batch]:
        """Fresh score and comment counts of recent posts; removed ones stop being tracked."""
        for ids in chunks(tracked.due(seen), PAGE):
            things = self.call("info", lambda ids=ids: list(self.reddit.info(fullnames=ids)))
            self.meter.add_items(len(things))
            mentions = [self._mention(t, now) for t in things if isinstance(t, Submission)]
            tracked.forget(set(ids) - {m.external_id for m in mentions})
            yield Batch(mentions, {**state, "tracked": dict(tracked.posts)})

    def _mention(self, thing: Submission | Comment, now: datetime) -> MentionIn:
        raw = vars(thing)
        author = str(thing.author) if thing.author else None
        if isinstance(thing, Submission):
            text = f"{thing.title}\n\n{thing.selftext}".strip()
            url = SITE + raw["permalink"] if raw.get("permalink") else None
            parent, thread = None, thing.fullname
            counts = Engagement(now, likes=thing.score, replies=thing.num_comments)
        else:
            text = thing.body
            permalink = raw.get("permalink")
            url = SITE + permalink if permalink else _comment_url(thing.link_id, thing.id)
            parent, thread = thing.parent_id, thing.link_id
            counts = Engagement(now, likes=thing.score)
        return MentionIn(
            source=SOURCE,
            external_id=thing.fullname,
            brand=self.brand,
            text=text,
            created_at=from_epoch(thing.created_utc),
            url=url,
            author=author,
            parent_id=parent,
            thread_id=thread,
            engagement=counts,
        )


def _comment_url(link_id: str, comment_id: str) -> str:
    return f"{SITE}/comments/{link_id.removeprefix('t3_')}/_/{comment_id}/"


PLUGIN = SourcePlugin(
    name=SOURCE,
    summary="search, new posts and comments of configured subreddits (`praw`)",
    options=RedditOptions,
    build=RedditCollector,
    credentials=("REDDIT_CLIENT_ID", "REDDIT_CLIENT_SECRET"),
    optional_credentials=("REDDIT_USER_AGENT",),
    link="https://www.reddit.com/prefs/apps",
    example="""
interval_seconds: 300
subreddits: [brussels, belgium]   # new posts and comments there that name the brand
""",
)
