"""Instagram: comments and replies on the brand's own media, media it is tagged in, and hashtags.

Through the Instagram Graph API (:mod:`.graph`; an Instagram professional account linked to a
Facebook Page, and that Page's token). Per run:

- the account's ``media``, newest first: each one younger than ``post_hours`` (at most
  ``posts_max``) is kept in the cursor, and its ``comments`` (newest first, with their
  ``replies``) are swept down to the newest comment stored the last time. A reply written by the
  account itself (``username``) marks the comment it answers as answered;
- ``tags``: media in which others tagged the account (Instagram's mentions), with likes and
  comment counts;
- each of ``hashtags``: its ``recent_media`` (the last 24 hours). Instagram may leave the time
  out of a hashtag's media; such a media is dated when first seen.

Every listing resumes through :func:`~monitor.collectors.paging.sweep`; a first run reaches back
``backfill_hours`` at most.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from functools import partial
from typing import Any

from pydantic import Field

from monitor.collectors.base import MalformedResponse
from monitor.collectors.credentials import Credentials
from monitor.collectors.graph import GraphCollector, GraphOptions, graph_time
from monitor.collectors.paging import Tracked, sweep
from monitor.config import Brand
from monitor.mentions import Answer, Batch, Engagement, MentionIn
from monitor.plugins import SourcePlugin

SOURCE = "instagram"
MEDIA_FIELDS = "id,caption,timestamp,permalink,username,like_count,comments_count"
COMMENT = "id,text,timestamp,username,like_count"
COMMENT_FIELDS = f"{COMMENT},replies{{{COMMENT}}}"


class InstagramOptions(GraphOptions):
    ig_user_id: str
    username: str | None = None
    tags: bool = True
    hashtags: list[str] = Field(default_factory=list)


class InstagramCollector(GraphCollector):
    source = SOURCE

    def __init__(self, brand: Brand, options: InstagramOptions, access_token: str) -> None:
        super().__init__(brand, options, access_token)
        self.options: InstagramOptions = options
        self.user = options.ig_user_id
        self.own = (options.username or "").casefold()
        self.found: dict[str, float] = {}
        self.extra: list[MentionIn] = []
        self.answers: list[Answer] = []

    def collect(self, cursor: dict[str, Any] | None, now: datetime) -> Iterator[Batch]:
        self.begin()
        self.found = {}
        state = dict(cursor or {})
        start = {"floor": now.timestamp() - self.options.backfill_hours * 3600}
        media = Tracked.load(state.get("media"), self.options.post_hours, self.options.posts_max)
        own = self.newest_first("own media", self.user, "media", self._own, fields=MEDIA_FIELDS)
        for batch in sweep(state.get("own") or start, own, self.options.max_pages):
            media.posts.update(self.found)
            media.prune(now)
            state |= {"own": batch.cursor, "media": dict(media.posts)}
            yield Batch([], dict(state), rejected=batch.rejected)
        comments = {k: v for k, v in (state.get("comments") or {}).items() if k in media.posts}
        for media_id in list(media.posts):
            yield from self._comments(state, comments, media_id, start, now)
        for name, fetch in self._mention_streams(state, now):
            for batch in sweep(state.get(name) or start, fetch, self.options.max_pages):
                state[name] = batch.cursor
                yield Batch(batch.mentions, dict(state), rejected=batch.rejected)

    def _own(self, item: dict[str, Any]) -> tuple[float, None]:
        created = graph_time(item["timestamp"]).timestamp()
        self.found[str(item["id"])] = created
        return created, None

    def _comments(
        self,
        state: dict[str, Any],
        floors: dict[str, Any],
        media_id: str,
        start: dict[str, float],
        now: datetime,
    ) -> Iterator[Batch]:
        read = partial(self._comment, media_id, now)
        fetch = self.newest_first(
            f"comments on {media_id}", media_id, "comments", read, fields=COMMENT_FIELDS
        )
        for batch in sweep(floors.get(media_id) or start, fetch, self.options.max_pages):
            floors[media_id] = batch.cursor
            state["comments"] = dict(floors)
            extra, answers = self.extra, self.answers
            self.extra, self.answers = [], []
            yield Batch(batch.mentions + extra, dict(state), answers, batch.rejected)

    def _comment(
        self, media_id: str, now: datetime, item: dict[str, Any]
    ) -> tuple[float, MentionIn | None]:
        """A comment, and (kept aside for the batch) its replies or the account's answers."""
        comment = self._mention(item, now, parent=None, thread=media_id)
        replies = (item.get("replies") or {}).get("data") or []
        if not isinstance(replies, list):
            raise MalformedResponse("replies is not a list")
        answers = [
            Answer(SOURCE, comment.external_id, graph_time(r["timestamp"]), comment.url)
            for r in replies
            if self._by_account(r)
        ]
        others = [
            self._mention(r, now, parent=comment.external_id, thread=media_id)
            for r in replies
            if not self._by_account(r)
        ]
        self.answers += answers  # only once the whole comment could be read
        self.extra += others
        mark = comment.created_at.timestamp()
        return mark, None if self._by_account(item) else comment

    def _by_account(self, item: dict[str, Any]) -> bool:
        return bool(self.own) and str(item.get("username") or "").casefold() == self.own

    def _mention_streams(self, state: dict[str, Any], now: datetime) -> list[tuple[str, Any]]:
        streams = []
        media = partial(self._media, now)
        if self.options.tags:
            streams.append(
                ("tags", self.newest_first("tags", self.user, "tags", media, fields=MEDIA_FIELDS))
            )
        for tag in self.options.hashtags:
            hashtag = self._hashtag(state, tag)
            fetch = self.newest_first(
                f"#{tag}", hashtag, "recent_media", media, user_id=self.user, fields=MEDIA_FIELDS
            )
            streams.append((f"tag:{tag}", fetch))
        return streams

    def _hashtag(self, state: dict[str, Any], tag: str) -> str:
        """The hashtag's id, looked up once (Instagram allows 30 new hashtags a week)."""
        ids = state.setdefault("hashtag_ids", {})
        if tag not in ids:
            body = self.edge(f"#{tag} id", "ig_hashtag_search", "", user_id=self.user, q=tag)
            if not body["data"] or "id" not in body["data"][0]:
                raise MalformedResponse(f"#{tag}: no hashtag id in the response")
            ids[tag] = str(body["data"][0]["id"])
        return ids[tag]

    def _media(self, now: datetime, item: dict[str, Any]) -> tuple[float, MentionIn]:
        created = graph_time(item["timestamp"]) if item.get("timestamp") else now
        mention = MentionIn(
            source=SOURCE,
            external_id=str(item["id"]),
            brand=self.brand,
            text=str(item.get("caption") or ""),
            created_at=created,
            url=item.get("permalink"),
            author=item.get("username"),
            thread_id=str(item["id"]),
            engagement=Engagement(
                now, likes=item.get("like_count"), replies=item.get("comments_count")
            ),
        )
        return created.timestamp(), mention

    def _mention(
        self, item: dict[str, Any], now: datetime, parent: str | None, thread: str
    ) -> MentionIn:
        return MentionIn(
            source=SOURCE,
            external_id=str(item["id"]),
            brand=self.brand,
            text=str(item["text"]),
            created_at=graph_time(item["timestamp"]),
            author=item.get("username"),
            parent_id=parent,
            thread_id=thread,
            engagement=Engagement(now, likes=item.get("like_count")),
        )


def _build(brand: Brand, options: InstagramOptions, creds: Credentials) -> InstagramCollector:
    return InstagramCollector(brand, options, creds.value("INSTAGRAM_ACCESS_TOKEN") or "")


PLUGIN = SourcePlugin(
    name=SOURCE,
    summary="comments and replies on the brand's own media, media it is tagged in, a hashtag; "
    "its own replies mark comments answered (Graph API, `python-facebook-api`)",
    options=InstagramOptions,
    build=_build,
    credentials=("INSTAGRAM_ACCESS_TOKEN",),
    requires=("ig_user_id",),
    link="https://developers.facebook.com/docs/instagram-platform/instagram-graph-api",
    example="""
interval_seconds: 600
hashtags: [parkeo]          # recent media with the hashtag (30 distinct tags a week)
""",
    brand_example='{ig_user_id: "17841406338772941", username: parkeo}',
)
