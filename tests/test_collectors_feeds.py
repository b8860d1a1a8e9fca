"""RSS and Atom feeds (news, Google Alerts) served on 127.0.0.1, read through feedparser."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from monitor.collectors.feeds import FeedsCollector, FeedsOptions, unwrap_link
from monitor.collectors.health import health
from monitor.collectors.runner import collect_once
from monitor.config import Brand
from monitor.storage.ingest import load_cursor
from monitor.storage.tables import Mention
from tests.replay.server import Reply, Seen, serving

BRAND = Brand(name="Parkeo", keywords=["parkeo"], exclusions=["parkeo game"])
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
RSS = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>City news</title><language>fr-BE</language>
<item><guid>news-1</guid><title>Parkeo fines residents by mistake</title>
<link>https://news.example/1</link><pubDate>Mon, 23 Nov 2026 09:30:00 GMT</pubDate>
<description>&lt;p&gt;Hundreds of &lt;b&gt;wrongful&lt;/b&gt; fines.&lt;/p&gt;</description></item>
<item><guid>news-2</guid><title>New tram line opens</title><link>https://news.example/2</link>
<pubDate>Mon, 23 Nov 2026 08:00:00 GMT</pubDate>
<description>Nothing about parking</description></item>
<item><guid>news-3</guid><title>Parkeo game night at the library</title>
<link>https://news.example/3</link><pubDate>Mon, 23 Nov 2026 07:00:00 GMT</pubDate></item>
</channel></rss>"""
ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Google Alert - parkeo</title>
<id>tag:google.com,2013:googlealerts/feed:1</id><updated>2026-11-23T10:00:00Z</updated>
<entry><id>tag:google.com,2013:googlealerts/feed:1:entry-1</id>
<title type="html">&lt;b&gt;Parkeo&lt;/b&gt; apologises</title>
<link href="https://www.google.com/url?rct=j&amp;sa=t&amp;url=https://paper.example/apology&amp;ct=ga"/>
<published>2026-11-23T10:00:00Z</published><updated>2026-11-23T10:00:00Z</updated>
<content type="html">The operator says the fines will be cancelled.</content>
<author><name>Paper</name></author></entry></feed>"""


def rss_reply(**headers: str) -> Reply:
    return Reply(200, RSS, {"Content-Type": "application/rss+xml", **headers})


def collector(*urls: str, **options) -> FeedsCollector:
    return FeedsCollector(BRAND, FeedsOptions(urls=list(urls), retry_wait_seconds=0, **options))


def stored(engine) -> dict[str, Mention]:
    with engine.connect() as conn:
        return {r.external_id: r for r in conn.execute(select(Mention))}


def test_rss_and_atom_items_that_name_the_brand_are_stored(engine):
    with serving() as server:
        server.add("GET", "/news.rss", rss_reply())
        server.add(
            "GET", "/alerts.atom", Reply(200, ATOM, {"Content-Type": "application/atom+xml"})
        )
        made = collector(f"{server.url}/news.rss", f"{server.url}/alerts.atom")
        assert collect_once(engine, made, NOW) == 2
    rows = stored(engine)
    news = rows["news-1"]
    assert news.text == "Parkeo fines residents by mistake\n\nHundreds of wrongful fines."
    assert news.created_at == datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
    assert news.language == "fr" and news.url == "https://news.example/1"
    alert = rows["tag:google.com,2013:googlealerts/feed:1:entry-1"]
    assert alert.url == "https://paper.example/apology"  # the google.com redirect unwrapped
    assert alert.author == "Paper" and alert.text.startswith("Parkeo apologises")


def test_an_unchanged_feed_costs_a_304(engine):
    def conditional(seen: Seen) -> Reply:
        if seen.headers.get("If-None-Match") == '"v1"':
            return Reply(304)
        return rss_reply(ETag='"v1"', **{"Last-Modified": "Mon, 23 Nov 2026 09:30:00 GMT"})

    with serving() as server:
        server.add("GET", "/news.rss", conditional)
        made = collector(f"{server.url}/news.rss")
        collect_once(engine, made, NOW)
        assert collect_once(engine, made, NOW, force=True) == 0
        second = server.requests_to("/news.rss")[1]
    assert second.headers["If-Modified-Since"] == "Mon, 23 Nov 2026 09:30:00 GMT"
    with engine.connect() as conn:
        assert load_cursor(conn, made.key)[f"{server.url}/news.rss"]["etag"] == '"v1"'


def test_a_broken_feed_does_not_keep_the_others_from_being_read(engine):
    with serving() as server:
        server.add(
            "GET",
            "/broken",
            Reply(200, b"<html><body>Login</body></html>", {"Content-Type": "text/html"}),
        )
        server.add("GET", "/down", Reply(503))
        server.add("GET", "/news.rss", Reply(502), rss_reply())
        made = collector(
            f"{server.url}/broken", f"{server.url}/down", f"{server.url}/news.rss", retries=1
        )
        with pytest.raises(Exception, match="2 of 3 feeds failed"):
            collect_once(engine, made, NOW)
    assert set(stored(engine)) == {"news-1"}
    state = health(engine)[0]
    assert state.status == "error" and "not a feed" in state.last_error


def test_without_brand_matching_every_item_but_exclusions_is_kept(engine):
    with serving() as server:
        server.add("GET", "/news.rss", rss_reply())
        made = collector(f"{server.url}/news.rss", match_brand=False)
        assert collect_once(engine, made, NOW) == 2
    assert set(stored(engine)) == {"news-1", "news-2"}


def test_google_alert_links_are_unwrapped_and_others_kept():
    wrapped = "https://www.google.com/url?rct=j&sa=t&url=https://a.example/x%3Fy%3D1&ct=ga"
    assert unwrap_link(wrapped) == "https://a.example/x?y=1"
    assert unwrap_link("https://b.example/url?url=z") == "https://b.example/url?url=z"


def test_a_feed_read_for_the_first_time_gives_its_last_backfill_hours_only(engine):
    with serving() as server:
        server.add("GET", "/news.rss", rss_reply(), rss_reply())
        server.add(
            "GET", "/alerts.atom", Reply(200, ATOM, {"Content-Type": "application/atom+xml"})
        )
        made = collector(f"{server.url}/news.rss", backfill_hours=1)
        assert collect_once(engine, made, datetime(2026, 11, 23, 11, 0, tzinfo=UTC)) == 0
        assert collect_once(engine, collector(f"{server.url}/alerts.atom", backfill_hours=1),
                            datetime(2026, 11, 23, 10, 30, tzinfo=UTC)) == 1
