"""Detection on both databases: forecasts and spreading alerts, volume and negative spikes."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import count

import pytest
from sqlalchemy import Engine, insert, select

from monitor.config import Brand, BrandAlerts
from monitor.detection import detect
from monitor.detection.spikes import find_spikes
from monitor.detection.virality import spreading_alerts
from monitor.storage.tables import Alert, EngagementSnapshot, Forecast, Mention, Sentiment

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


def test_a_volume_spike_against_the_seasonal_baseline_alerts_once_per_cooldown(engine, now):
    rules = brand(volume={"min_count": 10, "cooldown_minutes": 60})
    _steady(engine, now - timedelta(minutes=10), 26, 6, negative_every=4)
    assert find_spikes(engine, rules, now - timedelta(minutes=10)) == []
    for k in range(30):
        add_mention(engine, now - timedelta(minutes=10) + timedelta(seconds=15 * k), "neutral")
    spikes = find_spikes(engine, rules, now)
    assert {(s.kind, s.minutes) for s in spikes} >= {("volume", 10)}
    assert all(s.seasonal for s in spikes)  # a day of history: same clock time yesterday
    config = type("C", (), {"brands": [rules]})()
    detect(engine, config, now)
    volume = [a for a in alerts(engine) if a.kind == "volume"]
    assert len(volume) == 1 and volume[0].details["count"] >= 30
    assert volume[0].details["baseline_kind"] == "same time on previous days"
    detect(engine, config, now + timedelta(minutes=5))
    assert len([a for a in alerts(engine) if a.kind == "volume"]) == 1


def test_a_jump_in_negative_share_is_a_spike_of_its_own(engine, now):
    rules = brand(volume={"min_count": 10, "factor": 5.0})
    _steady(engine, now - timedelta(minutes=60), 5, 20, negative_every=5)
    for k in range(20):
        label = "neutral" if k % 5 == 0 else "negative"
        add_mention(engine, now - timedelta(minutes=60) + timedelta(minutes=3 * k), label)
    kinds = {(s.kind, s.minutes) for s in find_spikes(engine, rules, now)}
    assert ("negative", 60) in kinds
    assert not any(kind == "volume" for kind, _ in kinds)


def test_a_steady_stream_has_no_spike(engine, now):
    rules = brand(volume={"min_count": 5, "sensitivity": "more"})
    _steady(engine, now, 8, 12, negative_every=3)
    assert find_spikes(engine, rules, now) == []
