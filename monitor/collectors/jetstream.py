"""Bluesky's Jetstream firehose, read live in a thread of its own and drained by each collection.

Decision: the websocket is read by one daemon thread per endpoint, shared by every brand; the
scheduled collection only *drains* what that thread has buffered for its brand, so it never waits
on the network and never blocks the scheduler. Each brand's buffer is bounded (``buffer_max``):
when one is full the reader stops reading (back-pressure) instead of dropping events; if the server
then closes the connection, the reader reconnects from its cursor and nothing is lost.

Cursors: Jetstream replays from a ``cursor`` (``time_us``, microseconds). Its events arrive only
roughly in ``time_us`` order, so the reader always reconnects ``REWIND_US`` (5 s) before the
newest event it read, as Jetstream's documentation advises, and each brand drops the events it
has already taken (by repo, collection, record key and revision). A brand's cursor is the stream
position at which its buffer was last emptied; it is committed with the batch that carried the
events, and a restart resumes from the oldest brand's cursor (the unique key on mentions absorbs
what the 5 s margin replays).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from websockets.exceptions import InvalidStatus, WebSocketException
from websockets.sync.client import ClientConnection, connect

from monitor.mentions import Rejected
from monitor.storage.quarantine import reject

POSTS = "app.bsky.feed.post"
REWIND_US = 5_000_000
POLL_SECONDS = 0.5
log = logging.getLogger(__name__)


@dataclass
class Subscriber:
    """One brand's view of the stream: what it wants, its buffer, and what it already took."""

    wants: Callable[[str], bool]
    floor: int
    buffer: deque[dict[str, Any]] = field(default_factory=deque)
    taken: dict[tuple[str, ...], int] = field(default_factory=dict)
    top: int = 0


@dataclass(frozen=True, slots=True)
class Drained:
    events: list[dict[str, Any]]
    position: int
    rejected: list[Rejected]


