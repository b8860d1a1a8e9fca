"""Backtest: recorded histories replayed through the real pipeline on a simulated clock.

The quiet-stream history is built at test time from real reviews in ../shared (a bank-like app
reviewed twice a day, then an outage burst of "it does not work" reviews in Dutch, French and
English); nothing from ../shared is copied into the project.
"""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.backtest.export import Selection, write_jsonl
from monitor.backtest.inputs import read_history
from monitor.backtest.replay import TAIL, backtest, quiet_config, released_since, sources_of
from monitor.clock import ManualClock
from monitor.config import Settings, VigieConfig
from monitor.mentions import Engagement, MentionIn
from monitor.scheduler import Pipeline
from monitor.storage.db import make_engine, upgrade
from monitor.storage.ingest import store_mentions
from tests.support import ROOT, shared_path

APP = "1234567"
START = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
OUTAGE = START + timedelta(days=6, hours=9)
FAILURE = re.compile(r"werkt niet|doet niets|crash|storing|ne fonctionne|plante|does not work|"
                     r"doesn't work|not working", re.IGNORECASE)


def config(**alerts: Any) -> VigieConfig:
    return VigieConfig.model_validate({
        "brands": [{"name": "Bank", "keywords": ["bank"], "languages": ["nl", "fr", "en"],
                    "sources": {"appstore": {"app_id": APP}}, "alerts": alerts}],
        "sources": {"appstore": {"interval_seconds": 3600}},
    })


def _reviews(lang: str) -> list[tuple[int, str]]:
    path = shared_path("reviews", "googleplay-covid-apps", f"{lang}-train.tsv")
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        stars, _, text = line.split("\t", 2)
        if stars.isdigit() and 20 <= len(text) <= 300:
            rows.append((int(stars), text))
    return rows


def quiet_stream_history(path: Path) -> None:
    """Six quiet days (two reviews a day, about anything), then 14 reviews in 70 minutes saying
    the app does not work, mostly in Dutch."""
    rng = random.Random(15)
    pool = {lang: _reviews(lang) for lang in ("nl", "fr", "en")}
    quiet = [r for lang in pool for r in pool[lang] if not FAILURE.search(r[1])]
    broken = {lang: [r for r in pool[lang] if FAILURE.search(r[1]) and r[0] <= 2]
              for lang in pool}
    records = []
    for day in range(6):
        for _ in range(2):
            stars, text = rng.choice(quiet)
            at = START + timedelta(days=day, hours=rng.uniform(7, 22))
            records.append((at, stars, text))
    for i, lang in enumerate(["nl"] * 9 + ["fr"] * 3 + ["en"] * 2):
        stars, text = broken[lang][i % len(broken[lang])]
        records.append((OUTAGE + timedelta(minutes=5 * i + rng.uniform(0, 2)), stars, text))
    with path.open("w", encoding="utf-8") as out:
        for n, (at, stars, text) in enumerate(sorted(records)):
            out.write(json.dumps({"source": "appstore", "external_id": f"r{n}", "brand": "Bank",
                                  "created_at": at.isoformat(), "author": f"user{n}",
                                  "text": text, "rating": stars}) + "\n")


def test_quiet_stream_outage_is_caught_and_quiet_weeks_stay_quiet(tmp_path: Path) -> None:
    history_file = tmp_path / "history.jsonl"
    quiet_stream_history(history_file)
    history = read_history([history_file], config())
    assert not history.errors and len(history.mentions) == 26
    outcome = backtest(config(), history.mentions)
    before = [a for a in outcome.alerts if datetime.fromisoformat(a["at"]) < OUTAGE]
    during = [a for a in outcome.alerts if a["kind"] in ("incident", "volume")
              and OUTAGE <= datetime.fromisoformat(a["at"]) <= OUTAGE + timedelta(hours=2)]
    assert before == [], before
    assert during, outcome.alerts
    assert outcome.stored == 26 and outcome.polls > 6 * 24


