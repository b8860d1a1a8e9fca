"""Stream rates: how many mentions and complaints a stream (a brand, or one of its sources)
usually gets in a window, and how surprising a window's count is against that.

"Usual" belongs to each stream: two reviews a day and fifty tweets an hour are both normal for
their own stream. The rate of a stream is a Gamma-Poisson posterior over its hourly counts of
the last ``HISTORY`` days, with the brand's daily and weekly seasonality (mornings busier than
nights, Mondays than Sundays: factors shrunk towards 1 while there is little history to tell).
A window's count is judged under the negative-binomial predictive of that posterior, widened by
the stream's own over-dispersion: its surprise is the chance of a count so high. With no history
the prior is vague (half a mention in an hour of exposure), so a new stream is never surprising:
cold start costs sensitivity, never false alarms. For the same reason a stream's history starts
at its first whole hour: it began during the hour it was first seen, and a few minutes'
mentions counted as an hour's would make its ordinary traffic look like a spike.

Thresholds are a sensitivity: the false alarms per month a user accepts (``fewer`` 0.1,
``balanced`` 0.5, ``more`` 2, or a number), divided by the tests a month holds (streams x
measures x windows per month), which gives the p-value below which a window is surprising.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from scipy.stats import nbinom
from sqlalchemy import Connection, case, func, or_, select

from monitor.storage.rollups import as_hour
from monitor.storage.tables import Mention, MentionHourly, Sentiment

HISTORY = timedelta(days=28)
WINDOWS = (timedelta(hours=1), timedelta(hours=3), timedelta(hours=12))
MEASURES = ("mentions", "complaints")
MONTH = timedelta(days=30)
FALSE_ALARMS = {"fewer": 0.1, "balanced": 0.5, "more": 2.0}
"""Named sensitivities, in false alarms per month (per brand, all its streams together)."""
PRIOR_COUNT = 0.5
PRIOR_HOURS = 1.0
"""Cold start: a vague prior (half a mention per hour of exposure, worth one hour of history)."""
SEASON_PRIOR = 48.0
"""Pseudo-mentions that hold each hour-of-day and weekday factor at 1 until history says more."""
MIN_DISPERSION = 0.02
MAX_DISPERSION = 0.5
"""Bounds of the extra-Poisson variance (var = mu + phi * mu^2) measured on the history."""
MIN_SPAN = 4
"""A window is judged only with at least this many windows of history behind it."""
_HOUR_S = 3600


def false_alarms(sensitivity: str | float) -> float:
    """False alarms per month accepted, from a named sensitivity or a number."""
    return FALSE_ALARMS[sensitivity] if isinstance(sensitivity, str) else float(sensitivity)


def alpha(sensitivity: str | float, streams: int, measures: int = len(MEASURES),
          windows: Iterable[timedelta] = WINDOWS) -> float:
    """The p-value below which a window is surprising: the accepted false alarms per month
    spread over every test a month holds (a sliding window counts as two independent ones)."""
    tests = sum(2 * (MONTH / w) for w in windows) * max(streams, 1) * measures
    return false_alarms(sensitivity) / tests


def hour_index(moment: datetime) -> int:
    """Hours since the epoch: the key of an hourly bucket."""
    return int(moment.timestamp() // _HOUR_S)


@dataclass(frozen=True, slots=True)
class Season:
    """Hour-of-day and weekday factors (UTC), mean 1 over the history."""

    daily: np.ndarray
    weekly: np.ndarray

    @classmethod
    def flat(cls) -> Season:
        return cls(np.ones(24), np.ones(7))

    @classmethod
    def fit(cls, hours: np.ndarray, counts: np.ndarray) -> Season:
        """Factors from the brand's hourly counts, shrunk towards 1 by ``SEASON_PRIOR``."""
        if not len(hours) or counts.sum() <= 0:
            return cls.flat()
        mean = counts.sum() / len(hours)
        hod, dow = hours % 24, (hours // 24 + 3) % 7  # 1970-01-01 was a Thursday
        daily = _factors(hod, counts, np.full(len(hours), mean), 24)
        weekly = _factors(dow, counts, mean * daily[hod], 7)
        season = cls(daily, weekly)
        return cls(daily / season.weights(hours).mean(), weekly)

    def weights(self, hours: np.ndarray) -> np.ndarray:
        """The expected share of an average hour that each of these hours holds."""
        return self.daily[hours % 24] * self.weekly[(hours // 24 + 3) % 7]

    def exposure(self, start: datetime, end: datetime) -> float:
        """Average hours' worth of [start, end): partial hours count by their overlap."""
        first, last = hour_index(start), hour_index(end - timedelta(microseconds=1))
        hours = np.arange(first, last + 1)
        overlap = np.minimum((hours + 1) * _HOUR_S, end.timestamp()) - np.maximum(
            hours * _HOUR_S, start.timestamp())
        return float(np.sum(self.weights(hours) * np.clip(overlap, 0, None) / _HOUR_S))


def _factors(keys: np.ndarray, counts: np.ndarray, expected: np.ndarray, n: int) -> np.ndarray:
    seen = np.bincount(keys, weights=counts, minlength=n)
    usual = np.bincount(keys, weights=expected, minlength=n)
    return (seen + SEASON_PRIOR) / (usual + SEASON_PRIOR)


@dataclass(frozen=True, slots=True)
class Rate:
    """What a stream usually gets per average hour, and how sure and how steady that is."""

    per_hour: float
    evidence: float  # Gamma shape: counts seen plus the prior's
    dispersion: float  # extra-Poisson variance: var = mu + dispersion * mu^2
    history_hours: float

    def expected(self, exposure: float) -> float:
        return self.per_hour * exposure

    def surprise(self, count: int, exposure: float) -> float:
        """P(a count >= ``count``) in a window of ``exposure`` average hours."""
        if count <= 0:
            return 1.0
        mu = max(self.expected(exposure), 1e-9)
        size = 1.0 / (1.0 / self.evidence + self.dispersion)
        return float(nbinom.sf(count - 1, size, size / (size + mu)))

    def quiet_chance(self, exposure: float) -> float:
        """P(nothing at all) in a gap of ``exposure`` average hours: how improbable a silence is."""
        mu = self.expected(exposure)
        size = 1.0 / (1.0 / self.evidence + self.dispersion)
        return math.exp(-size * math.log1p(mu / size))


def estimate(hours: np.ndarray, counts: np.ndarray, season: Season,
             block_hours: float = 3.0) -> Rate:
    """The stream's rate from its hourly counts (``hours``: every hour it was watched)."""
    weights = season.weights(hours) if len(hours) else np.zeros(0)
    exposure, seen = float(weights.sum()), float(counts.sum())
    evidence = PRIOR_COUNT + seen
    per_hour = evidence / (PRIOR_HOURS + exposure)
    return Rate(per_hour, evidence, _dispersion(counts, weights * per_hour, block_hours),
                float(len(hours)))


def _dispersion(counts: np.ndarray, expected: np.ndarray, block_hours: float) -> float:
    """Method-of-moments extra variance of blocks of ``block_hours`` hours, bounded."""
    size = max(round(block_hours), 1)
    n = len(counts) // size
    if n < 8:
        return MAX_DISPERSION if len(counts) else MIN_DISPERSION
    x = counts[-n * size:].reshape(n, size).sum(axis=1)
    mu = expected[-n * size:].reshape(n, size).sum(axis=1)
    phi = float(np.sum((x - mu) ** 2 - x) / max(np.sum(mu**2), 1e-9))
    return min(max(phi, MIN_DISPERSION), MAX_DISPERSION)


@dataclass(frozen=True, slots=True)
class Streams:
    """A brand's hourly history per source and measure, from the hourly rollup."""

    start: int  # hour index of the first column
    counts: dict[tuple[str | None, str], np.ndarray]  # (source or None: all, measure) -> per hour
    since: dict[str | None, int]  # first whole hour each stream was watched
    season: Season

    def rate(self, source: str | None, measure: str, before: datetime,
             window: timedelta) -> Rate | None:
        """The stream's rate from the hours wholly before ``before``, or None without enough
        history to judge a window this long (``MIN_SPAN`` windows)."""
        key = (source, measure)
        if key not in self.counts:
            return None
        end = hour_index(before) - self.start
        begin = max(self.since[source] - self.start, 0)
        if end - begin < MIN_SPAN * window / timedelta(hours=1):
            return None
        hours = np.arange(self.start + begin, self.start + end)
        return estimate(hours, self.counts[key][begin:end], self.season,
                        window / timedelta(hours=1))


def complaint_filter() -> object:
    """What counts as a complaint: flagged so, or negative (the complaint flag misses some)."""
    return or_(MentionHourly.complaint.is_(True), MentionHourly.label == "negative")


def streams(conn: Connection, brand: str, now: datetime, history: timedelta = HISTORY) -> Streams:
    """The brand's streams over ``history`` before ``now`` (the rollup must be refreshed)."""
    start = hour_index(now - history)
    complaints = func.sum(case((complaint_filter(), MentionHourly.mentions), else_=0))
    rows = conn.execute(
        select(MentionHourly.hour, MentionHourly.source, func.sum(MentionHourly.mentions),
               complaints)
        .where(MentionHourly.brand == brand, MentionHourly.hour >= now - history,
               MentionHourly.hour <= now)
        .group_by(MentionHourly.hour, MentionHourly.source)
    ).all()
    span = hour_index(now) - start + 1
    counts: dict[tuple[str | None, str], np.ndarray] = {}
    first: dict[str | None, int] = {}
    for hour, source, total, negative in rows:
        index = hour_index(as_hour(hour)) - start
        for key in (source, None):
            for measure, value in (("mentions", total), ("complaints", negative)):
                counts.setdefault((key, measure), np.zeros(span))[index] += float(value or 0)
            first[key] = min(first.get(key, index + start), index + start)
    since = {key: hour + 1 for key, hour in first.items()}  # the first hour seen is partial
    total = counts.get((None, "mentions"))
    season = Season.flat()
    if total is not None:  # learnt from the brand's first whole hour to the last complete one
        begin = min(since[None] - start, span - 1)
        season = Season.fit(np.arange(start + begin, start + span - 1), total[begin:-1])
    return Streams(start, counts, since, season)


def window_counts(
    conn: Connection, brand: str, now: datetime, windows: Iterable[timedelta] = WINDOWS
) -> dict[tuple[str | None, str, timedelta], int]:
    """Mentions and complaints of each source (and all: None) in each window ending now."""
    windows = sorted(windows)
    complaint = or_(Sentiment.is_complaint.is_(True), Sentiment.label == "negative")
    columns = []
    for w in windows:
        inside = Mention.created_at >= now - w
        columns += [func.sum(case((inside, 1), else_=0)),
                    func.sum(case((inside & complaint, 1), else_=0))]
    rows = conn.execute(
        select(Mention.source, *columns)
        .outerjoin(Sentiment, Sentiment.mention_id == Mention.id)
        .where(Mention.brand == brand, Mention.created_at >= now - windows[-1],
               Mention.created_at < now)
        .group_by(Mention.source)
    ).all()
    found: dict[tuple[str | None, str, timedelta], int] = {}
    for source, *values in rows:
        for i, w in enumerate(windows):
            for j, measure in enumerate(MEASURES):
                n = int(values[2 * i + j] or 0)
                found[(source, measure, w)] = n
                found[(None, measure, w)] = found.get((None, measure, w), 0) + n
    return found


@dataclass(frozen=True, slots=True)
class Judgement:
    """A window's count against its stream's rate."""

    source: str | None
    measure: str
    window: timedelta
    count: int
    expected: float
    p_value: float


_CYCLE: ContextVar[dict | None] = ContextVar("rates_cycle", default=None)


@contextmanager
def one_cycle() -> Iterator[None]:
    """Within it, a brand's judgement for the same time, windows and history is computed once
    (spikes and incident scopes both ask; nothing they read changes during a cycle)."""
    token = _CYCLE.set({})
    try:
        yield
    finally:
        _CYCLE.reset(token)


def judge(conn: Connection, brand: str, now: datetime, windows: Iterable[timedelta] = WINDOWS,
          history: timedelta = HISTORY) -> list[Judgement]:
    """Every stream x measure x window of the brand, judged against its own ``history``."""
    windows = list(windows)
    memo = _CYCLE.get()
    if memo is None:
        return _judge(conn, brand, now, windows, history)
    key = (brand, now, tuple(sorted(windows)), history)
    if key not in memo:
        memo[key] = _judge(conn, brand, now, windows, history)
    return list(memo[key])


def _judge(conn: Connection, brand: str, now: datetime, windows: list[timedelta],
           history: timedelta) -> list[Judgement]:
    learnt = streams(conn, brand, now, history)
    counts = window_counts(conn, brand, now, windows)
    judged = []
    for (source, measure, window), count in counts.items():
        start = now - window
        rate = learnt.rate(source, measure, start, window)
        if rate is None:
            continue
        exposure = learnt.season.exposure(start, now)
        judged.append(Judgement(source, measure, window, count, rate.expected(exposure),
                                rate.surprise(count, exposure)))
    return judged
