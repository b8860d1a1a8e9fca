"""Point a client library with a hard-coded host (tweepy) at the local replay server."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import requests

from monitor.collectors.http import TimeoutAdapter


class Redirect(TimeoutAdapter):
    """A transport adapter that sends every request to ``target`` instead, path and query kept."""

    def __init__(self, target: str, timeout: float = 5.0) -> None:
        super().__init__(timeout)
        self.target = target.rstrip("/")

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        parts = urlsplit(request.url or "")
        request.url = self.target + parts.path + (f"?{parts.query}" if parts.query else "")
        return super().send(request, **kwargs)


def redirect(session: requests.Session, prefix: str, target: str, timeout: float = 5.0) -> None:
    session.mount(prefix, Redirect(target, timeout))
