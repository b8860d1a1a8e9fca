"""A quiet stream's outage, end to end: two reviews a day for two weeks, then 13 Dutch and
English "it does not work" reviews in three and a half hours, never more than five in an hour.

Replayed through the whole pipeline on a simulated clock (``backtest``). Usual is the stream's
own rate, so the outage is one incident within two hours of its first review, the quiet weeks
raise nothing, and a source that brings two reviews a day is never "silent". The review texts
are read from ../shared at test time (skipped where it is absent), never copied here.
"""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta

from monitor.backtest.replay import backtest
from monitor.config import VigieConfig
from monitor.mentions import MentionIn
from tests.support import shared_path

START = datetime(2026, 2, 2, 0, 0, tzinfo=UTC)
OUTAGE = START + timedelta(days=14, hours=8, minutes=12)
OFFSETS = (0, 8, 20, 35, 62, 75, 95, 118, 140, 160, 178, 195, 210)  # minutes; <= 5 an hour
LANGUAGES = ("nl",) * 9 + ("en",) * 4
BROKEN = re.compile(r"storing|werkt (niet|nooit)|doet het niet|crash|not work|doesn't work|"
                    r"won't (open|load)|can't log", re.IGNORECASE)


def config() -> VigieConfig:
    return VigieConfig.model_validate({
        "brands": [{"name": "Bank", "keywords": ["bank"], "languages": ["nl", "en"],
                    "sources": {"appstore": {"app_id": "1"}}}],
        "sources": {"appstore": {"interval_seconds": 900}},
    })


def _reviews(lang: str) -> list[tuple[int, str]]:
    path = shared_path("reviews", "googleplay-covid-apps", f"{lang}-train.tsv")
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        stars, _, text = line.split("\t", 2)
        if stars.isdigit() and 15 <= len(text) <= 200:
            rows.append((int(stars), text))
    return rows


def history() -> list[MentionIn]:
    """Mostly one- and two-star reviews about anything, twice a day, then the outage."""
    rng = random.Random(17)
    pool = {lang: _reviews(lang) for lang in ("nl", "en")}
    everyday = [r for lang in pool for r in pool[lang] if r[0] <= 2 or rng.random() < 0.3]
    broken = {lang: [r for r in pool[lang] if r[0] <= 2 and BROKEN.search(r[1])]
              for lang in pool}
    records = []
    for day in range(14):
        for _ in range(2):
            at = START + timedelta(days=day, hours=rng.uniform(6, 23))
            records.append((at, *rng.choice(everyday)))
    for minutes, lang in zip(OFFSETS, LANGUAGES, strict=True):
        stars, text = broken[lang][rng.randrange(len(broken[lang]))]
        records.append((OUTAGE + timedelta(minutes=minutes), stars, text))
    return [
        MentionIn(source="appstore", external_id=f"r{n}", brand="Bank", text=text,
                  created_at=at, author=f"reviewer{n}", rating=stars)
        for n, (at, stars, text) in enumerate(sorted(records))
    ]


def test_a_quiet_streams_outage_is_one_incident_within_two_hours_and_nothing_else():
    outcome = backtest(config(), history(), process_every=timedelta(minutes=10))
    at = [datetime.fromisoformat(a["at"]) for a in outcome.alerts]
    before = [a for a, t in zip(outcome.alerts, at, strict=True) if t < OUTAGE]
    assert before == [], before  # two weeks of everyday complaints: nothing
    assert not [a for a in outcome.alerts if a["kind"] == "silent"]
    incidents = [(a, t) for a, t in zip(outcome.alerts, at, strict=True)
                 if a["kind"] == "incident"]
    assert incidents, outcome.alerts
    first, when = incidents[0]
    assert when - OUTAGE <= timedelta(hours=2)
    assert len({a["title"].split(":", 1)[1] for a, _ in incidents if a["revision"] == 1}) == 1
    assert first["mentions"] >= 6 and set(first["languages"]) <= {"nl", "en"}
