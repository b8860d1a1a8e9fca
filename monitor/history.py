"""History is data: what a first run, a backfill or a restart after downtime collects is analysed
as the history it is.

Detection judges windows that end *now*; mentions published a day ago would only ever be seen as
old. So each brand keeps how far its mentions have been analysed (``detection_state``). When the
stored mentions reach further back than that (a first run with ``backfill_hours``, ``run
--backfill``, a restart after downtime), detection steps through the gap on a simulated clock, as
if Vigie had been watching. What it finds there is recorded, incidents marked ``historical`` and
their alerts ``historical``: shown on the Incidents and Alerts pages, never emailed. The last hour
stays live: it is what normal detection judges, and alerts on.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from monitor.config import VigieConfig
from monitor.detection import detect
from monitor.storage.tables import Alert, DetectionState, Incident, Mention

log = logging.getLogger(__name__)
STEP = timedelta(minutes=10)
"""Simulated time between two detection cycles over history (the shortest detection window)."""
LIVE = timedelta(hours=1)
"""The recent past judged live, with alerts that go out."""
MAX_STEPS = 30 * 24 * 6
"""At most a month of history at ``STEP``: longer gaps take longer steps."""
HISTORICAL = "historical"


def _analysed_until(conn: Connection, brand: str) -> datetime | None:
    query = select(DetectionState.analysed_until).where(DetectionState.brand == brand)
    return conn.execute(query).scalar()


def mark_analysed(conn: Connection, brand: str, until: datetime) -> None:
    """Record that the brand's mentions up to ``until`` have been analysed."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(DetectionState.__table__).values(brand=brand, analysed_until=until)
    conn.execute(stmt.on_conflict_do_update(index_elements=["brand"],
                                            set_={"analysed_until": until}))


def forget(engine: Engine) -> None:
    """``run --backfill``: analyse every stored mention again as history (e.g. after an import).
    Mentions already in an incident stay in it; alerts already raised are not raised twice."""
    with engine.begin() as conn:
        conn.execute(delete(DetectionState))


def _oldest(conn: Connection, brand: str, after: datetime | None) -> datetime | None:
    query = select(func.min(Mention.created_at)).where(Mention.brand == brand)
    if after is not None:
        query = query.where(Mention.created_at > after)
    return conn.execute(query).scalar()


def _times(start: datetime, end: datetime) -> list[datetime]:
    step = max(STEP, (end - start) / MAX_STEPS)
    count = int((end - start) / step)
    return [start + step * (i + 1) for i in range(count)]


def catch_up(engine: Engine, config: VigieConfig, now: datetime) -> int:
    """Analyse each brand's unanalysed history before ``now - LIVE``; returns how many
    historical incidents it recorded."""
    found = 0
    for brand in config.brands:
        with engine.connect() as conn:
            frontier = _analysed_until(conn, brand.name)
            oldest = _oldest(conn, brand.name, None) if frontier is None else frontier
        end = now - LIVE
        if oldest is not None and end - oldest > STEP:
            found += _replay(engine, config.model_copy(update={"brands": [brand]}), oldest, end)
        with engine.begin() as conn:
            mark_analysed(conn, brand.name, now)
    return found


def _replay(engine: Engine, config: VigieConfig, start: datetime, end: datetime) -> int:
    brand = config.brands[0].name
    with engine.connect() as conn:
        last_incident = conn.execute(select(func.coalesce(func.max(Incident.id), 0))).scalar()
    times = _times(start, end)
    log.info("%s: analysing %s of history as history (%d steps)", brand, end - start, len(times))
    for moment in times:
        detect(engine, config, moment)
    with engine.begin() as conn:
        conn.execute(update(Alert).where(
            Alert.brand == brand, Alert.status == "pending", Alert.updated_at <= end
        ).values(status=HISTORICAL, sent_at=None))
        marked = conn.execute(update(Incident).where(
            Incident.brand == brand, Incident.id > last_incident
        ).values(historical=True)).rowcount
    if marked:
        log.info("%s: %d incident(s) found in the history, recorded without email", brand, marked)
    return marked