class Jetstream:
    """The shared reader of one Jetstream endpoint (see the module docstring)."""

    def __init__(
        self, url: str, buffer_max: int, idle_timeout: float, retry_wait: float = 1.0
    ) -> None:
        self.url = url
        self.buffer_max = buffer_max
        self.idle_timeout = idle_timeout
        self.retry_wait = retry_wait
        self.position: int | None = None
        self.connections = 0
        self.problem: str | None = None
        self.held_until: float | None = None
        self._subs: dict[str, Subscriber] = {}
        self._rejected: list[Rejected] = []
        self._cond = threading.Condition()
        self._rewind = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- the collection's side (never blocks on the network) ----------------------------------

    def subscribe(self, key: str, wants: Callable[[str], bool], floor: int) -> None:
        """Follow the stream for ``key`` from its committed cursor ``floor`` (microseconds).

        A cursor behind what was handed over last (that batch was never stored) or behind the
        stream itself makes the reader go back to it."""
        with self._cond:
            sub = self._subs.get(key)
            if sub is None or floor < sub.floor:
                self._subs[key] = Subscriber(wants, floor)
                if self.position is not None and floor < self.position - REWIND_US:
                    self._rewind = True
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="jetstream", daemon=True)
                self._thread.start()

    def drain(self, key: str) -> Drained:
        """Everything buffered for ``key``, and the position its cursor may move to."""
        with self._cond:
            sub = self._subs[key]
            events = list(sub.buffer)
            sub.buffer.clear()
            position = max(sub.floor, self.position or sub.floor)
            sub.floor = position
            rejected, self._rejected = self._rejected, []
            self._cond.notify_all()
        return Drained(events, position, rejected)

    def close(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=10)

    # --- the reader thread ----------------------------------------------------------------------

    def _cursor(self) -> int:
        with self._cond:
            start = min((s.floor for s in self._subs.values()), default=0)
            if self.position is not None and not self._rewind:
                start = self.position
            self._rewind = False
        return max(start - REWIND_US, 0)

    def _run(self) -> None:
        while not self._stop.is_set():
            wait = self.retry_wait
            try:
                self._read(self._cursor())
            except InvalidStatus as exc:
                wait = self._refused(exc)
            except (OSError, TimeoutError, WebSocketException) as exc:
                self.problem = f"{type(exc).__name__}: {exc}"
                log.warning("jetstream: %s; reconnecting from the cursor", self.problem)
            self._stop.wait(wait)

    def _refused(self, exc: InvalidStatus) -> float:
        status = exc.response.status_code
        self.problem = f"the server refused the connection (HTTP {status})"
        wait = self.retry_wait
        if status == 429:
            header = exc.response.headers.get("Retry-After")
            wait = float(header) if header and header.isdigit() else 60.0
            self.held_until = time.time() + wait
            self.problem = f"rate limited (HTTP 429) for {wait:.0f} s"
        log.warning("jetstream: %s", self.problem)
        return wait

    def _read(self, cursor: int) -> None:
        query = urlencode({"wantedCollections": POSTS, "cursor": cursor})
        sep = "&" if "?" in self.url else "?"
        with connect(f"{self.url}{sep}{query}", open_timeout=self.idle_timeout) as ws:
            self.connections += 1
            self.problem = self.held_until = None
            log.info("jetstream: connected from cursor %d", cursor)
            self._receive(ws)

    def _receive(self, ws: ClientConnection) -> None:
        idle = 0.0
        while not self._stop.is_set() and not self._rewind:
            try:
                message = ws.recv(timeout=POLL_SECONDS)
            except TimeoutError:
                idle += POLL_SECONDS
                if idle >= self.idle_timeout:
                    raise TimeoutError(f"no event for {idle:.0f} s") from None
                continue
            idle = 0.0
            self._dispatch(message)

    def _dispatch(self, message: str | bytes) -> None:
        try:
            event = json.loads(message)
            moment = int(event["time_us"])
        except (ValueError, TypeError, KeyError) as exc:
            with self._cond:
                self._rejected.append(reject(message, exc))
            return
        post = _post_text(event)
        with self._cond:
            for sub in self._subs.values():
                self._offer(sub, event, moment, post)
            self.position = max(self.position or 0, moment)

    def _offer(self, sub: Subscriber, event: dict, moment: int, text: str | None) -> None:
        """Hand an event to one brand: new, its post names the brand; waits while it is full."""
        sub.top = max(sub.top, moment)
        if text is None or moment <= sub.floor - REWIND_US or not sub.wants(text):
            return
        key = _identity(event)
        if key in sub.taken:
            return
        while len(sub.buffer) >= self.buffer_max and not self._stop.is_set():
            self._cond.wait(POLL_SECONDS)
        sub.buffer.append(event)
        sub.taken[key] = moment
        oldest = sub.top - 2 * REWIND_US
        for old in [k for k, t in sub.taken.items() if t < oldest]:
            del sub.taken[old]


def _post_text(event: Any) -> str | None:
    """The text of a created post, or None for anything else (likes, deletes, identity…)."""
    commit = event.get("commit") if isinstance(event, dict) else None
    if event.get("kind") != "commit" or not isinstance(commit, dict):
        return None
    if commit.get("collection") != POSTS or commit.get("operation") != "create":
        return None
    record = commit.get("record")
    text = record.get("text") if isinstance(record, dict) else None
    return text if isinstance(text, str) else None


def _identity(event: dict[str, Any]) -> tuple[str, ...]:
    commit = event["commit"]
    return (str(event.get("did")), str(commit.get("rkey")), str(commit.get("rev")))


_STREAMS: dict[str, Jetstream] = {}
_STREAMS_LOCK = threading.Lock()


def shared(url: str, buffer_max: int, idle_timeout: float) -> Jetstream:
    """The process's reader of ``url`` (one websocket for every brand)."""
    with _STREAMS_LOCK:
        if url not in _STREAMS:
            _STREAMS[url] = Jetstream(url, buffer_max, idle_timeout)
        return _STREAMS[url]


def close_all() -> None:
    with _STREAMS_LOCK:
        streams = list(_STREAMS.values())
        _STREAMS.clear()
    for stream in streams:
        stream.close()


def micros(moment: datetime) -> int:
    return int(moment.astimezone(UTC).timestamp() * 1_000_000)
