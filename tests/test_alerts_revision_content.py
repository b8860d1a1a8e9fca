"""A revision's content is fixed when it is released: an alert revised again before that
revision's rows are sent (restarts, retries) must not lend the earlier email its later figures
(an email for revision 3 once carried revision 7's "523 people")."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from monitor.alerts.deliver import deliver_pending
from monitor.alerts.release import release_due
from monitor.config import Settings
from monitor.storage.tables import Alert
from tests.alerts_fixtures import alert_id, queue, write_config
from tests.test_alerts_compose import ONE, _eml


def test_each_revision_is_sent_with_its_own_content(engine, tmp_path, now):
    config = write_config(tmp_path, ONE)
    settings = Settings(VIGIE_DATA_DIR=str(tmp_path))
    queue(engine, now, "incident:7", kind="volume", title="Spike: 40 people",
          details={"count": 40, "baseline": 4.0, "window_minutes": 10})  # fmt: skip
    assert release_due(engine, config, settings, now) == 1  # revision 1's rows, not yet sent
    with engine.begin() as conn:  # escalated before the sender got to revision 1
        conn.execute(
            update(Alert)
            .where(Alert.dedup_key == "incident:7")
            .values(revision=2, status="pending", title="Spike: 523 people",
                    details={"count": 523, "baseline": 4.0, "window_minutes": 10})
        )  # fmt: skip
    deliver_pending(engine, config, settings, now + timedelta(minutes=1))
    key = alert_id(engine, "incident:7")
    first, first_plain, _ = _eml(tmp_path, f"alert-{key:08d}-r1")
    second, second_plain, _ = _eml(tmp_path, f"alert-{key:08d}-r2")
    assert "40 people" in first["Subject"] and "523" not in first_plain
    assert "523 people" in second["Subject"] and "523" in second_plain
