"""What the Inbox, Alerts and Sources pages say: urgency first, human labels, no bare None."""

from __future__ import annotations

import json
from datetime import UTC, timedelta

import pandas as pd
import yaml
from sqlalchemy import delete, insert, select

from monitor.mentions import Rejected
from monitor.storage import quarantine, rollups
from monitor.storage.tables import Alert, AlertDelivery, Mention
from tests import test_dashboard_app as pages
from tests.dashboard_seed import HOSTILE_TEXT, Seeded
from tests.test_dashboard_app import table, texts

# The dashboard tests' fixtures: a seeded database, the app started on a page, served locally.
local_server, seeded, start = pages.local_server, pages.seeded, pages.start


def shown_labels(element) -> dict[str, str | None]:
    """Each visible column's header as the reader sees it (None: hidden)."""
    config = json.loads(element.proto.columns or "{}")
    labels = {}
    for column in element.value.columns:
        found = config.get(f"col:name:{column}") or config.get(column) or {}
        labels[column] = None if found.get("hidden") else found.get("label", column)
    return labels


def test_inbox_lists_the_riskiest_open_complaint_first(seeded: Seeded, start):
    at = start("views/inbox.py")
    rows = table(at, 0)
    assert rows["reshares"].iloc[0] == rows["reshares"].max()
    assert rows["risk"].iloc[0] == rows["risk"].max() > 0
    labels = shown_labels(at.dataframe[0])
    assert "Waiting for" in labels.values() and "Answered after" in labels.values()
    assert "Time to answer" not in labels.values()


def test_alerts_tab_has_human_headers_and_no_literal_none(seeded: Seeded, start, engine):
    with engine.begin() as conn:
        alert_id = conn.execute(select(Alert.id).where(Alert.status == "pending")).scalar_one()
        conn.execute(
            insert(AlertDelivery).values(
                alert_id=alert_id,
                revision=1,
                channel="email",
                target="lead@example.com",
                unit="u1",
                next_attempt_at=seeded.now,
                created_at=seeded.now,
            )
        )
    at = start("views/settings.py")
    frames = [e for e in at.dataframe if "attempts" in e.value.columns]
    assert len(frames) == 2  # the alerts, then the deliveries per recipient
    for element in frames:
        for column, label in shown_labels(element).items():
            assert label != column or column in ("kind",), f"raw header {column!r}"
        values = element.value
        text = values.select_dtypes(include=["object", "string"])
        assert not text.isna().any().any(), text
        assert "None" not in text.astype(str).to_numpy().ravel().tolist()


def test_sources_tab_lists_what_was_set_aside(seeded: Seeded, start, engine):
    class Stream:
        source, key, brand = "x", "x:Parkeo", "Parkeo"

    with engine.begin() as conn:
        item = Rejected(json.dumps({"text": HOSTILE_TEXT}), "MalformedResponse: no id")
        quarantine.put(conn, Stream(), [item], seeded.now - timedelta(minutes=3))
    at = start("views/settings.py")
    listed = next(e.value for e in at.dataframe if "payload" in e.value.columns)
    assert list(listed["error"]) == ["MalformedResponse: no id"]
    assert "<script>" in listed["payload"].iloc[0]  # shown as text in a cell, never rendered
    assert isinstance(listed["first_seen_at"].iloc[0], pd.Timestamp)
    assert "Set aside: 1 item(s)" in texts(at)


def test_one_clock_per_brand_on_the_dashboard(seeded: Seeded, start, tmp_path):
    path = tmp_path / "vigie.yaml"  # the config the ``start`` fixture wrote and points at
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["brands"][0]["timezone"] = "Europe/Brussels"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    at = start("views/live.py")
    assert "Times in Europe/Brussels" in texts(at)
    feed = next(e.value for e in at.dataframe if "text" in e.value.columns)
    moments = [c for c in feed.columns if str(feed[c].dtype).startswith("datetime64")]
    assert moments and all(str(feed[c].dt.tz) == "Europe/Brussels" for c in moments)


def test_the_brand_clock_falls_back_to_the_reports_one():
    from monitor.config import VigieConfig

    config = VigieConfig.model_validate(
        {
            "brands": [{"name": "A", "timezone": "America/New_York"}, {"name": "B"}],
            "reports": {"timezone": "Europe/Brussels"},
        }
    )
    assert config.zone("a").key == "America/New_York"
    assert config.zone("B").key == config.zone("StreetPay").key == "Europe/Brussels"


def test_alert_email_charts_read_the_brand_clock():
    from datetime import datetime

    from monitor.alerts.compose import html
    from monitor.alerts.view import AlertView

    view = AlertView(
        id=1, kind="spreading", brand="Parkeo", severity="high", title="t", revision=1,
        dedup_key="k", created_at=datetime.now(UTC), mention_id=None, details={},
        link="https://vigie.example.test/", zone="Europe/Brussels",
    )  # fmt: skip
    assert "Times in Europe/Brussels" in html([view], "chart-1")


def _share_chart(at) -> dict:
    """The share-of-voice-over-time chart's Vega-Lite spec (the one stacked to 100 %)."""
    for element in at.get("vega_lite_chart"):
        spec = json.loads(element.proto.spec)
        if spec.get("encoding", {}).get("y", {}).get("stack") == "normalize":
            return spec
    raise AssertionError("no share-of-voice chart on the page")


def test_share_of_voice_over_time_is_drawn_with_one_day_of_data(seeded: Seeded, start, engine):
    with engine.begin() as conn:  # only the last day's mentions, as right after the demo
        conn.execute(delete(Mention).where(Mention.created_at < seeded.now - timedelta(hours=2)))
    rollups.rebuild(engine)
    at = start("views/trends.py")
    spec = _share_chart(at)
    assert spec["mark"]["type"] in ("bar", "area")
    assert "Over time per hour" in texts(at)
