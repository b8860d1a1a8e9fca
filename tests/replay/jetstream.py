"""A Jetstream server on 127.0.0.1: a real websocket endpoint replaying captured events.

Like Jetstream, it honours ``cursor`` (events with ``time_us`` at or after it, in order) and then
stays open as a live tail would. A test can refuse handshakes (HTTP 429), drop a connection after
some events, or fall silent mid-stream (an idle connection the client must give up on).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve


def time_of(line: str) -> int | None:
    try:
        return int(json.loads(line)["time_us"])
    except (ValueError, TypeError, KeyError):
        return None


@dataclass
class Script:
    """What each successive connection does: refused with a status, cut after n events, or
    silent after n events (until the test ends)."""

    refuse: list[int] = field(default_factory=list)
    drop_after: dict[int, int] = field(default_factory=dict)
    silent_after: dict[int, int] = field(default_factory=dict)


class JetstreamReplay:
    def __init__(self, lines: list[str], script: Script | None = None) -> None:
        self.lines = lines
        self.script = script or Script()
        self.cursors: list[int | None] = []
        self.sent: list[list[str]] = []
        self.refused = 0
        self.done = threading.Event()
        self._server: Server = serve(self._handle, "127.0.0.1", 0, process_request=self._handshake)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.socket.getsockname()[:2]
        return f"ws://{host}:{port}/subscribe"

    def _handshake(self, connection: ServerConnection, request: Request) -> Response | None:
        if self.refused < len(self.script.refuse):
            status = self.script.refuse[self.refused]
            self.refused += 1
            response = connection.respond(status, "Too Many Requests\n")
            response.headers["Retry-After"] = "1"
            return response
        return None

    def _handle(self, ws: ServerConnection) -> None:
        query = parse_qs(urlsplit(ws.request.path if ws.request else "").query)
        cursor = int(query["cursor"][0]) if "cursor" in query else None
        index = len(self.cursors)
        self.cursors.append(cursor)
        sent: list[str] = []
        self.sent.append(sent)
        try:
            for line in self.lines:
                moment = time_of(line)
                if cursor is not None and moment is not None and moment < cursor:
                    continue
                if len(sent) == self.script.drop_after.get(index):
                    ws.close(1011, "dropped by the test")
                    return
                if len(sent) == self.script.silent_after.get(index):
                    self.done.wait()
                    return
                ws.send(line)
                sent.append(line)
            self.done.wait()  # the live tail: nothing new
        except ConnectionClosed:
            return

    def start(self) -> JetstreamReplay:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.done.set()
        self._server.shutdown()


@contextmanager
def replaying(lines: list[str], script: Script | None = None) -> Iterator[JetstreamReplay]:
    server = JetstreamReplay(lines, script).start()
    try:
        yield server
    finally:
        server.stop()


def sorted_events(lines: list[str]) -> list[str]:
    """Captured lines in ``time_us`` order, as Jetstream replays from a cursor."""
    return sorted(lines, key=lambda line: time_of(line) or 0)


def event_line(event: dict[str, Any]) -> str:
    return json.dumps(event, separators=(",", ":"))
