"""Facebook: comments and replies on the brand's own Page posts, and the Page's visitor posts.

Per run, through the Graph API (:mod:`.graph`, a Page access token): the Page's ``feed``, newest
first, resumed by :func:`~monitor.collectors.paging.sweep` on the post time (a first run reaches
back ``backfill_hours``). Posts by others on the Page are mentions, with their reactions, shares
and comment counts; every post younger than ``post_hours`` (at most ``posts_max``) is kept in the
cursor, and its comments and replies (``filter=stream``, oldest first) are read after the
``after`` cursor of the last run, so each run asks only for what was written since. Comments
written by the Page itself are not mentions: they mark the comment they reply to (or the visitor
post they answer) as answered, at the time they were written.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from functools import partial
from typing import Any
from urllib.parse import parse_qs, urlsplit

from monitor.collectors.base import read_each
from monitor.collectors.credentials import Credentials
from monitor.collectors.graph import GraphCollector, GraphOptions, count, graph_time
from monitor.collectors.paging import Tracked, chunks, sweep
from monitor.config import Brand
from monitor.mentions import Answer, Batch, Engagement, MentionIn
from monitor.plugins import SourcePlugin

SOURCE = "facebook"
REACTIONS = "reactions.summary(total_count).limit(0)"
FEED_FIELDS = (
    f"id,message,created_time,permalink_url,from{{id,name}},shares,{REACTIONS},"
    "comments.summary(total_count).limit(0)"
)
COMMENT_FIELDS = (
    f"id,message,created_time,permalink_url,from{{id,name}},parent{{id}},like_count,"
    f"comment_count,{REACTIONS}"
)


REFRESH_BATCH = 50  # ids per /?ids= call (Graph's limit)


class FacebookOptions(GraphOptions):
    page_id: str


def _permalink_ids(comment: dict[str, Any]) -> dict[str, list[str]]:
    return parse_qs(urlsplit(str(comment.get("permalink_url") or "")).query)


def comment_id(comment: dict[str, Any]) -> str:
    """A comment's own id: the last part of a ``post_comment`` id, else what its permalink says
    (``reply_comment_id`` for a reply, ``comment_id`` for a comment)."""
    if comment.get("id"):
        return str(comment["id"]).rsplit("_", 1)[-1]
    ids = _permalink_ids(comment)
    return (ids.get("reply_comment_id") or ids["comment_id"])[0]


def parent_comment_id(comment: dict[str, Any]) -> str | None:
    """The comment a reply answers (``parent``, else its permalink's ``comment_id``)."""
    parent = comment.get("parent")
    if isinstance(parent, dict) and parent.get("id"):
        return comment_id(parent)
    ids = _permalink_ids(comment)
    return ids["comment_id"][0] if ids.get("reply_comment_id") and ids.get("comment_id") else None


class FacebookCollector(GraphCollector):
    source = SOURCE

    def __init__(self, brand: Brand, options: FacebookOptions, access_token: str) -> None:
        super().__init__(brand, options, access_token)
        self.options: FacebookOptions = options
        self.page_id = options.page_id
        self.found: dict[str, tuple[float, bool]] = {}
        self.visitors: set[str] = set()

    def collect(self, cursor: dict[str, Any] | None, now: datetime) -> Iterator[Batch]:
        self.begin()
        self.found = {}
        stored: set[str] = set()
        state = dict(cursor or {})
        posts = Tracked.load(state.get("posts"), self.options.post_hours, self.options.posts_max)
        self.visitors = set(state.get("visitors") or ())
        since = now.timestamp() - self.options.backfill_hours * 3600
        read = partial(self._post, now=now)
        fetch = self.newest_first("Page feed", self.page_id, "feed", read, fields=FEED_FIELDS)
        for batch in sweep(state.get("feed") or {"floor": since}, fetch, self.options.max_pages):
            posts.posts.update({i: t for i, (t, _) in self.found.items()})
            posts.prune(now)
            self.visitors |= {i for i, (_, by_visitor) in self.found.items() if by_visitor}
            self.visitors &= set(posts.posts)
            state |= {
                "feed": batch.cursor,
                "posts": dict(posts.posts),
                "visitors": sorted(self.visitors),
            }
            stored |= {m.external_id for m in batch.mentions}
            yield Batch(batch.mentions, dict(state), rejected=batch.rejected)
        yield from self._refresh(state, sorted(self.visitors - stored), now)
        yield from self._comments(state, list(posts.posts), since, now)

    def _refresh(self, state: dict[str, Any], due: list[str], now: datetime) -> Iterator[Batch]:
        """Fresh reactions, shares and comment counts of the recent visitor posts this run's feed
        did not bring, so their spreading can be measured."""
        for ids in chunks(due, REFRESH_BATCH):
            nodes = self.objects("visitor posts re-poll", ids, FEED_FIELDS)
            read, rejected = read_each(list(nodes.values()), partial(self._post, now=now))
            yield Batch([m for _, m in read if m], dict(state), rejected=rejected)

    def _post(self, post: dict[str, Any], now: datetime) -> tuple[float, MentionIn | None]:
        created = graph_time(post["created_time"])
        author = post.get("from") or {}
        by_visitor = bool(author) and str(author.get("id")) != self.page_id
        self.found[str(post["id"])] = (created.timestamp(), by_visitor)
        if not by_visitor:
            return created.timestamp(), None  # the Page's own post: its comments are read
        mention = MentionIn(
            source=SOURCE,
            external_id=str(post["id"]),
            brand=self.brand,
            text=str(post.get("message") or ""),
            created_at=created,
            url=post.get("permalink_url"),
            author=author.get("name"),
            thread_id=str(post["id"]),
            engagement=Engagement(
                now,
                likes=count(post.get("reactions")),
                reshares=(post.get("shares") or {}).get("count", 0),
                replies=count(post.get("comments")),
            ),
        )
        return created.timestamp(), mention

    def _comments(
        self, state: dict[str, Any], post_ids: list[str], since: float, now: datetime
    ) -> Iterator[Batch]:
        """New comments and replies of every tracked post, after each post's saved cursor."""
        afters = {p: a for p, a in (state.get("comments") or {}).items() if p in post_ids}
        for post_id in post_ids:
            first = post_id not in afters
            pages = self.forward(
                f"comments on {post_id}", post_id, "comments", afters.get(post_id),
                filter="stream", order="chronological", fields=COMMENT_FIELDS,
            )
            for data, after in pages:
                read, rejected = read_each(data, partial(self._comment, post_id, now))
                mentions = [
                    m for m, _ in read if m and (not first or m.created_at.timestamp() > since)
                ]
                answers = [a for _, a in read if a]
                afters[post_id] = after
                state["comments"] = dict(afters)
                yield Batch(mentions, dict(state), answers=answers, rejected=rejected)
        state["comments"] = afters

    def _comment(
        self, post_id: str, now: datetime, comment: dict[str, Any]
    ) -> tuple[MentionIn | None, Answer | None]:
        ident = comment_id(comment)
        created = graph_time(comment["created_time"])
        parent_id = parent_comment_id(comment)
        author = comment.get("from") or {}
        if str(author.get("id")) == self.page_id:
            answered = parent_id or (post_id if post_id in self.visitors else None)
            answer = Answer(SOURCE, answered, created, comment.get("permalink_url"))
            return None, answer if answered else None
        mention = MentionIn(
            source=SOURCE,
            external_id=ident,
            brand=self.brand,
            text=str(comment.get("message") or ""),
            created_at=created,
            url=comment.get("permalink_url"),
            author=author.get("name"),
            parent_id=parent_id or (post_id if post_id in self.visitors else None),
            thread_id=post_id,
            engagement=Engagement(
                now,
                likes=count(comment.get("reactions")) or comment.get("like_count"),
                replies=comment.get("comment_count"),
            ),
        )
        return mention, None


def _build(brand: Brand, options: FacebookOptions, creds: Credentials) -> FacebookCollector:
    return FacebookCollector(brand, options, creds.value("FACEBOOK_PAGE_ACCESS_TOKEN") or "")


PLUGIN = SourcePlugin(
    name=SOURCE,
    summary="comments and replies on the brand's Page posts with reactions, and visitor posts; "
    "the Page's own replies mark them answered (Graph API, `python-facebook-api`)",
    options=FacebookOptions,
    build=_build,
    credentials=("FACEBOOK_PAGE_ACCESS_TOKEN",),
    requires=("page_id",),
    link="https://developers.facebook.com/docs/graph-api/reference/page/feed/",
    example="""
interval_seconds: 300
usage_limit_percent: 90     # stop before Meta's hourly call budget runs out
post_hours: 72              # read new comments on posts this recent
""",
    brand_example="{page_id: \"19292868552\"}   # a Page access token of that Page",
)
