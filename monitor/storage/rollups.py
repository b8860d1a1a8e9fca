"""Hourly mention counts, so that the dashboard adds up a month without re-reading it.

``mention_hourly`` holds, per brand and UTC hour, how many mentions there are of each source,
language, effective label, complaint flag and response state: what Trends and Inbox count over
periods. It is derived data, exact as of its last refresh:

- ``refresh`` recomputes every (brand, hour) bucket touched since the saved cursor, in one
  transaction: new mentions and corrections (by id), new or rescored readings (by
  ``scored_at``) and response changes (by ``updated_at``). Times are re-read from ``LAG`` before
  the cursor, so a transaction that committed late is still seen; recomputing a bucket twice is
  harmless. (A mention whose id committed out of order is counted once it is scored.)
- ``refresh_mentions`` recomputes the buckets of some mentions inside the caller's transaction:
  a person's action on the dashboard shows at once.
- ``rebuild`` recomputes everything (``python -m monitor db rollup --rebuild``); ``refresh``
  does it when there is no cursor yet.

Writers first update the cursor row, which serialises them on both SQLite and PostgreSQL.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    FromClause,
    Table,
    delete,
    false,
    func,
    literal_column,
    select,
    union,
    update,
)

from monitor.storage.tables import (
    Mention,
    MentionHourly,
    Response,
    RollupCursor,
    Sentiment,
    SentimentCorrection,
)

log = logging.getLogger(__name__)

NAME = "mention_hourly"
LAG = timedelta(minutes=10)
HOUR = timedelta(hours=1)
UNSCORED = "unscored"

M: Table = Mention.__table__  # type: ignore[assignment]
S: Table = Sentiment.__table__  # type: ignore[assignment]
R: Table = Response.__table__  # type: ignore[assignment]
C: Table = SentimentCorrection.__table__  # type: ignore[assignment]
H: Table = MentionHourly.__table__  # type: ignore[assignment]
K: Table = RollupCursor.__table__  # type: ignore[assignment]


def hour_of(dialect: str, column: Any) -> ColumnElement[Any]:
    """The start of the UTC hour of a stored time, in the form the database stores times."""
    if dialect == "postgresql":
        return func.date_trunc(literal_column("'hour'"), column)
    return func.strftime(literal_column("'%Y-%m-%d %H:00:00.000000'"), column)


def floor_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def as_hour(value: datetime | str) -> datetime:
    """An hour read back from SQL (text on SQLite, a naive timestamp on PostgreSQL), aware."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# --- computing buckets -------------------------------------------------------------------------


def _counts(dialect: str, *where: Any) -> Any:
    """Mentions grouped as the rollup keys them; a correction wins over the model's reading."""
    latest = select(func.max(C.c.id)).group_by(C.c.mention_id)
    corr = (
        select(C.c.mention_id, C.c.label, C.c.is_complaint)
        .where(C.c.id.in_(latest))
        .subquery("corr")
    )
    joined: FromClause = (
        M.outerjoin(S, S.c.mention_id == M.c.id)
        .outerjoin(corr, corr.c.mention_id == M.c.id)
        .outerjoin(R, R.c.mention_id == M.c.id)
    )
    keys = [
        M.c.brand,
        hour_of(dialect, M.c.created_at),
        M.c.source,
        func.coalesce(M.c.language, literal_column("'?'")),
        func.coalesce(corr.c.label, S.c.label, literal_column(f"'{UNSCORED}'")),
        func.coalesce(corr.c.is_complaint, S.c.is_complaint, false()),
        func.coalesce(R.c.status, literal_column("'new'")),
    ]
    return select(*keys, func.count()).select_from(joined).where(*where).group_by(*keys)


def _fill(conn: Connection, *where: Any) -> None:
    columns = ["brand", "hour", "source", "language", "label", "complaint", "state", "mentions"]
    conn.execute(H.insert().from_select(columns, _counts(conn.dialect.name, *where)))


def _recompute(conn: Connection, brand: str, start: datetime, end: datetime) -> None:
    """Replace the brand's buckets of the hours in [start, end) by fresh counts."""
    conn.execute(delete(H).where(H.c.brand == brand, H.c.hour >= start, H.c.hour < end))
    _fill(conn, M.c.brand == brand, M.c.created_at >= start, M.c.created_at < end)