def _step_by_step(history: list[MentionIn], folder: Path) -> list[dict[str, Any]]:
    """The plain pipeline on an ordinary SQLite file, every collector then processing at each
    hourly poll (the source's interval): what the replay must find, however it gets there."""
    settings = Settings(DATABASE_URL=f"sqlite:///{folder / 'plain.db'}", VIGIE_DATA_DIR=folder,
                        SMTP_HOST=None)
    engine = make_engine(settings.db_url)
    upgrade(engine)
    start = history[0].created_at
    clock = ManualClock(start)
    pipeline = Pipeline(engine, quiet_config(config()), settings, clock,
                        list(sources_of(config(), history)))
    seen: set[tuple[int, int]] = set()
    found: list[dict[str, Any]] = []
    while clock.now() <= history[-1].created_at + TAIL:
        pipeline.cycle()
        found += released_since(engine, seen, clock.now())
        clock.advance(timedelta(hours=1))
    engine.dispose()
    return found


def test_the_replay_finds_what_the_step_by_step_pipeline_finds(tmp_path: Path) -> None:
    """The replay's shortcuts (throwaway database pragmas, processing only when due) change
    nothing it reports: same alerts, same times, titles, counts and revisions."""
    history_file = tmp_path / "history.jsonl"
    quiet_stream_history(history_file)
    history = read_history([history_file], config()).mentions
    replayed = backtest(config(), history).alerts
    assert replayed, "the outage must raise something for the comparison to mean anything"
    assert replayed == _step_by_step(history, tmp_path)


def _feed_page(reviews: list[dict[str, Any]]) -> dict[str, Any]:
    feed_id = f"https://itunes.apple.com/be/rss/customerreviews/page=1/id={APP}/sortby=mostrecent/json"
    app_entry = {"im:name": {"label": "Bank"}}
    entries = [app_entry] + [
        {"id": {"label": r["id"]}, "updated": {"label": r["at"]},
         "im:rating": {"label": r["stars"]}, "title": {"label": r["title"]},
         "content": {"label": r["text"]},
         "author": {"name": {"label": r["author"]}}}
        for r in reviews
    ]
    return {"feed": {"id": {"label": feed_id}, "entry": entries}}


def test_readers_keep_good_items_and_name_each_bad_one(tmp_path: Path) -> None:
    jsonl = tmp_path / "mentions.jsonl"
    jsonl.write_text("\n".join([
        json.dumps({"source": "x", "external_id": "1", "created_at": "2026-03-02T10:00:00Z",
                    "text": "ok <script>alert(1)</script>", "rating": 2,
                    "engagement": [{"observed_at": "2026-03-02T10:05:00Z", "reshares": 3},
                                   {"observed_at": "2026-03-02T11:00:00Z", "reshares": 9}]}),
        "{not json",
        json.dumps({"source": "x", "external_id": "2", "text": "no time"}),
        json.dumps({"source": "x", "external_id": "3", "created_at": "yesterday", "text": "t"}),
        json.dumps({"source": "x", "external_id": "4", "created_at": "2026-03-02T10:00:00Z",
                    "text": "t", "rating": 9}),
        json.dumps({"source": "x", "external_id": "5", "created_at": "2026-03-02T10:00:00Z",
                    "text": "t", "brand": "Nobody"}),
        json.dumps(["a list"]),
    ]), encoding="utf-8")
    csv_file = tmp_path / "vigie-mentions.csv"
    csv_file.write_text(
        "id,created_at,brand,source,author,text,language,url,label,reshares,likes\n"
        "7,2026-03-02 09:00:00+00:00,Bank,reddit,ann,\"'=cmd, quoted\",fr,,negative,4,1\n"
        "8,,Bank,reddit,bob,no date,fr,,negative,,\n", encoding="utf-8")
    feed = tmp_path / "feed.json"
    feed.write_text(json.dumps([
        _feed_page([{"id": "9", "at": "2026-03-02T08:00:00-07:00", "stars": "1",
                     "title": "Storing", "text": "App doet niks", "author": "jan"},
                    {"id": "10", "at": "not a date", "stars": "1", "title": "x", "text": "y",
                     "author": "z"}]),
        {"feed": {"id": {"label": "https://itunes.apple.com/be/rss/customerreviews/id=999/json"},
                  "entry": []}},
    ]), encoding="utf-8")
    history = read_history([jsonl, csv_file, feed, tmp_path / "missing.jsonl"], config())
    errors = "\n".join(history.errors)
    for expected in (f"{jsonl}:2: not JSON", f"{jsonl}:3: no created_at",
                     f"{jsonl}:4: created_at 'yesterday' is not an ISO 8601 time",
                     f"{jsonl}:5: rating 9 is out of range", f"{jsonl}:6: brand 'Nobody'",
                     f"{jsonl}:7: not an object", f"{csv_file}:3: no created_at",
                     "page 1 review 2: App Store feed: a review without a time",
                     "page 2: App Store app id 999 is no configured brand's app_id",
                     "missing.jsonl: cannot be read"):
        assert expected in errors, errors
    assert len(history.errors) == 10
    by_id = {}
    for m in history.mentions:
        by_id.setdefault(m.external_id, []).append(m)
    assert [m.engagement.reshares for m in by_id["1"]] == [3, 9]
    assert by_id["1"][0].text == "ok <script>alert(1)</script>" and by_id["1"][0].rating == 2
    assert by_id["7"][0].text == "=cmd, quoted" and by_id["7"][0].engagement.reshares == 4
    review = by_id["9"][0]
    assert (review.source, review.brand, review.rating) == ("appstore", "Bank", 1)
    assert review.created_at == datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    assert review.text.startswith("Storing")


