"""YouTube: python-youtube's own recorded API bodies served on 127.0.0.1 through the library."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from monitor.collectors.health import health, load_usage
from monitor.collectors.runner import collect_once
from monitor.collectors.youtube import QUOTA_ZONE, YouTubeCollector, YouTubeOptions
from monitor.config import Brand
from monitor.storage.tables import EngagementSnapshot, Mention, Quarantined, Response
from tests.replay.server import ReplayServer, Reply, Seen, serving
from tests.support import shared_path

THREADS = "/youtube/v3/commentThreads"
SEARCH = "/youtube/v3/search"
VIDEOS = "/youtube/v3/videos"
CHANNEL = "UCa-vrCLQHviTOVnEKDOdetQ"  # the channel of the "all threads related to" recording
VIDEO = "F1UP7wRCPH8"  # the video of the paged recording
BRAND = Brand(name="Surfline", keywords=["surfing"], exclusions=["kitesurfing"])


def recording(*parts: str) -> dict[str, Any]:
    path = shared_path("fixtures", "youtube", "python-youtube", *parts)
    return json.loads(path.read_text(encoding="utf-8"))


def found_videos() -> dict[str, Any]:
    """The recorded keyword search, its newest video made the one with recorded comments."""
    body = recording("search", "search_by_keywords_p1.json")
    body["items"][0]["id"]["videoId"] = VIDEO
    return body


def videos_route(seen: Seen) -> Reply:
    """``videos.list``: the recorded search results asked for, with counts (as strings)."""
    wanted = (seen.param("id") or "").split(",")
    items = []
    for i, found in enumerate(found_videos()["items"]):
        if found["id"]["videoId"] in wanted:
            stats = {"viewCount": str(1000 * (i + 1)), "likeCount": str(i), "commentCount": "5"}
            items.append(
                {"id": found["id"]["videoId"], "snippet": found["snippet"], "statistics": stats}
            )
    return Reply.json({"kind": "youtube#videoListResponse", "items": items})


def threads_route(refreshed: dict[str, Any] | None = None) -> Any:
    def answer(seen: Seen) -> Reply:
        if seen.param("allThreadsRelatedToChannelId") == CHANNEL:
            return Reply.json(recording("comment_threads", "comment_threads_all_to_me.json"))
        if seen.param("videoId") == VIDEO:
            page = "_2" if seen.param("pageToken") else "_1"
            return Reply.json(
                recording("comment_threads", f"comment_threads_by_video_paged{page}.json")
            )
        if seen.param("id"):
            return Reply.json(refreshed or {"items": []})
        return Reply.json({"kind": "youtube#commentThreadListResponse", "items": []})

    return answer


def collector(server: ReplayServer, **options: Any) -> YouTubeCollector:
    settings = {
        "api_url": server.url + "/youtube/v3",
        "channel_id": CHANNEL,
        "retry_wait_seconds": 0,
        "lookback_minutes": 0,
        "backfill_hours": 24 * 365 * 10,
        "videos_max": 3,
        "video_hours": 24 * 365 * 10,
        "track_hours": 24 * 365 * 10,
    }
    return YouTubeCollector(BRAND, YouTubeOptions(**{**settings, **options}), "yt-test-key")


NOW = datetime(2019, 12, 6, 12, tzinfo=UTC)


def test_ingests_channel_and_found_videos_and_meters_the_units(engine):
    fresh = recording("comment_threads", "comment_threads_all_to_me.json")
    fresh["items"] = fresh["items"][:1]
    fresh["items"][0]["snippet"]["topLevelComment"]["snippet"]["likeCount"] = 7
    with serving() as server:
        server.add("GET", SEARCH, Reply.json(found_videos()))
        server.add("GET", THREADS, threads_route(fresh))
        server.add("GET", VIDEOS, videos_route)
        made = collector(server)
        first = collect_once(engine, made, NOW)
        collect_once(engine, made, NOW + timedelta(minutes=5), force=True)
        searches = server.requests_to(SEARCH)
        lists = server.requests_to(THREADS)
        counted = server.requests_to(VIDEOS)
    assert len(searches) == 1  # the second run is within search_every_minutes
    assert searches[0].param("q") == "surfing" and searches[0].param("type") == "video"
    assert searches[0].param("key") is None  # the key goes in a header, never in a URL
    assert searches[0].headers["X-goog-api-key"] == "yt-test-key"
    assert lists[0].param("allThreadsRelatedToChannelId") == CHANNEL
    assert set(lists[0].param("part").split(",")) == {"snippet", "replies"}
    assert lists[0].param("order") == "time"
    by_video = [s for s in lists if s.param("videoId") == VIDEO]
    assert [s.param("pageToken") is not None for s in by_video[:2]] == [False, True]
    # 25 videos found (title + description) + 4 channel threads + 5 distinct threads on the video
    assert first == 25 + 4 + 5
    with engine.connect() as conn:
        rows = {r.external_id: r for r in conn.execute(select(Mention))}
        likes = conn.execute(
            select(EngagementSnapshot.likes, EngagementSnapshot.replies)
            .join(Mention, Mention.id == EngagementSnapshot.mention_id)
            .where(Mention.external_id == "UgyWeTdgc4sc1xgmbld4AaABAg")
            .order_by(EngagementSnapshot.id)
        ).all()
        views = conn.execute(
            select(EngagementSnapshot.views, EngagementSnapshot.replies)
            .join(Mention, Mention.id == EngagementSnapshot.mention_id)
            .where(Mention.external_id == f"video:{VIDEO}")
        ).all()
        day = f"d{NOW.astimezone(QUOTA_ZONE):%y%m%d}"
        units = load_usage(conn, "youtube", day)[0]
    comment = rows["Ugy4OzAuz5uJuFt3FH54AaABAg"]
    assert comment.text == "Please use CLS on your own search results page.."
    assert comment.url == f"https://www.youtube.com/watch?v={VIDEO}&lc=Ugy4OzAuz5uJuFt3FH54AaABAg"
    assert comment.author == "el bojo loco" and comment.thread_id == comment.external_id
    assert rows[f"video:{VIDEO}"].url == f"https://www.youtube.com/watch?v={VIDEO}"
    assert [tuple(x) for x in likes] == [(0, 0), (7, 0)]  # re-polled by id on the second run
    # one videos.list a run for the 3 videos followed: views and comment counts as snapshots
    assert [len(c.param("id").split(",")) for c in counted] == [3, 3]
    assert [tuple(v) for v in views] == [(1000, 5), (1000, 5)]
    assert units == 100 + len(lists) + len(counted)  # a search is 100, any list call 1


def test_replies_by_the_brands_channel_mark_the_thread_answered(engine):
    body = recording("comment_threads", "comment_threads_all_to_me.json")
    thread = body["items"][3]
    replies = recording("modeldata", "comment_thread_replies.json")
    mine, theirs = copy.deepcopy(replies["comments"][0]), copy.deepcopy(replies["comments"][0])
    mine["snippet"]["authorChannelId"]["value"] = CHANNEL
    mine["snippet"]["publishedAt"] = "2019-11-29T03:30:00.000Z"
    theirs["id"] = thread["id"] + ".other"
    thread["replies"] = {"comments": [theirs, mine]}
    with serving() as server:
        server.add("GET", THREADS, Reply.json(body))
        assert collect_once(engine, collector(server, search=False), NOW) == 4 + 1
    with engine.connect() as conn:
        answered = conn.execute(
            select(Mention.external_id, Response.answered_at, Response.reply_url).join(
                Response, Response.mention_id == Mention.id
            )
        ).one()
        reply = conn.execute(select(Mention).where(Mention.external_id == theirs["id"])).one()
    assert answered.external_id == thread["id"]
    assert answered.answered_at == datetime(2019, 11, 29, 3, 30, tzinfo=UTC)
    assert answered.reply_url is None  # a comment on the channel itself has no video link
    assert (reply.parent_id, reply.thread_id) == (thread["id"], thread["id"])


def quarantined(engine) -> list[str]:
    with engine.connect() as conn:
        payloads = conn.execute(select(Quarantined.payload)).scalars().all()
    return [json.loads(p)["id"] for p in payloads]


def test_survives_a_malformed_item_a_rate_limit_and_a_timeout(engine):
    body = recording("comment_threads", "comment_threads_all_to_me.json")
    del body["items"][1]["snippet"]["topLevelComment"]["snippet"]["publishedAt"]
    later = copy.deepcopy(body)
    later["items"] = later["items"][:1]
    later["items"][0]["id"] = later["items"][0]["snippet"]["topLevelComment"]["id"] = "later"
    later["items"][0]["snippet"]["topLevelComment"]["snippet"]["publishedAt"] = (
        "2019-12-06T11:00:00Z"
    )
    limited = recording("error_response.json")
    limited["error"].update(code=403, errors=[{"reason": "rateLimitExceeded"}])
    with serving() as server:
        server.add(
            "GET",
            THREADS,
            Reply.json(body),
            Reply.json(limited, 403, **{"Retry-After": "600"}),
            Reply(200, b"", delay=2.0),
            Reply.json(later),
        )
        made = collector(server, search=False, timeout_seconds=0.5, retries=1, track_hours=0)
        assert collect_once(engine, made, NOW) == 3  # the thread without a time is set aside
        assert quarantined(engine) == ["Ugw5zYU6n9pmIgAZWvN4AaABAg"]
        assert collect_once(engine, made, NOW + timedelta(minutes=5), force=True) == 0
        assert health(engine)[0].status == "rate_limited"
        assert collect_once(engine, made, NOW + timedelta(minutes=20), force=True) == 1
    assert health(engine)[0].status == "ok"


def test_stops_before_the_daily_quota_and_on_youtubes_quota_error(engine):
    exceeded = recording("error_response.json")
    exceeded["error"].update(code=403, errors=[{"reason": "quotaExceeded"}])
    with serving() as server:
        server.add("GET", SEARCH, Reply.json(found_videos()))
        server.add("GET", THREADS, threads_route())
        made = collector(server, daily_quota_units=103)
        assert collect_once(engine, made, NOW) > 0
        calls = len(server.requests_to(THREADS))
        state = health(engine)[0]
    # search 100 + the channel + the video's two pages: the next video's call is not made
    assert calls == 3
    assert state.status == "quota"
    assert state.next_run_at == datetime(2019, 12, 7, tzinfo=QUOTA_ZONE)
    with serving() as server:
        server.add("GET", THREADS, Reply.json(exceeded, 403))
        made = collector(server, search=False)
        tomorrow = datetime(2019, 12, 7, 9, tzinfo=UTC)
        assert collect_once(engine, made, tomorrow) == 0
    with engine.connect() as conn:
        used = load_usage(conn, "youtube", f"d{tomorrow.astimezone(QUOTA_ZONE):%y%m%d}")[0]
    assert health(engine)[0].status == "quota" and used == 10_000


def test_an_answer_that_is_not_a_thread_list_fails_the_run_loudly(engine):
    with serving() as server:
        server.add("GET", THREADS, Reply.json({"kind": "youtube#nothing"}))
        with pytest.raises(Exception, match="no items"):
            collect_once(engine, collector(server, search=False), NOW)
    assert health(engine)[0].last_error.startswith("MalformedResponse")
