"""One collection cycle over 20 brands × 13 sources against a local replay server.

Every source speaks to 127.0.0.1 through its real client library (tweepy, praw, Mastodon.py,
python-youtube, googlemaps, python-facebook-api, requests + feedparser / google-play-scraper's
parser), with ``--latency-ms`` added to each reply to stand for the network. Bluesky runs
live: a loopback Jetstream websocket replays posts that its reader thread buffers before the
cycle, so the cycle times the drain and storage (the websocket's traffic is in neither the cycle
nor the raw HTTP time). The cycle runs the collectors' ``schedule`` jobs, so it includes the
scheduler, the runner's state and health bookkeeping and storage. Printed:

- raw HTTP time: the same requests replayed one after the other with a bare ``requests`` session;
- cycle wall time and mentions stored per second;
- where the cycle's time goes: inside the collectors (HTTP + client libraries + parsing), storage
  (each page and its cursor in one transaction), and the rest: the scheduler's own overhead,
  reported as a share of the raw HTTP time (target < 5 %).

    python bench/collect.py [--brands 20] [--latency-ms 100] [--db sqlite | URL] [--sources all]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import requests
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from collect_replies import (
    NOW,
    PER_PAGE,
    VIDEOS,
    _brand_of,
    _text,
    _when,
    hackernews,
    jetstream_lines,
    primed,
    youtube,
)

from monitor.clock import ManualClock
from monitor.collectors import build_collectors, jetstream
from monitor.collectors.base import Collector
from monitor.collectors.credentials import Credentials
from monitor.collectors.twitter import TWITTER_EPOCH_MS
from monitor.config import Brand, Settings, SourceConfig, VigieConfig
from monitor.mentions import Batch
from monitor.scheduler import Pipeline, build_schedule
from monitor.storage.db import make_engine, upgrade
from monitor.storage.tables import Mention
from tests.replay.jetstream import replaying
from tests.replay.redirect import redirect
from tests.replay.server import ReplayServer, Reply, Seen, serving

SOURCES = (
    "twitter",
    "reddit",
    "appstore",
    "googleplay",
    "feeds",
    "mastodon",
    "youtube",
    "hackernews",
    "bluesky",
    "googleplaces",
    "trustpilot",
    "facebook",
    "instagram",
)
GRAPH = "/v21.0"
TRACKED = 5  # Facebook posts / Instagram media whose comments are read each run
def tweets(seen: Seen) -> Reply:
    brand = _brand_of(seen.param("query") or seen.path)
    page = 1 if seen.param("next_token") or seen.param("pagination_token") else 0
    offset = 0 if "search" in seen.path else 2 * PER_PAGE
    data = []
    for j in range(PER_PAGE):
        minutes = offset + page * PER_PAGE + j
        stamp = int(_when(minutes).timestamp() * 1000) - TWITTER_EPOCH_MS
        tweet_id = str((stamp << 22) + brand * 1000 + j)
        data.append(
            {
                "id": tweet_id,
                "text": _text(brand, minutes),
                "author_id": str(brand * 100 + j),
                "created_at": f"{_when(minutes):%Y-%m-%dT%H:%M:%S}.000Z",
                "edit_history_tweet_ids": [tweet_id],
                "lang": "en",
                "conversation_id": tweet_id,
                "public_metrics": {
                    "retweet_count": j,
                    "reply_count": 1,
                    "like_count": 2,
                    "quote_count": 0,
                    "impression_count": 100,
                },
            }
        )
    users = [
        {
            "id": str(brand * 100 + j),
            "name": "n",
            "username": f"u{brand}_{j}",
            "public_metrics": {"followers_count": j * 10},
        }
        for j in range(PER_PAGE)
    ]
    meta: dict[str, Any] = {"result_count": PER_PAGE}
    if page == 0 and "search" in seen.path:
        meta["next_token"] = "page2"
    return Reply.json({"data": data, "includes": {"users": users}, "meta": meta})


def reddit(seen: Seen) -> Reply:
    brand = _brand_of(seen.param("q"))
    children = [
        {
            "kind": "t3",
            "data": {
                "id": f"b{brand}p{j}",
                "name": f"t3_b{brand}p{j}",
                "title": _text(brand, j),
                "selftext": "",
                "created_utc": _when(j).timestamp(),
                "author": f"r{j}",
                "permalink": f"/r/x/comments/b{brand}p{j}/t/",
                "score": j,
                "num_comments": 2,
                "subreddit": "x",
            },
        }
        for j in range(PER_PAGE)
    ]
    return Reply.json({"kind": "Listing", "data": {"children": children, "after": None}})


def appstore(seen: Seen) -> Reply:
    parts = seen.path.split("/")
    page = int(parts[4].split("=")[1])
    brand = int(parts[5].split("=")[1]) - 1000
    if page > 2:
        return Reply.json({"feed": {}})
    entries = [
        {
            "author": {"name": {"label": f"a{j}"}},
            "updated": {"label": _when((page - 1) * PER_PAGE + j).isoformat()},
            "im:rating": {"label": "1"},
            "id": {"label": f"{brand}{page:02d}{j:03d}"},
            "title": {"label": "Double charge"},
            "content": {"label": _text(brand, j)},
        }
        for j in range(PER_PAGE)
    ]
    return Reply.json({"feed": {"entry": entries}})


def googleplay(seen: Seen) -> Reply:
    form = parse_qs(seen.body.decode())["f.req"][0]
    brand = _brand_of(form.split("app.b", 1)[1].split("\\", 1)[0])
    reviews = [
        [
            f"gp:b{brand}r{j}",
            [f"u{j}", None],
            2,
            None,
            _text(brand, j),
            [int(_when(j).timestamp()), 0],
            j,
            None,
            None,
            None,
            "1.0",
        ]
        for j in range(PER_PAGE)
    ]
    inner = json.dumps([reviews, [None, None], None])
    return Reply(200, (")]}'\n\n" + json.dumps([["wrb.fr", "oCPfdb", inner]])).encode())


def feed(seen: Seen) -> Reply:
    brand = _brand_of(seen.path)
    items = "".join(
        f"<item><guid>b{brand}n{j}</guid><title>{_text(brand, j)}</title>"
        f"<link>https://news.example/{brand}/{j}</link>"
        f"<pubDate>{_when(j):%a, %d %b %Y %H:%M:%S} GMT</pubDate></item>"
        for j in range(PER_PAGE)
    )
    body = (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>n</title>{items}</channel></rss>'
    )
    return Reply(200, body.encode(), {"Content-Type": "application/rss+xml"})


def toots(seen: Seen) -> Reply:
    brand = _brand_of(seen.path)
    if seen.param("min_id"):
        return Reply.json([])
    statuses = [
        {
            "id": str(10**17 + brand * 1000 + 999 - j),
            "created_at": _when(j).isoformat(),
            "content": f"<p>{_text(brand, j)}</p>",
            "spoiler_text": "",
            "language": "en",
            "url": f"https://m.example/@a/{j}",
            "uri": f"https://m.example/s/{brand}/{j}",
            "account": {"acct": f"a{j}@m.example", "followers_count": j},
            "replies_count": 0,
            "reblogs_count": j,
            "favourites_count": 1,
            "in_reply_to_id": None,
            "reblog": None,
        }
        for j in range(40)
    ]
    return Reply.json(statuses)


def places(seen: Seen) -> Reply:
    brand = _brand_of(seen.param("placeid"))
    reviews = [
        {
            "author_name": f"a{j}",
            "author_url": f"https://www.google.com/maps/contrib/{brand}{j:03d}",
            "language": "en",
            "rating": 1 + j % 5,
            "text": _text(brand, j),
            "time": int(_when(j).timestamp()),
        }
        for j in range(5)  # Place Details gives at most five
    ]
    result = {"place_id": f"place{brand}", "url": f"https://maps.example/{brand}"}
    return Reply.json({"status": "OK", "result": {**result, "reviews": reviews}})


def trustpilot(seen: Seen) -> Reply:
    brand = int(seen.path.split("/")[3], 16)
    page = int(seen.param("page") or 1)
    reviews = [
        {
            "id": f"{brand:08x}{page:04x}{j:012x}",
            "stars": 1 + j % 5,
            "title": "Double charge",
            "text": _text(brand, j),
            "language": "en",
            "createdAt": f"{_when((page - 1) * PER_PAGE + j):%Y-%m-%dT%H:%M:%SZ}",
            "numberOfLikes": j % 3,
            "consumer": {"id": f"c{j}", "displayName": f"c{j}"},
        }
        for j in range(PER_PAGE)
    ]
    links = [{"rel": "next-page", "href": "next"}] if page == 1 else []
    return Reply.json({"reviews": reviews, "links": links})


def _graph_time(minutes: int) -> str:
    return f"{_when(minutes):%Y-%m-%dT%H:%M:%S}+0000"


def fb_feed(seen: Seen) -> Reply:
    page = seen.path.split("/")[2]
    brand = int(page) - 9000
    posts = [
        {
            "id": f"{page}_{j}",
            "message": _text(brand, j),
            "created_time": _graph_time(j),
            "from": {"id": str(j), "name": f"v{j}"},
            "shares": {"count": j},
            "reactions": {"summary": {"total_count": 2 * j}},
            "comments": {"summary": {"total_count": 10}},
        }
        for j in range(PER_PAGE)
    ]
    return Reply.json({"data": posts})


def fb_comments(seen: Seen) -> Reply:
    post = seen.path.split("/")[2]
    brand = int(post.split("_")[0]) - 9000
    comments = [
        {
            "id": f"{post}_{post.replace('_', '')}{j:02d}",
            "message": _text(brand, j),
            "created_time": _graph_time(60 - j),
            "from": {"id": str(100 + j), "name": f"c{j}"},
            "like_count": j,
            "comment_count": 0,
        }
        for j in range(10)
    ]
    return Reply.json({"data": comments, "paging": {"cursors": {"after": "end"}}})


def ig_media(seen: Seen) -> Reply:
    user, edge = seen.path.split("/")[2:4]
    brand = int(user) - 17000
    count = TRACKED if edge == "media" else PER_PAGE
    media = [
        {
            "id": f"{user}{edge[0]}{j}",
            "caption": _text(brand, j),
            "timestamp": _graph_time(j),
            "permalink": f"https://ig.example/p/{user}{edge[0]}{j}",
            "like_count": j,
            "comments_count": 10,
        }
        for j in range(count)
    ]
    return Reply.json({"data": media})


def ig_comments(seen: Seen) -> Reply:
    media = seen.path.split("/")[2]
    brand = int(media[:5]) - 17000
    comments = [
        {
            "id": f"{media}c{j}",
            "text": _text(brand, j),
            "timestamp": _graph_time(j),
            "username": f"u{j}",
            "like_count": j,
        }
        for j in range(10)
    ]
    return Reply.json({"data": comments})


def routes(server: ReplayServer, brands: int) -> None:
    server.add("GET", "/2/tweets/search/recent", tweets)
    server.add(
        "POST",
        "/api/v1/access_token",
        Reply.json({"access_token": "t", "token_type": "bearer", "expires_in": 3600, "scope": "*"}),
    )
    server.add("GET", "/r/all/search", reddit)
    server.add("POST", "/_/PlayStoreUi/data/batchexecute", googleplay)
    for b in range(brands):
        server.add("GET", f"/2/users/{b + 1}/mentions", tweets)
        for page in (1, 2, 3):
            path = f"/us/rss/customerreviews/page={page}/id={1000 + b}/sortby=mostrecent/json"
            server.add("GET", path, appstore)
        server.add("GET", f"/feeds/brand{b}.rss", feed)
        server.add("GET", f"/api/v1/timelines/tag/brand{b}", toots)
        server.add("GET", f"/v1/business-units/{b:024x}/reviews", trustpilot)
        server.add("GET", f"{GRAPH}/{9000 + b}/feed", fb_feed)
        server.add("GET", f"{GRAPH}/{17000 + b}/media", ig_media)
        server.add("GET", f"{GRAPH}/{17000 + b}/tags", ig_media)
        for j in range(TRACKED):
            server.add("GET", f"{GRAPH}/{9000 + b}_{j}/comments", fb_comments)
            server.add("GET", f"{GRAPH}/{17000 + b}m{j}/comments", ig_comments)
    server.add("GET", "/youtube/v3/search", youtube)
    server.add("GET", "/youtube/v3/commentThreads", youtube)
    server.add("GET", "/youtube/v3/videos", youtube)
    server.add("GET", "/hn/api/v1/search_by_date", hackernews)
    server.add("GET", "/maps/api/place/details/json", places)


def config(
    server: ReplayServer, live_url: str, brands: int, sources: tuple[str, ...]
) -> VigieConfig:
    store_url = server.url + "/{country}/rss/customerreviews/page={page}/id={app_id}"
    options: dict[str, dict[str, Any]] = {
        "twitter": {"track_hours": 0},
        "reddit": {"oauth_url": server.url, "reddit_url": server.url},
        "appstore": {"feed_url": store_url + "/sortby=mostrecent/json"},
        "googleplay": {"base_url": server.url},
        "feeds": {},
        "mastodon": {"instance": server.url, "search": False},
        "youtube": {"api_url": server.url + "/youtube/v3", "videos_max": VIDEOS, "track_hours": 0},
        "hackernews": {"api_url": server.url + "/hn/api/v1", "track_hours": 0},
        "bluesky": {
            "search": False,
            "live": True,
            "jetstream_url": live_url,
            "live_backfill_minutes": 2 * PER_PAGE,
        },
        "googleplaces": {"api_url": server.url},
        "trustpilot": {"api_url": server.url + "/v1"},
        "facebook": {"api_url": server.url, "version": "v21.0", "posts_max": TRACKED},
        "instagram": {"api_url": server.url, "version": "v21.0", "posts_max": TRACKED},
    }
    listed = [
        Brand(
            name=f"brand{b}",
            keywords=[f"brand{b}"],
            sources={
                "twitter": {"account_id": str(b + 1)},
                "appstore": {"app_id": str(1000 + b)},
                "googleplay": {"app_id": f"app.b{b}"},
                "feeds": {"urls": [f"{server.url}/feeds/brand{b}.rss"]},
                "youtube": {"channel_id": f"UCbrand{b}"},
                "googleplaces": {"place_ids": [f"place{b}"]},
                "trustpilot": {"business_unit_id": f"{b:024x}"},
                "facebook": {"page_id": str(9000 + b)},
                "instagram": {"ig_user_id": str(17000 + b)},
            },
        )
        for b in range(brands)
    ]
    configured = {s: SourceConfig(interval_seconds=300, **options[s]) for s in sources}
    return VigieConfig(brands=listed, sources=configured)


class Timed:
    """Wraps a collector to split the cycle's time: inside ``collect`` (HTTP, client libraries,
    parsing) versus between its batches (the runner storing them)."""

    fetching = 0.0
    storing = 0.0

    def __init__(self, inner: Collector) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def collect(self, cursor: dict[str, Any] | None, now: datetime) -> Iterator[Batch]:
        batches = self.inner.collect(cursor, now)
        while True:
            t0 = time.perf_counter()
            try:
                batch = next(batches)
            except StopIteration:
                Timed.fetching += time.perf_counter() - t0
                return
            Timed.fetching += time.perf_counter() - t0
            t1 = time.perf_counter()
            yield batch
            Timed.storing += time.perf_counter() - t1


def raw_http(server: ReplayServer, seen: list[Seen]) -> float:
    """The cycle's requests again, sequentially, with nothing but a requests session."""
    session = requests.Session()
    t0 = time.perf_counter()
    for s in seen:
        url = f"{server.url}{s.path}"
        if s.query:
            url += "?" + urlencode(s.query, doseq=True)
        _ = session.request(s.method, url, data=s.body or None).content
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--brands", type=int, default=20)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--db", default="sqlite", help="sqlite (a temp file) or a database URL")
    parser.add_argument("--sources", default=",".join(SOURCES))
    args = parser.parse_args()
    sources = tuple(args.sources.split(","))
    tmp = tempfile.TemporaryDirectory()
    url = f"sqlite:///{tmp.name}/bench.db" if args.db == "sqlite" else args.db
    engine = make_engine(url)
    upgrade(engine)
    creds = Credentials(
        TWITTER_BEARER_TOKEN="bench",
        REDDIT_CLIENT_ID="bench",
        REDDIT_CLIENT_SECRET="bench",
        MASTODON_ACCESS_TOKEN="bench",
        YOUTUBE_API_KEY="bench",
        BLUESKY_HANDLE="bench",
        BLUESKY_APP_PASSWORD="bench",
        GOOGLE_PLACES_API_KEY="AIza-bench",
        TRUSTPILOT_API_KEY="bench",
        FACEBOOK_PAGE_ACCESS_TOKEN="bench",
        INSTAGRAM_ACCESS_TOKEN="bench",
    )
    lines = jetstream_lines(args.brands)
    with serving() as server, replaying(lines) as live:
        routes(server, args.brands)
        cfg = config(server, live.url, args.brands, sources)
        collectors = build_collectors(cfg, credentials=creds)
        for c in collectors:
            if c.source == "twitter":
                redirect(c.client.session, "https://api.twitter.com", server.url)
        primed(collectors, lines)
        timed = [Timed(c) for c in collectors]
        pipe = Pipeline(engine, cfg, Settings(), ManualClock(NOW), timed)  # type: ignore[arg-type]
        jobs = [
            j
            for j in build_schedule(pipe, process_every=3600).jobs
            if "process" not in j.tags and "reports" not in j.tags
        ]
        server.latency = args.latency_ms / 1000
        t0 = time.perf_counter()
        for job in jobs:
            job.run()
        cycle = time.perf_counter() - t0
        seen = list(server.seen)
        http = raw_http(server, seen)
        jetstream.close_all()
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(Mention)).scalar_one()
    engine.dispose()
    scheduler = cycle - Timed.fetching - Timed.storing
    print(
        f"collectors: {len(collectors)} ({args.brands} brands x {len(sources)} sources: "
        f"{', '.join(sources)}), database: {'SQLite file' if args.db == 'sqlite' else args.db}"
    )
    print(f"requests: {len(seen)}, latency added per reply: {args.latency_ms:.0f} ms")
    print(f"raw HTTP time (bare requests, same requests): {http:8.3f} s")
    print(f"cycle wall time:                               {cycle:8.3f} s")
    print(f"mentions stored: {stored}  ->  {stored / cycle:,.0f} mentions/s")
    print(f"  in collectors (HTTP + client libraries + parsing): {Timed.fetching:8.3f} s")
    print(f"  storage (pages + cursors, one transaction each):   {Timed.storing:8.3f} s")
    print(f"  scheduler (jobs, state, health, backoff, silence): {scheduler:8.3f} s")
    print(f"scheduler overhead over raw HTTP time: {100 * scheduler / http:.2f} % (target < 5 %)")


if __name__ == "__main__":
    main()
