"""Every stored field is cleaned and bounded in one place (``monitor.storage.normalise``): a NUL
in a feed's link, a long language tag, an id past its column or a count past 64 bits cost
nothing on PostgreSQL, where one such value used to fail the whole page and every later run."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, select

from monitor.collectors.runner import collect_once
from monitor.mentions import Engagement, MentionIn
from monitor.storage.ingest import store_mentions
from monitor.storage.normalise import BIGINT, clean_language, normalised
from monitor.storage.tables import EngagementSnapshot, Mention
from tests.replay.server import Reply, serving
from tests.test_collectors_feeds import collector

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
HOSTILE_RSS = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>News</title><language>fr-BE</language>
<item><guid>bad-1</guid><title>Parkeo hostile link</title>
<link>https://x.example/a&#0;b</link><pubDate>Mon, 23 Nov 2026 09:30:00 GMT</pubDate></item>
<item><guid>good-1</guid><title>Parkeo fines residents</title>
<link>https://news.example/1</link><pubDate>Mon, 23 Nov 2026 09:00:00 GMT</pubDate></item>
</channel></rss>"""
CLEAN_RSS = (
    HOSTILE_RSS.replace(b"&#0;", b"").replace(b"bad-1", b"clean-2").replace(b"good-1", b"clean-3")
)


def _rows(engine: Engine) -> dict[str, Mention]:
    with engine.connect() as conn:
        return {r.external_id: r for r in conn.execute(select(Mention))}


def test_a_nul_in_a_feed_link_costs_nothing(engine: Engine):
    with serving() as server:
        for name, body in (("hostile", HOSTILE_RSS), ("clean", CLEAN_RSS)):
            server.add(
                "GET", f"/{name}.rss", Reply(200, body, {"Content-Type": "application/rss+xml"})
            )
        made = collector(f"{server.url}/hostile.rss", f"{server.url}/clean.rss")
        assert collect_once(engine, made, NOW) == 4
    rows = _rows(engine)
    assert rows["bad-1"].url == "https://x.example/ab"
    assert rows["good-1"].url == "https://news.example/1"
    assert {"clean-2", "clean-3"} <= set(rows)


def _mention(**fields: object) -> MentionIn:
    base = {"source": "mastodon", "external_id": "1", "brand": "Parkeo", "text": "parkeo",
            "created_at": NOW}  # fmt: skip
    return MentionIn(**{**base, **fields})


def test_every_field_is_storable(engine: Engine):
    hostile = _mention(
        external_id="id\x00" + "9" * 400,
        url="https://m.example/@a/1\x00\x1b[2J",
        author="eve\x00" + "e" * 400,
        language="x-very-long-language-tag",
        author_followers=2**70,
        parent_id="p\x00",
        thread_id="t" * 300,
        text="nul\x00 and \ud800 surrogate",
        engagement=Engagement(NOW, likes=-3, reshares=2**64, replies=True, views=7),
    )
    twin = _mention(external_id="id\x00" + "9" * 400 + "0")  # differs only past the column size
    assert store_mentions_new(engine, [hostile, twin]) == 2
    with engine.connect() as conn:
        row = conn.execute(select(Mention).where(Mention.external_id.like("id%"))).first()
        snapshot = conn.execute(select(EngagementSnapshot)).first()
    assert len(row.external_id) <= 255 and "\x00" not in row.external_id
    assert row.url == "https://m.example/@a/1[2J"
    assert len(row.author) == 256 and row.language is None and row.author_followers is None
    assert row.parent_id == "p\ufffd" and len(row.thread_id) == 255
    assert row.text == "nul\ufffd and \ufffd surrogate"
    assert (snapshot.likes, snapshot.reshares, snapshot.replies, snapshot.views) == (
        None, None, None, 7)  # fmt: skip


def store_mentions_new(engine: Engine, mentions: list[MentionIn]) -> int:
    with engine.begin() as conn:
        return store_mentions(conn, mentions, NOW).new


def test_languages_keep_their_code_only():
    assert [clean_language(v) for v in ("fr", "pt-BR", "zh_Hant", "EN", "", None, "x" * 9)] == [
        "fr", "pt", "zh", "en", None, None, None]  # fmt: skip


def test_normalising_twice_changes_nothing():
    once = normalised(_mention(external_id="é" * 300, url=" https://a.example/\x07 ", text="a\x00"))
    assert normalised(once) == once
    assert clean_count_ok()


def clean_count_ok() -> bool:
    return normalised(_mention(author_followers=BIGINT)).author_followers == BIGINT
