"""Detection on both databases: forecasts and spreading alerts, volume and complaint spikes
against each stream's own rate."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import count

import numpy as np
import pytest
from sqlalchemy import Engine, insert, select

from monitor.config import Brand, BrandAlerts
from monitor.detection import detect, rates
from monitor.detection.spikes import find_spikes, spike_alerts
from monitor.detection.virality import spreading_alerts
from monitor.storage import rollups
from monitor.storage.tables import (
    Alert,
    EngagementSnapshot,
    Forecast,
    Incident,
    IncidentMention,
    Mention,
    Sentiment,
)

_ids = count()


def brand(**alerts) -> Brand:
    return Brand(name="Parkeo", keywords=["parkeo"], alerts=BrandAlerts.model_validate(alerts))


def add_mention(
    engine: Engine,
    created: datetime,
    label: str = "negative",
    *,
    text: str = "Parkeo fined me again",
    followers: int = 500,
    polls: list[tuple[float, int]] = (),
) -> int:
    """A scored mention with reshare snapshots at (minutes after publication, reshares)."""
    with engine.begin() as conn:
        mention_id = conn.execute(
            insert(Mention).returning(Mention.id),
            {"source": "x", "external_id": f"m{next(_ids)}", "brand": "Parkeo", "text": text,
             "author": f"user{next(_ids)}", "author_followers": followers, "language": "en",
             "created_at": created, "collected_at": created},
        ).scalar_one()
        conn.execute(insert(Sentiment), {
            "mention_id": mention_id, "label": label, "score": 0.9,
            "is_complaint": label == "negative", "complaint_score": 0.8, "model_id": "test",
            "scored_at": created,
        })
        for minutes, reshares in polls:
            conn.execute(insert(EngagementSnapshot), {
                "mention_id": mention_id, "observed_at": created + timedelta(minutes=minutes),
                "reshares": reshares,
            })
    return mention_id


def alerts(engine: Engine) -> list:
    with engine.connect() as conn:
        return conn.execute(select(Alert).order_by(Alert.id)).all()


FAST = [(5, 20), (10, 45), (15, 70), (20, 100), (30, 150)]


def test_a_complaint_forecast_to_cross_the_threshold_alerts_before_it_does(engine, now):
    rules = brand(spreading={"threshold": 600, "warn_hours": 12, "reshares_per_hour": 10_000,
                             "min_reshares": 10})
    mention = add_mention(engine, now - timedelta(minutes=30), polls=FAST)
    assert spreading_alerts(engine, rules, now) == 1
    [alert] = alerts(engine)
    assert alert.kind == "spreading" and alert.mention_id == mention
    d = alert.details
    assert d["reshares"] == 150 < d["threshold"] == 600
    assert d["forecast_low"] <= d["forecast_final"] <= d["forecast_high"]
    assert d["forecast_final"] >= 600 and 0 < d["seconds_to_threshold"] <= 12 * 3600
    assert 0 < d["risk"] <= 1 and d["risk_reasons"]
    assert "set to pass 600 reshares" in alert.title
    with engine.connect() as conn:
        row = conn.execute(select(Forecast).where(Forecast.mention_id == mention)).one()
    assert row.reshares_now == 150 and row.final == pytest.approx(d["forecast_final"], abs=1)
    assert set(row.reasons) >= {"reach", "growth", "negativity"}
    # Nothing new observed: no new forecast, no second alert.
    assert spreading_alerts(engine, rules, now + timedelta(minutes=1)) == 0
    assert len(alerts(engine)) == 1


def test_a_small_or_positive_mention_gets_a_forecast_but_no_alert(engine, now):
    rules = brand(spreading={"threshold": 600, "min_reshares": 10})
    praise = add_mention(engine, now - timedelta(minutes=30), "positive", polls=FAST)
    small = add_mention(engine, now - timedelta(minutes=30), polls=[(10, 1), (30, 2)])
    assert spreading_alerts(engine, rules, now) == 0
    with engine.connect() as conn:
        forecast = dict(conn.execute(select(Forecast.mention_id, Forecast.risk)).all())
    assert set(forecast) == {praise, small}
    assert forecast[small] < forecast[praise]


def test_growth_alone_still_alerts_when_the_forecast_stays_below(engine, now):
    rules = brand(spreading={"threshold": 1_000_000, "reshares_per_hour": 100,
                             "min_reshares": 10})
    add_mention(engine, now - timedelta(minutes=30), polls=FAST)
    assert spreading_alerts(engine, rules, now) == 1
    assert "spreading: 150 reshares" in alerts(engine)[0].title


def _steady(engine: Engine, now: datetime, hours: int, per_hour: int, negative_every: int) -> None:
    for k in range(hours * per_hour):
        label = "negative" if k % negative_every == 0 else "neutral"
        add_mention(engine, now - timedelta(hours=hours) + k * timedelta(hours=1) / per_hour,
                    label)


def spikes(engine: Engine, rules: Brand, now: datetime) -> list:
    rollups.refresh(engine)
    return find_spikes(engine, rules, now)


def test_a_volume_spike_against_the_stream_rate_alerts_once_per_cooldown(engine, now):
    rules = brand(volume={"min_count": 10, "cooldown_minutes": 60})
    _steady(engine, now - timedelta(minutes=10), 26, 6, negative_every=4)
    assert spikes(engine, rules, now - timedelta(minutes=10)) == []
    for k in range(30):
        add_mention(engine, now - timedelta(minutes=10) + timedelta(seconds=15 * k), "neutral")
    found = spikes(engine, rules, now)
    assert ("volume", 10) in {(s.kind, s.minutes) for s in found}
    config = type("C", (), {"brands": [rules]})()
    detect(engine, config, now)
    volume = [a for a in alerts(engine) if a.details.get("measure") == "mentions"]
    assert len(volume) == 1 and volume[0].details["count"] >= 30
    assert volume[0].details["baseline"] < 5
    detect(engine, config, now + timedelta(minutes=5))
    assert len([a for a in alerts(engine) if a.kind == "volume"]) == len(found)


def test_a_spike_an_open_incident_explains_raises_nothing_more(engine, now):
    rules = brand(volume={"min_count": 10})
    _steady(engine, now - timedelta(minutes=10), 26, 6, negative_every=4)
    burst = [add_mention(engine, now - timedelta(minutes=10) + timedelta(seconds=15 * k))
             for k in range(30)]
    with engine.begin() as conn:
        incident = conn.execute(insert(Incident).returning(Incident.id), {
            "brand": "Parkeo", "title": "t", "status": "open", "first_seen": now,
            "last_seen": now}).scalar_one()
        conn.execute(insert(IncidentMention),
                     [{"incident_id": incident, "mention_id": m} for m in burst])
    assert spikes(engine, rules, now)
    assert spike_alerts(engine, rules, now) == 0


def test_a_jump_in_complaints_at_a_steady_volume_is_a_complaint_spike(engine, now):
    rules = brand(volume={"min_count": 10, "factor": 2.0})
    _steady(engine, now - timedelta(minutes=60), 30, 20, negative_every=10)
    for k in range(20):
        label = "neutral" if k % 5 == 0 else "negative"
        add_mention(engine, now - timedelta(minutes=60) + timedelta(minutes=3 * k), label)
    kinds = {(s.kind, s.minutes) for s in spikes(engine, rules, now)}
    assert ("complaints", 60) in kinds
    assert not any(kind == "volume" for kind, _ in kinds)


def test_a_steady_stream_has_no_spike(engine, now):
    rules = brand(volume={"min_count": 5, "sensitivity": "more"})
    _steady(engine, now, 30, 12, negative_every=3)
    assert spikes(engine, rules, now) == []


def test_a_new_stream_is_not_judged_on_the_minutes_of_its_first_hour(engine, now):
    """A stream first seen at 10:56 has four minutes of that hour: counted as a whole hour,
    they made its ordinary traffic look like a spike an hour later (the demo's false alarm
    whenever it started late in an hour). Its first whole hour is history; a burst still is news."""
    rules = brand(volume={"min_count": 10})
    start = now - timedelta(minutes=64)
    for k in range(150):  # 1.5 a minute, from 10:56 to 12:36
        add_mention(engine, start + timedelta(seconds=40 * k), "negative" if k % 4 else "neutral")
    for minutes in (5, 10, 20, 30):
        assert spikes(engine, rules, now + timedelta(minutes=minutes)) == [], minutes
    for k in range(60):
        add_mention(engine, now + timedelta(minutes=30, seconds=10 * k), "neutral")
    assert ("volume", 10) in {(s.kind, s.minutes) for s in spikes(engine, rules,
                                                                   now + timedelta(minutes=40))}


def test_usual_is_the_streams_own_rate():
    """Six complaints in three hours where two a day is usual are news; fifty mentions an hour
    where fifty is usual are not; a new stream is never surprising."""
    season = rates.Season.flat()
    hours = np.arange(24 * 28)
    quiet = rates.estimate(hours, np.random.default_rng(1).poisson(2 / 24, len(hours)), season)
    busy = rates.estimate(hours, np.random.default_rng(2).poisson(50, len(hours)), season)
    fresh = rates.estimate(hours[:2], np.array([30, 40]), season)
    threshold = rates.alpha("balanced", streams=2)
    assert quiet.surprise(6, 3.0) < threshold
    assert quiet.surprise(2, 3.0) > threshold
    assert busy.surprise(50, 1.0) > 0.3 and busy.surprise(60, 1.0) > threshold
    assert busy.surprise(150, 1.0) < threshold
    assert fresh.surprise(90, 1.0) > threshold
    assert rates.false_alarms("fewer") < rates.false_alarms("balanced") < rates.false_alarms(3.0)


def test_a_long_spike_is_one_alert_followed_up_only_when_it_escalates(engine, now):
    rules = brand(volume={"min_count": 10, "cooldown_minutes": 60})
    config = type("C", (), {"brands": [rules]})()
    start = now - timedelta(minutes=10)
    _steady(engine, start, 26, 6, negative_every=4)
    for k in range(30):
        add_mention(engine, start + timedelta(seconds=15 * k), "neutral")

    def cycle(at: datetime) -> list:
        rollups.refresh(engine)
        detect(engine, config, at)
        return [a for a in alerts(engine) if a.kind == "volume"]

    assert len(cycle(now)) == 1
    with engine.begin() as conn:  # the first email went out
        conn.execute(Alert.__table__.update().values(status="sent", sent_at=now))
    for k in range(5):  # the spike lingers past the cooldown: no second email
        add_mention(engine, now + timedelta(minutes=70 + k), "neutral")
    volume = cycle(now + timedelta(minutes=80))
    assert [a.revision for a in volume] == [1]
    for k in range(60):  # then it more than doubles: one follow-up, saying what changed
        add_mention(engine, now + timedelta(minutes=100, seconds=10 * k), "neutral")
    volume = cycle(now + timedelta(minutes=110))
    assert [a.revision for a in volume] == [2]
    assert volume[0].details["changes"]
