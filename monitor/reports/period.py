"""ISO weeks in the report's time zone: what "last week" means on marketing's calendar."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from monitor.config import WEEKDAYS, ReportsConfig

_LABEL = re.compile(r"^(\d{4})-?W(\d{1,2})$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Week:
    """Monday 00:00 to the next Monday 00:00, local time, as aware UTC bounds."""

    year: int
    number: int
    zone: ZoneInfo

    @classmethod
    def parse(cls, label: str, zone: ZoneInfo) -> Week:
        """``2026-W47`` (or ``2026W47``); a clear ValueError for anything else."""
        match = _LABEL.match(label.strip())
        if not match:
            raise ValueError(f"not an ISO week: {label!r} (expected e.g. 2026-W47)")
        year, number = int(match[1]), int(match[2])
        try:
            date.fromisocalendar(year, number, 1)
        except ValueError:
            raise ValueError(f"{year} has no week {number}") from None
        return cls(year, number, zone)

    @classmethod
    def containing(cls, moment: datetime, zone: ZoneInfo) -> Week:
        year, number, _ = moment.astimezone(zone).isocalendar()
        return cls(year, number, zone)

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.number:02d}"

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.number, 1)

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    def _midnight(self, day: date) -> datetime:
        return datetime.combine(day, time(), self.zone).astimezone(UTC)

    @property
    def start(self) -> datetime:
        return self._midnight(self.monday)

    @property
    def end(self) -> datetime:
        return self._midnight(self.monday + timedelta(days=7))

    def day_edges(self) -> list[datetime]:
        """The eight local midnights that bound the week's seven days (23/25 h days on DST)."""
        return [self._midnight(self.monday + timedelta(days=d)) for d in range(8)]

    def shift(self, weeks: int) -> Week:
        year, number, _ = (self.monday + timedelta(weeks=weeks)).isocalendar()
        return Week(year, number, self.zone)

    def span(self) -> str:
        """``16–22 Nov 2026`` for headings."""
        first, last = self.monday, self.sunday
        if first.month == last.month:
            return f"{first.day}–{last.day} {last:%b %Y}"
        if first.year == last.year:
            return f"{first.day} {first:%b} – {last.day} {last:%b %Y}"
        return f"{first.day} {first:%b %Y} – {last.day} {last:%b %Y}"


def send_time(week: Week, reports: ReportsConfig) -> datetime:
    """When ``week``'s report is due: the first configured weekday and time after it ends."""
    hour, minute = (int(part) for part in reports.time.split(":"))
    first_day = week.monday + timedelta(days=7)
    offset = (WEEKDAYS.index(reports.day) - first_day.weekday()) % 7
    local = datetime.combine(first_day + timedelta(days=offset), time(hour, minute), week.zone)
    return local.astimezone(UTC)


def last_complete(now: datetime, zone: ZoneInfo) -> Week:
    """The most recent week that has ended at ``now``."""
    return Week.containing(now, zone).shift(-1)


def due_week(now: datetime, reports: ReportsConfig, zone: ZoneInfo | None = None) -> Week:
    """The latest week whose report is due at ``now`` (last week, or the one before if its
    send time has not come yet), on the brand's clock (``zone``, else ``reports.timezone``)."""
    week = last_complete(now, zone or reports.zone)
    return week if send_time(week, reports) <= now else week.shift(-1)