def test_export_reads_back_as_the_same_mentions(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'v.db'}")
    upgrade(engine)
    at = datetime(2026, 3, 2, 10, tzinfo=UTC)
    stored = [
        MentionIn("appstore", "a1", "Bank", "Crash\n\nApp doet niks", at, author="jan",
                  rating=1, language="nl"),
        MentionIn("twitter", "t1", "Bank", "@bank down again", at + timedelta(minutes=5),
                  url="https://x.com/u/status/1", author_followers=120,
                  engagement=Engagement(at + timedelta(minutes=10), likes=2, reshares=1)),
    ]
    with engine.begin() as conn:
        store_mentions(conn, stored, at)
        store_mentions(conn, [MentionIn(
            "twitter", "t1", "Bank", "@bank down again", at + timedelta(minutes=5),
            engagement=Engagement(at + timedelta(minutes=40), likes=5, reshares=30))], at)
    out = tmp_path / "export.jsonl"
    with out.open("w", encoding="utf-8") as handle:
        assert write_jsonl(engine, Selection(brands=("Bank",)), handle) == 2
    with out.open("w", encoding="utf-8") as handle:
        assert write_jsonl(engine, Selection(sources=("twitter",)), handle) == 1
    with out.open("w", encoding="utf-8") as handle:
        write_jsonl(engine, Selection(), handle)
    history = read_history([out], config())
    assert not history.errors
    assert [(m.external_id, m.engagement and m.engagement.reshares) for m in history.mentions] \
        == [("a1", None), ("t1", 1), ("t1", 30)]
    first = history.mentions[0]
    assert (first.text, first.rating, first.language, first.author) == (
        "Crash\n\nApp doet niks", 1, "nl", "jan")


def test_backtest_command_prints_alert_lines_then_a_summary(tmp_path: Path) -> None:
    history_file = tmp_path / "history.jsonl"
    quiet_stream_history(history_file)
    with history_file.open("a", encoding="utf-8") as out:
        out.write("{broken\n")
    cfg = tmp_path / "vigie.yaml"
    cfg.write_text(json.dumps(config().model_dump(mode="json", exclude_defaults=True)))
    end = (OUTAGE + timedelta(hours=4)).isoformat()
    run = subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(cfg), "backtest", str(history_file),
         "--start", (START + timedelta(days=3)).isoformat(), "--end", end],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={"PATH": "/usr/bin:/bin", "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
             "SMTP_HOST": "127.0.0.1", "SMTP_PORT": "1", "HOME": str(tmp_path)},
    )
    assert run.returncode == 1, run.stderr
    assert f"{history_file}:27: not JSON" in run.stderr
    assert "Traceback" not in run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    summary = lines[-1]
    assert summary["kind"] == "summary" and summary["read"] == 26 and summary["left_out"] == 1
    assert summary["alerts"] == len(lines) - 1 >= 1
    for alert in lines[:-1]:
        assert set(alert) >= {"at", "kind", "brand", "title", "mentions", "languages",
                              "first_mention_at"}
        assert datetime.fromisoformat(alert["at"]) >= START + timedelta(days=3)


@pytest.mark.parametrize("bad", ["incidents.nothing=1", "incidents.min_size=zero", "x"])
def test_bad_override_is_a_config_error(tmp_path: Path, bad: str) -> None:
    from monitor.backtest.cli import with_overrides
    from monitor.config import ConfigError

    with pytest.raises(ConfigError):
        with_overrides(config(), [bad])
    assert with_overrides(config(), ["incidents.sensitivity=more"]).brands[0].alerts.incidents \
        .sensitivity == "more"
