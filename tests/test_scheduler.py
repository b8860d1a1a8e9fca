"""Scheduling of the collectors: isolation, backoff, disabled sources, jitter, silence alerts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from monitor.cli import main
from monitor.clock import ManualClock
from monitor.collectors import build_collectors
from monitor.collectors.base import DisabledCollector
from monitor.collectors.credentials import Credentials
from monitor.collectors.health import Health, health, report
from monitor.config import Brand, Settings, SourceConfig, VigieConfig
from monitor.detection.silence import silent_alerts
from monitor.mentions import Batch, MentionIn
from monitor.scheduler import Pipeline, build_schedule
from monitor.storage import rollups
from monitor.storage.tables import Alert, Mention
from tests.replay.server import ReplayServer, Reply, serving

BRAND = Brand(name="Parkeo", keywords=["parkeo"])
RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<item><guid>n1</guid><title>Parkeo fines everyone</title><link>https://n.example/1</link></item>
</channel></rss>"""


def config(server: ReplayServer, **sources: SourceConfig) -> VigieConfig:
    feed_url = server.url + "/{country}/reviews/{page}/{app_id}.json"
    defaults = {
        "appstore": SourceConfig(
            interval_seconds=60,
            max_backoff_seconds=600,
            app_id="42",
            feed_url=feed_url,
            retries=0,
        ),
        "feeds": SourceConfig(interval_seconds=60, urls=[f"{server.url}/news.rss"]),
    }
    return VigieConfig(brands=[BRAND], sources={**defaults, **sources})


def pipeline(engine, cfg: VigieConfig, start: datetime) -> Pipeline:
    collectors = build_collectors(cfg, credentials=Credentials())
    return Pipeline(engine, cfg, Settings(), ManualClock(start), collectors)


def state(engine, key: str) -> Health:
    return next(h for h in health(engine) if h.key == key)


def test_one_failing_source_never_stops_the_others(engine, now):
    with serving() as server:
        server.add("GET", "/us/reviews/1/42.json", Reply(500))
        server.add("GET", "/news.rss", Reply(200, RSS, {"Content-Type": "application/rss+xml"}))
        pipe = pipeline(engine, config(server), now)
        sched = build_schedule(pipe, process_every=60)
        keys = {c.key for c in pipe.collectors}
        for job in sched.jobs:
            if job.tags & keys:
                job.run()
    assert state(engine, "appstore:Parkeo").status == "error"
    assert state(engine, "feeds:Parkeo").status == "ok"
    with engine.connect() as conn:
        assert conn.execute(select(Mention.external_id)).scalars().all() == ["n1"]


