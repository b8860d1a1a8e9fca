"""Recorded histories a backtest replays: Vigie's own exports and raw App Store feed pages.

Three formats, told apart by their content, not their name:

- JSONL, one mention an object (``python -m monitor export`` writes it);
- CSV with a header (the dashboard's "Export CSV" of the Live or Inbox feed, or any sheet with at
  least ``created_at`` and ``text``);
- the JSON of Apple's customer-reviews feed (one page, or a list of pages), attributed to the
  configured brand whose ``app_id`` it is.

Every item is checked on its own: a bad one becomes a one-line error naming its file and line,
the rest is kept.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from monitor.collectors.appstore import SOURCE as APPSTORE
from monitor.collectors.appstore import review_mention, reviews_of
from monitor.collectors.base import MalformedResponse
from monitor.collectors.http import parse_time
from monitor.config import VigieConfig
from monitor.mentions import Engagement, MentionIn

_APP_ID = re.compile(r"(?:/id=?|[?&]id=)(\d{3,})")
ENGAGEMENT_FIELDS = ("likes", "reshares", "replies", "views")


Item = tuple[str, "list[MentionIn] | str"]
"""Where an item was read, and its mentions or what is wrong with it."""


class BadItem(ValueError):
    """One unreadable item; the message says what is wrong with it."""


@dataclass
class History:
    """What the files held: mentions in time order, and one line per item left out."""

    mentions: list[MentionIn] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def read_history(paths: list[Path], config: VigieConfig) -> History:
    """Every readable mention of every file, sorted by publication time."""
    history = History()
    for path in paths:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            history.errors.append(f"{path}: cannot be read ({exc.strerror or exc})")
            continue
        text = raw.decode("utf-8", errors="replace").lstrip("\ufeff")
        for where, item in _items(path, text, config):
            if isinstance(item, str):
                history.errors.append(f"{where}: {item}")
            else:
                history.mentions += item
    history.mentions.sort(key=available_at)
    return history


def available_at(mention: MentionIn) -> datetime:
    """When a collector could first have brought this (a re-poll: when its counts were seen)."""
    seen = mention.engagement.observed_at if mention.engagement else mention.created_at
    return max(mention.created_at, seen)


def _items(path: Path, text: str, config: VigieConfig) -> Iterator[Item]:
    stripped = text.lstrip()
    if not stripped:
        yield str(path), "empty file"
        return
    if stripped[0] in "[{":
        try:
            payload = json.loads(stripped)
        except ValueError:
            yield from _jsonl(path, text, config)
            return
        if _is_feed(payload):
            yield from _appstore(path, payload, config)
            return
        yield from _jsonl(path, text, config)
        return
    yield from _csv(path, text, config)


# ------------------------------------------------------------------ records


def _brand(value: Any, config: VigieConfig) -> str:
    """The record's brand as configured (case as in the config); the only brand when absent."""
    if value in (None, ""):
        if len(config.brands) == 1:
            return config.brands[0].name
        raise BadItem("no brand, and the config watches several")
    name = str(value).strip()
    for brand in config.brands:
        if brand.name.casefold() == name.casefold() or name.casefold() in (
            c.casefold() for c in brand.competitors
        ):
            return brand.name if brand.name.casefold() == name.casefold() else name
    raise BadItem(f"brand {name!r} is neither a configured brand nor a competitor")


def _time(value: Any, name: str) -> datetime:
    if value in (None, ""):
        raise BadItem(f"no {name}")
    try:
        return parse_time(str(value).strip().replace(" ", "T", 1))
    except ValueError:
        raise BadItem(f"{name} {str(value)[:40]!r} is not an ISO 8601 time") from None


def _int(value: Any, name: str, low: int = 0, high: int | None = None) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(float(value))
    except (TypeError, ValueError):
        raise BadItem(f"{name} {str(value)[:20]!r} is not a number") from None
    if number < low or (high is not None and number > high):
        raise BadItem(f"{name} {number} is out of range")
    return number


def _text(value: Any, name: str, required: bool = False) -> str | None:
    if value is None or (isinstance(value, float) and value != value):
        value = ""
    if not isinstance(value, str | int | float):
        raise BadItem(f"{name} is not text")
    text = str(value)
    if required and not text.strip():
        raise BadItem(f"no {name}")
    return text or None


def _snapshot(values: Any, at: datetime) -> Engagement | None:
    if not isinstance(values, dict):
        raise BadItem("an engagement snapshot is not an object")
    counts = {k: _int(values.get(k), k) for k in ENGAGEMENT_FIELDS}
    if all(v is None for v in counts.values()):
        return None
    observed = values.get("observed_at")
    return Engagement(_time(observed, "observed_at") if observed else at, **counts)


def _engagement(record: dict[str, Any], at: datetime) -> list[Engagement]:
    """The snapshots of a record: ``engagement`` as one object or a list of them, else the
    counts as plain fields (a CSV's ``likes`` and ``reshares`` columns)."""
    nested = record.get("engagement")
    if nested is None:
        nested = record
    items = nested if isinstance(nested, list) else [nested]
    return [e for e in (_snapshot(v, at) for v in items) if e is not None]


