"""The replay server's answers for bench/collect.py: shared helpers, and the YouTube, Hacker News
and live Bluesky (Jetstream) sources."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.collectors import jetstream
from monitor.collectors.base import Collector
from tests.replay.jetstream import event_line, time_of
from tests.replay.server import Reply, Seen

VIDEOS = 2
PER_PAGE = 50
NOW = datetime.now(UTC).replace(microsecond=0)


def _brand_of(text: str | None) -> int:
    digits = "".join(ch for ch in (text or "") if ch.isdigit())
    return int(digits or 0)


def _when(minutes: int) -> datetime:
    return NOW - timedelta(minutes=minutes)


def _text(brand: int, n: int) -> str:
    return f"brand{brand} charged me twice for parking, case {n}. Support does not answer."


def _thread(brand: int, video: str, j: int) -> dict[str, Any]:
    comment = {
        "id": f"b{brand}{video}c{j}",
        "snippet": {
            "authorDisplayName": f"v{j}",
            "authorChannelId": {"value": f"UCfan{j}"},
            "videoId": video,
            "textOriginal": _text(brand, j),
            "likeCount": j,
            "publishedAt": f"{_when(j):%Y-%m-%dT%H:%M:%SZ}",
        },
    }
    return {
        "id": comment["id"],
        "snippet": {"videoId": video, "topLevelComment": comment, "totalReplyCount": 0},
    }


def youtube(seen: Seen) -> Reply:
    if seen.path.endswith("/search"):
        brand = _brand_of(seen.param("q"))
        items = [
            {
                "id": {"kind": "youtube#video", "videoId": f"b{brand}v{v}"},
                "snippet": {
                    "publishedAt": f"{_when(v):%Y-%m-%dT%H:%M:%SZ}",
                    "title": _text(brand, v),
                    "description": "",
                    "channelTitle": "c",
                },
            }
            for v in range(VIDEOS)
        ]
        return Reply.json({"items": items})
    if seen.path.endswith("/videos"):
        snippet = {"publishedAt": f"{NOW:%Y-%m-%dT%H:%M:%SZ}", "title": "video"}
        stats = {"viewCount": "100", "likeCount": "3", "commentCount": str(PER_PAGE)}
        ids = (seen.param("id") or "").split(",")
        return Reply.json(
            {"items": [{"id": v, "snippet": snippet, "statistics": stats} for v in ids]}
        )
    video = seen.param("videoId") or f"b{_brand_of(seen.param('allThreadsRelatedToChannelId'))}"
    brand = _brand_of(video.split("v")[0])
    return Reply.json({"items": [_thread(brand, video, j) for j in range(PER_PAGE)]})


def hackernews(seen: Seen) -> Reply:
    brand = _brand_of(seen.param("query"))
    hits = [
        {
            "objectID": f"{brand}{j:04d}",
            "created_at_i": int(_when(j).timestamp()),
            "title": _text(brand, j),
            "author": f"h{j}",
            "points": j,
            "num_comments": 1,
            "_tags": ["story", f"story_{brand}{j:04d}"],
        }
        for j in range(PER_PAGE)
    ]
    return Reply.json({"hits": hits, "nbPages": 1})


def jetstream_lines(brands: int) -> list[str]:
    """Live posts naming each brand, as Jetstream sends them, within the last PER_PAGE minutes."""
    lines = []
    for j in range(PER_PAGE):
        for b in range(brands):
            record = {"text": _text(b, j), "createdAt": _when(j).isoformat(), "langs": ["en"]}
            commit = {"rev": "r", "operation": "create", "collection": jetstream.POSTS}
            lines.append(
                event_line(
                    {
                        "did": f"did:plc:bench{b}",
                        "time_us": jetstream.micros(_when(PER_PAGE - j)) + b,
                        "kind": "commit",
                        "commit": {**commit, "rkey": f"b{b}p{j}", "record": record},
                    }
                )
            )
    return lines


def primed(collectors: list[Collector], lines: list[str]) -> None:
    """Subscribe the live collectors as their first run would, and wait until the reader has
    buffered the whole replay: the cycle then times draining it, as a steady-state run does."""
    live = [c for c in collectors if c.source == "bluesky"]
    if not live:
        return
    last = max(time_of(line) or 0 for line in lines)
    options = live[0].options
    floor = jetstream.micros(NOW - timedelta(minutes=options.live_backfill_minutes))
    stream = jetstream.shared(
        options.jetstream_url, options.live_buffer_max, options.live_idle_timeout_seconds
    )
    for c in live:
        stream.subscribe(c.key, c.watch.matches, floor)
    deadline = time.monotonic() + 120
    while stream.position != last and time.monotonic() < deadline:
        time.sleep(0.05)
