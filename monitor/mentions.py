"""What flows from collect to store: a mention as collected, its engagement, and a page of them.

Kept apart from ``monitor.collectors`` so that storage, scoring and tests can speak of mentions
without loading every source module and its client library.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Engagement:
    """Counts seen at ``observed_at``; ``None`` where the service does not tell."""

    observed_at: datetime
    likes: int | None = None
    reshares: int | None = None
    replies: int | None = None
    views: int | None = None


@dataclass(frozen=True, slots=True)
class MentionIn:
    """A mention as collected, before storage gives it an id."""

    source: str
    external_id: str
    brand: str
    text: str
    created_at: datetime
    url: str | None = None
    author: str | None = None
    author_followers: int | None = None
    language: str | None = None
    rating: int | None = None
    parent_id: str | None = None
    thread_id: str | None = None
    engagement: Engagement | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    """The brand's own public reply to a collected mention (its channel or account answering).

    Sources that can tell who wrote a reply report it, so "answered" and the time to answer are
    known without someone marking it on the dashboard; the reply itself is not a mention.
    """

    source: str
    external_id: str
    answered_at: datetime
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Rejected:
    """An item a source sent that cannot be read: set aside with why, so it costs only itself."""

    payload: str
    error: str


@dataclass(slots=True)
class Batch:
    """One page of results, the brand's answers found on it, the items of it set aside, and the
    cursor that follows."""

    mentions: list[MentionIn] = field(default_factory=list)
    cursor: dict[str, Any] | None = None
    answers: list[Answer] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)


class Stream(Protocol):
    """Whoever produced a batch, as storage files its cursor: ``key`` names the stored state."""

    source: str
    key: str
    brand: str | None