def _external_id(record: dict[str, Any], text: str, created: datetime) -> str:
    """The record's id; else (a sheet without one) a digest of its time and text, so the same row
    read twice is still one mention."""
    for key in ("external_id", "id"):
        value = record.get(key)
        if value not in (None, ""):
            return str(value).strip()[:255]
    digest = hashlib.sha256(f"{created.isoformat()}\n{text}".encode()).hexdigest()[:24]
    return f"row:{digest}"


def mentions_from(record: dict[str, Any], config: VigieConfig) -> list[MentionIn]:
    """One exported record as a mention, once per engagement snapshot (as a collector re-polling
    it brings it); raises :class:`BadItem` saying what is wrong."""
    if not isinstance(record, dict):
        raise BadItem("not an object")
    created = _time(record.get("created_at"), "created_at")
    text = _text(record.get("text"), "text", required=True) or ""
    source = (_text(record.get("source"), "source") or "import").strip()[:32]
    language = _text(record.get("language"), "language")
    mention = MentionIn(
        source=source,
        external_id=_external_id(record, text, created),
        brand=_brand(record.get("brand"), config),
        text=text,
        created_at=created,
        url=_text(record.get("url"), "url"),
        author=_text(record.get("author"), "author"),
        author_followers=_int(record.get("author_followers"), "author_followers"),
        language=language.strip().lower()[:8] if language and language.strip() else None,
        rating=_int(record.get("rating"), "rating", 1, 5),
        parent_id=_text(record.get("parent_id"), "parent_id"),
        thread_id=_text(record.get("thread_id"), "thread_id"),
    )
    snapshots = _engagement(record, created)
    return [replace(mention, engagement=e) for e in snapshots] or [mention]


def _jsonl(path: Path, text: str, config: VigieConfig) -> Iterator[Item]:
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            record = json.loads(line)
        except ValueError as exc:
            yield where, f"not JSON ({exc.msg})"
            continue
        yield where, _checked(record, config)


def _checked(record: Any, config: VigieConfig) -> list[MentionIn] | str:
    try:
        return mentions_from(record, config)
    except BadItem as exc:
        return str(exc)


def _csv(path: Path, text: str, config: VigieConfig) -> Iterator[Item]:
    reader = csv.DictReader(text.splitlines(keepends=True))
    missing = {"created_at", "text"} - set(reader.fieldnames or ())
    if missing:
        yield f"{path}:1", f"not a mentions export: no column {', '.join(sorted(missing))}"
        return
    for row in reader:
        where = f"{path}:{reader.line_num}"
        if None in row:
            yield where, "more cells than the header has columns"
            continue
        # The dashboard quotes a cell that would start a formula with a leading '.
        record = {k: (v[1:] if v.startswith("'") and k == "text" else v) for k, v in row.items()}
        yield where, _checked(record, config)


# -------------------------------------------------------------- App Store


def _is_feed(payload: Any) -> bool:
    pages = payload if isinstance(payload, list) else [payload]
    return bool(pages) and all(isinstance(p, dict) and "feed" in p for p in pages)


def _app_id(page: dict[str, Any]) -> str | None:
    """The app the page is about, from the feed's own id or links."""
    feed = page.get("feed") or {}
    links = feed.get("link") if isinstance(feed, dict) else None
    places = [json.dumps(feed.get("id")) if isinstance(feed, dict) else "", json.dumps(links)]
    for place in places:
        found = _APP_ID.search(place)
        if found:
            return found.group(1)
    return None


def _country(page: dict[str, Any]) -> str:
    feed = page.get("feed") or {}
    found = re.search(r"itunes\.apple\.com/([a-z]{2})/", json.dumps(feed.get("id")))
    return found.group(1) if found else "us"


def app_brands(config: VigieConfig) -> dict[str, str]:
    """app_id → brand, from the appstore options of each brand (or of the source)."""
    source = config.sources.get(APPSTORE)
    shared = (source.model_extra or {}) if source else {}
    found = {}
    for brand in config.brands:
        app = {**shared, **brand.sources.get(APPSTORE, {})}.get("app_id")
        if app:
            found[str(app)] = brand.name
    return found


def _appstore(
    path: Path, payload: Any, config: VigieConfig
) -> Iterator[Item]:
    pages = payload if isinstance(payload, list) else [payload]
    owners = app_brands(config)
    for number, page in enumerate(pages, 1):
        where = f"{path}: page {number}" if len(pages) > 1 else str(path)
        app = _app_id(page)
        if app is None or app not in owners:
            known = ", ".join(sorted(owners)) or "none"
            yield where, f"App Store app id {app or '(not found)'} is no configured brand's " \
                f"app_id (configured: {known})"
            continue
        yield from _reviews(where, page, owners[app], app)


def _reviews(
    where: str, page: dict[str, Any], brand: str, app: str
) -> Iterator[Item]:
    try:
        entries = reviews_of(page)
    except MalformedResponse as exc:
        yield where, str(exc)
        return
    country = _country(page)
    for index, entry in enumerate(entries, 1):
        try:
            yield f"{where} review {index}", [review_mention(entry, brand, app, country)[1]]
        except MalformedResponse as exc:
            yield f"{where} review {index}", str(exc)
