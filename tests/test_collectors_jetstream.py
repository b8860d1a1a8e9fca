"""Bluesky live: captured Jetstream events replayed by a real websocket server on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from monitor.clock import ManualClock
from monitor.collectors import jetstream
from monitor.collectors.bluesky import BlueskyCollector, BlueskyOptions
from monitor.collectors.health import health
from monitor.collectors.runner import collect_once
from monitor.config import Brand, Settings, SourceConfig, VigieConfig
from monitor.mentions import Batch
from monitor.scheduler import Pipeline, build_schedule
from monitor.storage.ingest import load_cursor
from monitor.storage.tables import Mention, Quarantined
from tests.replay.jetstream import Script, replaying, sorted_events, time_of
from tests.support import shared_path

BRAND = Brand(name="Civic", keywords=["government", "debunked", "maga"], exclusions=["tic tac"])
# The capture's posts that name those words, less the excluded one
WANTED = {"3mptbyo7dms2m", "3mptbyou7ls2i", "3mptbyoumc22i", "3mptbypockk2v"}


def captured() -> list[str]:
    path = shared_path("fixtures", "bluesky-more", "jetstream", "corpus_expected_v1.jsonl")
    return sorted_events(path.read_text(encoding="utf-8").splitlines())


@pytest.fixture(autouse=True)
def _streams() -> Iterator[None]:
    yield
    jetstream.close_all()


class Counting:
    """The collector, counting every mention it hands to storage (duplicates included)."""

    def __init__(self, inner: BlueskyCollector) -> None:
        self.inner = inner
        self.handed: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def collect(self, cursor: dict[str, Any] | None, now: datetime) -> Iterator[Batch]:
        for batch in self.inner.collect(cursor, now):
            self.handed += [m.external_id for m in batch.mentions]
            yield batch


def live(url: str, **options: Any) -> Counting:
    settings = {"jetstream_url": url, "search": False, "live": True, "live_backfill_minutes": 0}
    made = BlueskyCollector(BRAND, BlueskyOptions(**{**settings, **options}), "vigie.test", "pw")
    return Counting(made)


def until(check: Callable[[], bool], what: str, seconds: float = 20.0) -> None:
    """Wait for the reader thread (a guard against hanging, not a timing assertion)."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting: {what}")
        time.sleep(0.05)


def stored(engine) -> set[str]:
    with engine.connect() as conn:
        uris = conn.execute(select(Mention.external_id)).scalars().all()
    return {u.rsplit("/", 1)[1] for u in uris}


def start_at(lines: list[str]) -> datetime:
    """A clock at the capture's first event, so the first run's cursor starts the replay."""
    return datetime.fromtimestamp(min(t for t in map(time_of, lines) if t) / 1e6, UTC)


def test_reconnects_with_its_cursor_and_loses_or_repeats_nothing(engine):
    lines = captured()
    now = start_at(lines)
    with replaying(lines, Script(drop_after={0: 70})) as server:
        made = live(server.url)

        def collected() -> bool:
            collect_once(engine, made, now)
            return stored(engine) == WANTED

        until(collected, "every wanted post stored")
        cursors = list(server.cursors)
        first_sent = server.sent[0]
    assert len(cursors) == 2
    last_before_drop = max(time_of(line) for line in first_sent)
    assert cursors[1] == last_before_drop - jetstream.REWIND_US
    assert sorted(made.handed) == sorted(set(made.handed)) and len(made.handed) == 4
    with engine.connect() as conn:
        cursor = load_cursor(conn, made.key)
        post = conn.execute(select(Mention).where(Mention.external_id.like("%3mptbypockk2v"))).one()
    assert cursor["live"] == max(t for t in map(time_of, lines) if t)
    assert post.text == "Make MAGA-pliant institutions uninsurable."
    assert post.source == "bluesky" and post.language == "en"
    assert post.url.startswith("https://bsky.app/profile/did:plc:") and post.parent_id
    # a restart resumes from the committed cursor (less the margin), storing nothing twice
    jetstream.close_all()
    with replaying(lines) as server:
        again = live(server.url)
        assert collect_once(engine, again, now) == 0
        until(lambda: bool(server.sent) and len(server.sent[0]) > 0, "replay from the cursor")
        until(lambda: collect_once(engine, again, now) == 0 and not again.stream.problem, "idle")
        assert server.cursors == [cursor["live"] - jetstream.REWIND_US]


def test_survives_a_malformed_event_a_rate_limit_and_a_timeout(engine):
    lines = captured()
    broken = ["{not json", json.dumps({"kind": "commit", "did": "did:plc:x"})]
    lines = lines[:40] + broken + lines[40:]
    now = start_at(lines)
    script = Script(refuse=[429], silent_after={0: 80})
    with replaying(lines, script) as server:
        made = live(server.url, live_idle_timeout_seconds=1)
        collect_once(engine, made, now)
        until(lambda: made.stream.held_until is not None, "the refused handshake")
        collect_once(engine, made, now, force=True)
        assert health(engine)[0].status == "rate_limited"

        def collected() -> bool:
            collect_once(engine, made, now, force=True)
            return stored(engine) == WANTED

        until(collected, "every wanted post stored after the silence")
        cursors = list(server.cursors)
    assert server.refused == 1 and len(cursors) == 2  # refused, silent (timed out), resumed
    assert cursors[1] is not None and cursors[1] < max(time_of(x) or 0 for x in lines)
    with engine.connect() as conn:
        quarantined = conn.execute(select(func.count()).select_from(Quarantined)).scalar_one()
    assert quarantined == 2
    assert health(engine)[0].status == "ok"


def test_the_scheduler_is_never_blocked_and_the_buffer_is_bounded(engine):
    lines = captured()
    now = start_at(lines)
    last_wanted = max(i for i, x in enumerate(lines) if any(w in x for w in WANTED))
    # everything up to the last wanted post, then a connection that says nothing more
    script = Script(silent_after={0: last_wanted + 1})
    config = VigieConfig(brands=[BRAND], sources={"bluesky": SourceConfig(interval_seconds=60)})
    with replaying(lines, script) as server:
        made = live(server.url, live_buffer_max=1, live_idle_timeout_seconds=600)
        pipe = Pipeline(engine, config, Settings(), ManualClock(now), [made])  # type: ignore[list-item]
        job = next(j for j in build_schedule(pipe, 3600).jobs if made.key in j.tags)
        runs: list[int] = []

        def cycle() -> None:
            worker = threading.Thread(target=lambda: runs.append(job.run() or 0))
            worker.start()
            worker.join(30)
            assert not worker.is_alive(), "the scheduled collection waited on the stream"

        def buffered() -> int:
            return len(made.stream._subs[made.key].buffer)

        cycle()  # subscribes: the reader starts, the run returns at once
        for _ in range(len(WANTED)):
            until(lambda: buffered() > 0, "the next wanted post buffered")
            assert buffered() == 1  # bounded: the reader waits for the next drain
            cycle()
        assert stored(engine) == WANTED
        assert len(server.cursors) == 1  # back-pressure, not a dropped connection
    assert len(runs) >= len(WANTED)