def _ranges(hours: Iterable[datetime]) -> Iterator[tuple[datetime, datetime]]:
    """Consecutive hours merged into [start, end) ranges: one statement per run of hours."""
    start = end = None
    for hour in sorted(set(hours)):
        if end is not None and hour == end:
            end = hour + HOUR
            continue
        if start is not None and end is not None:
            yield start, end
        start, end = hour, hour + HOUR
    if start is not None and end is not None:
        yield start, end


def _recompute_buckets(conn: Connection, buckets: Iterable[tuple[str, Any]]) -> int:
    by_brand: dict[str, set[datetime]] = {}
    for brand, hour in buckets:
        by_brand.setdefault(brand, set()).add(as_hour(hour))
    for brand, hours in by_brand.items():
        for start, end in _ranges(hours):
            _recompute(conn, brand, start, end)
    return sum(len(hours) for hours in by_brand.values())


# --- the cursor --------------------------------------------------------------------------------


def _lock(conn: Connection) -> bool:
    """Take the cursor row (serialising rollup writers); False when there is none yet."""
    touched = conn.execute(update(K).where(K.c.name == NAME).values(name=K.c.name))
    return touched.rowcount == 1


def _positions(conn: Connection) -> dict[str, Any]:
    """Where every changing table stands now: the next cursor."""
    return {
        "mention_id": conn.execute(select(func.max(M.c.id))).scalar() or 0,
        "correction_id": conn.execute(select(func.max(C.c.id))).scalar() or 0,
        "scored_at": conn.execute(select(func.max(S.c.scored_at))).scalar(),
        "responded_at": conn.execute(select(func.max(R.c.updated_at))).scalar(),
    }


def _since(moment: datetime | None) -> datetime:
    return moment - LAG if moment is not None else datetime.min.replace(tzinfo=UTC)


def _touched(conn: Connection, cursor: Any) -> list[tuple[str, Any]]:
    """(brand, hour) of every mention added, scored, corrected or answered since the cursor."""
    hour = hour_of(conn.dialect.name, M.c.created_at)
    touched = union(
        select(M.c.brand, hour).where(M.c.id > cursor.mention_id),
        select(M.c.brand, hour)
        .join(S, S.c.mention_id == M.c.id)
        .where(S.c.scored_at >= _since(cursor.scored_at)),
        select(M.c.brand, hour)
        .join(C, C.c.mention_id == M.c.id)
        .where(C.c.id > cursor.correction_id),
        select(M.c.brand, hour)
        .join(R, R.c.mention_id == M.c.id)
        .where(R.c.updated_at >= _since(cursor.responded_at)),
    )
    return [(brand, hour) for brand, hour in conn.execute(touched)]


# --- entry points ------------------------------------------------------------------------------


def is_built(conn: Connection) -> bool:
    """Whether the rollup has been built (the dashboard counts from raw mentions until then)."""
    return conn.execute(select(K.c.name).where(K.c.name == NAME)).first() is not None


def rebuild(engine: Engine) -> None:
    """Recompute every bucket and reset the cursor, in one transaction."""
    with engine.begin() as conn:
        _rebuild(conn)


def _rebuild(conn: Connection) -> None:
    if not _lock(conn):
        conn.execute(K.insert().values(name=NAME, mention_id=0, correction_id=0))
    position = _positions(conn)
    conn.execute(delete(H))
    _fill(conn)
    conn.execute(update(K).where(K.c.name == NAME).values(**position))
    log.info("hourly rollup rebuilt up to mention %s", position["mention_id"])


def refresh(engine: Engine) -> None:
    """Bring the rollup up to date (built in full the first time)."""
    with engine.begin() as conn:
        if not _lock(conn):
            _rebuild(conn)
            return
        cursor = conn.execute(select(K).where(K.c.name == NAME)).one()
        position = _positions(conn)
        recomputed = _recompute_buckets(conn, _touched(conn, cursor))
        position = {k: v if v is not None else getattr(cursor, k) for k, v in position.items()}
        conn.execute(update(K).where(K.c.name == NAME).values(**position))
    log.debug("hourly rollup: %d bucket(s) recomputed", recomputed)


def refresh_mentions(conn: Connection, mention_ids: Iterable[int]) -> None:
    """Recompute the buckets of these mentions within the caller's transaction (no-op before
    the rollup is built)."""
    ids = list(mention_ids)
    if not ids or not _lock(conn):
        return
    hour = hour_of(conn.dialect.name, M.c.created_at)
    buckets = conn.execute(select(M.c.brand, hour).where(M.c.id.in_(ids)).distinct())
    _recompute_buckets(conn, [(brand, hour) for brand, hour in buckets])
