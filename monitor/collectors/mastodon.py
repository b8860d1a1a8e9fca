"""Mastodon through ``Mastodon.py``: status search and hashtag timelines on one instance.

Mastodon pages forward with ``min_id``: each page holds the statuses just above the cursor, so the
cursor moves to the newest id of every stored page and a crash resumes exactly there. Counts of
favourites, boosts and replies are stored as seen at collection time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import mastodon
from pydantic import Field, field_validator

from monitor.collectors.api import ApiCollector, SourceOptions
from monitor.collectors.base import read_each
from monitor.collectors.credentials import Credentials
from monitor.collectors.http import make_session, parse_time
from monitor.collectors.markup import html_to_text
from monitor.config import Brand
from monitor.mentions import Batch, Engagement, MentionIn, Rejected
from monitor.plugins import SourcePlugin

SOURCE = "mastodon"
ASSUMED_VERSION = "4.0.0"


class MastodonOptions(SourceOptions):
    instance: str
    search: bool = True
    hashtags: list[str] | None = None
    page_size: int = Field(40, gt=0, le=40)

    @field_validator("instance")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError(f"not a URL: {value!r} (e.g. https://mastodon.social)")
        return value.rstrip("/")

    @field_validator("hashtags")
    @classmethod
    def _tags(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else [t.strip().lstrip("#") for t in value if t.strip()]


def default_hashtags(brand: Brand) -> list[str]:
    """Single-word keywords and handles, as hashtags (``#parkeo``)."""
    words = [k for k in brand.keywords if k.replace("_", "").isalnum()]
    words += [h.lstrip("@") for h in brand.handles]
    return list(dict.fromkeys(w.casefold() for w in words))


class MastodonCollector(ApiCollector):
    source = SOURCE

    def __init__(self, brand: Brand, options: MastodonOptions, access_token: str) -> None:
        super().__init__(brand, options)
        self.options: MastodonOptions = options
        self.host = urlsplit(options.instance).netloc
        self.client = mastodon.Mastodon(
            access_token=access_token,
            api_base_url=options.instance,
            ratelimit_method="throw",
            request_timeout=options.timeout_seconds,
            version_check_mode="none",
            # Without a known version Mastodon.py asks /api/v1/instance before every search with
            # min_id, and recursed until RecursionError when that endpoint was down. Search
            # with min_id needs 2.8 (2019); no instance that old is still federating.
            mastodon_version=ASSUMED_VERSION,
            session=make_session(options.timeout_seconds, budget=self.budget),
        )
        tags = options.hashtags if options.hashtags is not None else default_hashtags(brand)
        self.hashtags = tags

    def transient(self, exc: BaseException) -> bool:
        return isinstance(exc, mastodon.MastodonNetworkError | mastodon.MastodonServerError)

    def rate_limit_reset(self, exc: BaseException) -> float | None:
        if not isinstance(exc, mastodon.MastodonRatelimitError):
            return None
        reset = self.client.ratelimit_reset
        return float(reset) if reset else datetime.now(UTC).timestamp() + 300

    def malformed(self, exc: BaseException) -> bool:
        return isinstance(exc, mastodon.MastodonAPIError) and "parse response as JSON" in str(exc)

    def collect(self, cursor: dict[str, Any] | None, now: datetime) -> Iterator[Batch]:
        state = dict(cursor or {})
        for name, fetch in self._streams():
            for mentions, newest, rejected in self._forward(fetch, state.get(name), now):
                state[name] = newest
                yield Batch(mentions, dict(state), rejected=rejected)

    def _streams(self) -> list[tuple[str, Callable[[str | None], list[Any]]]]:
        streams = []
        if self.options.search:
            for keyword in self.watch.keywords:
                streams.append((f"search:{keyword}", partial(self._search, keyword)))
        for tag in self.hashtags:
            streams.append((f"tag:{tag}", partial(self._tag, tag)))
        return streams

    def _search(self, keyword: str, min_id: str | None) -> list[Any]:
        result = self.call(
            f"search {keyword!r}",
            self.client.search_v2,
            keyword,
            resolve=False,
            result_type="statuses",
            min_id=min_id,
            limit=self.options.page_size,
        )
        return list(result.statuses)

    def _tag(self, tag: str, min_id: str | None) -> list[Any]:
        return list(
            self.call(
                f"#{tag} timeline",
                self.client.timeline_hashtag,
                tag,
                min_id=min_id,
                limit=self.options.page_size,
            )
        )

    def _forward(
        self, fetch: Callable[[str | None], list[Any]], newest: str | None, now: datetime
    ) -> Iterator[tuple[list[MentionIn], str | None, list[Rejected]]]:
        """Pages above ``newest``, oldest page first; the first run takes the latest page only,
        and of it nothing older than ``backfill_hours``."""
        since = self.options.backfill_start(now) if newest is None else None
        for _ in range(self.options.max_pages):
            statuses = fetch(newest)
            self.meter.add_items(len(statuses))
            if not statuses:
                return
            newest = str(statuses[0].id)
            mentions, rejected = read_each(
                [s for s in statuses if self._wanted(s)], lambda s: self._mention(s, now)
            )
            yield [m for m in mentions if since is None or m.created_at >= since], newest, rejected
            if len(statuses) < self.options.page_size:
                return

    def _wanted(self, status: Any) -> bool:
        if status.reblog is not None:
            return False
        low = self._text(status).casefold()
        return not any(x.casefold() in low for x in self.watch.exclusions)

    @staticmethod
    def _text(status: Any) -> str:
        body = html_to_text(status.content)
        return f"{status.spoiler_text}\n\n{body}".strip() if status.spoiler_text else body

    def _mention(self, status: Any, now: datetime) -> MentionIn:
        account = status.account
        created = status.created_at
        created = parse_time(created) if isinstance(created, str) else created.astimezone(UTC)
        reply_to = status.in_reply_to_id
        return MentionIn(
            source=SOURCE,
            external_id=f"{self.host}/{status.id}",
            brand=self.brand,
            text=self._text(status),
            created_at=created,
            url=status.url or status.uri,
            author=account.acct,
            author_followers=account.followers_count,
            language=status.language,
            parent_id=f"{self.host}/{reply_to}" if reply_to else None,
            engagement=Engagement(
                now,
                likes=status.favourites_count,
                reshares=status.reblogs_count,
                replies=status.replies_count,
            ),
        )


def _build(brand: Brand, options: MastodonOptions, creds: Credentials) -> MastodonCollector:
    return MastodonCollector(brand, options, creds.value("MASTODON_ACCESS_TOKEN") or "")


PLUGIN = SourcePlugin(
    name=SOURCE,
    summary="search and hashtag timelines on `instance` (`Mastodon.py`)",
    options=MastodonOptions,
    build=_build,
    credentials=("MASTODON_ACCESS_TOKEN",),
    link="https://docs.joinmastodon.org/client/token/",
    example="""
instance: https://mastodon.social
hashtags: [parkeo]          # default: the brand's one-word keywords and handles
""",
)
