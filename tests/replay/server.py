"""A local HTTP server on 127.0.0.1 that answers with recorded (or scripted) responses.

Routes are keyed by method and path (queries differ from the recordings'); each route holds a
queue of replies, the last of which repeats. A reply can be delayed (timeouts), dropped
(connection reset), held until the test releases it (kill -9 mid-request), or computed from the
request (pagination). Every request is logged for assertions.
"""

from __future__ import annotations

import gzip
import json
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

HOP_HEADERS = {"content-length", "transfer-encoding", "connection", "keep-alive"}


@dataclass
class Seen:
    """A request as the server received it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False
    hold: threading.Event | None = None

    @classmethod
    def json(cls, payload: Any, status: int = 200, **headers: str) -> Reply:
        head = {"Content-Type": "application/json; charset=utf-8", **headers}
        return cls(status, json.dumps(payload).encode(), head)

    @classmethod
    def gzipped_json(cls, payload: Any, status: int = 200) -> Reply:
        head = {"Content-Type": "application/json; charset=utf-8", "Content-Encoding": "gzip"}
        return cls(status, gzip.compress(json.dumps(payload).encode()), head)


Answer = Reply | Callable[[Seen], Reply]


def normal(path: str) -> str:
    return path.rstrip("/") or "/"


class ReplayServer:
    """``add(method, path, *replies)``; ``url`` is the base to point a client library at."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], list[Answer]] = {}
        self.seen: list[Seen] = []
        self.misses: list[str] = []
        self.arrived = threading.Event()
        self.latency = 0.0
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def add(self, method: str, path: str, *replies: Answer) -> None:
        self.routes.setdefault((method.upper(), normal(path)), []).extend(replies)

    def requests_to(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == normal(path)]

    def _next(self, seen: Seen) -> Reply | None:
        with self._lock:
            self.seen.append(seen)
            queue = self.routes.get((seen.method, seen.path))
            if not queue:
                self.misses.append(f"{seen.method} {seen.path}")
                return None
            answer = queue.pop(0) if len(queue) > 1 else queue[0]
        return answer(seen) if callable(answer) else answer

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                # Headers and body leave in two writes; without TCP_NODELAY, Nagle's algorithm
                # and the client's delayed ACK would add ~40 ms to every reply.
                super().setup()
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                seen = Seen(
                    self.command,
                    normal(parts.path),
                    parse_qs(parts.query),
                    dict(self.headers.items()),
                    self.rfile.read(length) if length else b"",
                )
                reply = server._next(seen)
                if reply is None:
                    reply = Reply.json({"error": f"no replay for {seen.method} {seen.path}"}, 404)
                if reply.hold is not None:
                    server.arrived.set()
                    reply.hold.wait(30)
                if reply.drop:
                    self.close_connection = True
                    return
                if reply.delay or server.latency:
                    threading.Event().wait(reply.delay + server.latency)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        if name.lower() not in HOP_HEADERS:
                            self.send_header(name, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            do_GET = do_POST = do_PUT = do_DELETE = _serve

        return Handler

    def start(self) -> ReplayServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@contextmanager
def serving() -> Iterator[ReplayServer]:
    server = ReplayServer().start()
    try:
        yield server
    finally:
        server.stop()