def test_repeated_failures_back_off_exponentially_then_recover(engine, now):
    with serving() as server:
        server.add("GET", "/us/reviews/1/42.json", Reply(503))
        cfg = config(server)
        cfg.sources.pop("feeds")
        pipe = pipeline(engine, cfg, now)
        store = pipe.collectors[0]
        holds = []
        for _ in range(36):  # one tick a minute, as the schedule would
            pipe.clock.advance(timedelta(minutes=1))
            pipe.collect(store)
            holds.append(state(engine, store.key).next_run_at)
        attempts = [s for s in server.seen if s.path == "/us/reviews/1/42.json"]
        server.routes[("GET", "/us/reviews/1/42.json")] = [Reply.json({"feed": {}})]
        pipe.clock.advance(timedelta(minutes=10))
        pipe.collect(store)
    waits = sorted({(h - now).total_seconds() // 60 for h in holds if h is not None})
    # from the second failure on, the next try waits 2, 4, 8 intervals, then the 10-minute cap
    assert waits == [4, 8, 16, 26, 36, 46] and len(attempts) == 7
    recovered = state(engine, store.key)
    assert (recovered.status, recovered.consecutive_failures, recovered.next_run_at) == (
        "ok",
        0,
        None,
    )


def test_disabled_sources_show_in_health_but_get_no_job(engine, now):
    with serving() as server:
        cfg = config(server, twitter=SourceConfig(), bluesky=SourceConfig())
        cfg.sources.pop("appstore")
        pipe = pipeline(engine, cfg, now)
        sched = build_schedule(pipe, process_every=60)
    tags = set().union(*(job.tags for job in sched.jobs))
    assert "twitter:Parkeo" not in tags and "feeds:Parkeo" in tags
    assert sum(isinstance(c, DisabledCollector) for c in pipe.collectors) == 2
    assert state(engine, "twitter:Parkeo").last_error == "disabled: no TWITTER_BEARER_TOKEN"
    assert state(engine, "bluesky:Parkeo").last_error == (
        "disabled: no BLUESKY_HANDLE / BLUESKY_APP_PASSWORD"
    )


def test_jitter_spreads_runs_within_the_configured_bounds(engine, now):
    with serving() as server:
        cfg = config(
            server,
            feeds=SourceConfig(interval_seconds=300, jitter_seconds=30, urls=[f"{server.url}/x"]),
        )
        cfg.sources.pop("appstore")
        sched = build_schedule(pipeline(engine, cfg, now), process_every=60)
    job = next(j for j in sched.jobs if "feeds:Parkeo" in j.tags)
    assert (job.interval, job.latest) == (300, 330)
    delay = job.next_run - datetime.now()
    assert timedelta(seconds=299) <= delay <= timedelta(seconds=331)


class Scripted:
    """A collector whose runs bring a scripted number of mentions (the thing under test is the
    health bookkeeping around it, not a source)."""

    source = "feeds"
    brand = "Parkeo"
    key = "feeds:Parkeo"

    def __init__(self, counts: list[int]) -> None:
        self.counts = iter(counts)
        self.made = 0

    def collect(self, cursor: dict[str, Any] | None, now: datetime) -> Iterator[Batch]:
        mentions = []
        for _ in range(next(self.counts)):
            self.made += 1
            mentions.append(MentionIn("feeds", f"s{self.made}", "Parkeo", "parkeo", now))
        yield Batch(mentions, {"made": self.made})


def _run(engine, now: datetime, counts: list[int], interval: float = 300) -> datetime:
    cfg = VigieConfig(brands=[BRAND], sources={"feeds": SourceConfig(interval_seconds=interval)})
    pipe = Pipeline(engine, cfg, Settings(), ManualClock(now), [Scripted(counts)])
    for _ in counts:
        pipe.clock.advance(timedelta(seconds=interval))
        pipe.collect(pipe.collectors[0])
    return pipe.clock.now()


def silent_alerts_of(engine) -> list[Alert]:
    with engine.connect() as conn:
        return list(conn.execute(select(Alert).where(Alert.kind == "silent")))


def _silences(engine, now: datetime, interval: float = 300) -> list[Alert]:
    cfg = VigieConfig(brands=[BRAND], sources={"feeds": SourceConfig(interval_seconds=interval)})
    rollups.refresh(engine)
    silent_alerts(engine, cfg, now)
    return silent_alerts_of(engine)


def test_a_usually_busy_source_gone_quiet_raises_one_silent_alert_a_day(engine):
    start = datetime.fromisoformat("2026-11-23T08:00:00+00:00")
    busy = _run(engine, start, [3, 1, 2, 4, 1, 0, 2, 5, 1, 2, 3, 2] * 12)  # 12 h, ~26 an hour
    assert _silences(engine, busy) == []
    end = _run(engine, busy, [0] * 3)  # 15 minutes: not improbable yet, nor half an hour
    assert _silences(engine, end) == []
    end = _run(engine, end, [0] * 9)  # an hour without one of the ~26 it brings an hour
    [alert] = _silences(engine, end)
    assert alert.brand == "Parkeo" and alert.dedup_key == "silent:feeds:Parkeo:2026-11-23"
    assert alert.details["source"] == "feeds" and alert.details["runs_without_new"] >= 6
    assert alert.details["usual_in_gap"] > 10
    assert "feeds has brought no mention of Parkeo" in alert.title
    assert alert.status == "pending" and alert.created_at <= end
    assert len(_silences(engine, end + timedelta(minutes=5))) == 1  # once a day
    later = _run(engine, end + timedelta(days=1), [0] * 2)  # still silent the next day
    assert len(_silences(engine, later)) == 2


def test_a_source_that_rarely_brings_anything_is_not_silent(engine):
    """Two a day for two weeks, then a day without: usual for it, whatever the runs say."""
    start = datetime.fromisoformat("2026-11-09T08:00:00+00:00")
    end = _run(engine, start, [1, 0, 0, 0] * 28 + [0] * 8, interval=10800)
    assert _silences(engine, end, interval=10800) == []


def test_a_source_never_counts_as_silent_with_intervals_set_to_zero(engine):
    start = datetime.fromisoformat("2026-11-23T08:00:00+00:00")
    end = _run(engine, start, [3, 1, 2, 4, 1, 0, 2, 5, 1, 2, 3, 2] * 12 + [0] * 24)
    cfg = VigieConfig(brands=[BRAND],
                      sources={"feeds": SourceConfig(silent_after_intervals=0)})
    rollups.refresh(engine)
    assert silent_alerts(engine, cfg, end) == 0


def test_the_sources_command_prints_health_without_control_characters(
    engine, now, capsys, monkeypatch
):
    hostile = DisabledCollector("twitter", "Parkeo", "disabled: \x1b[31mred\x1b]0;title\x07")
    Pipeline(engine, VigieConfig(brands=[BRAND]), Settings(), ManualClock(now)).collect(hostile)
    text = report(health(engine), {"twitter": (12, 340)})
    assert "\x1b" not in text and "\x07" not in text
    assert "twitter:Parkeo" in text and "disabled" in text
    assert "twitter: 12 requests, 340 items read this month" in text
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    main(["sources"])
    assert "twitter:Parkeo" in capsys.readouterr().out
