"""Time bins that fit what they count: minutes for a burst of an hour, days for a month.

An incident of ninety minutes drawn in hourly bars is one bar; drawn in 10-minute bars it shows
its growth. Shared by the alert emails' charts and the dashboard's Incidents page.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

WIDTHS_MINUTES = (1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080)
TARGET_BINS = 12


def bin_width(span: timedelta, target: int = TARGET_BINS) -> timedelta:
    """The smallest round width that cuts ``span`` into at most ``target`` bins."""
    for minutes in WIDTHS_MINUTES:
        if span <= timedelta(minutes=minutes) * target:
            return timedelta(minutes=minutes)
    return timedelta(minutes=WIDTHS_MINUTES[-1])


Bins = list[tuple[datetime, int]]


def binned(times: list[datetime], target: int = TARGET_BINS) -> tuple[timedelta, Bins]:
    """Counts per bin (empty bins included), bins aligned on round clock times."""
    if not times:
        return bin_width(timedelta(0), target), []
    width = bin_width(max(times) - min(times), target)
    epoch = datetime(2000, 1, 3, tzinfo=UTC)  # a Monday: weekly bins start on Mondays
    index = Counter((t - epoch) // width for t in times)
    first, last = min(index), max(index)
    return width, [(epoch + width * i, index.get(i, 0)) for i in range(first, last + 1)]
