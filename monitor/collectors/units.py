"""Daily quota units: what an API charges per call, against a budget that resets each day.

YouTube's Data API gives a Google project 10,000 units a day, reset at midnight Pacific time, and
charges by method (``commentThreads.list`` 1, ``search.list`` 100), failed calls included. The
budget is the project's, shared by every brand: the runner opens the meter with the day's units
already used (``api_usage``, period ``dYYMMDD``) and saves what each stored batch cost, so a run
stops *before* the call that would go over, rather than learning it from a 403.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from monitor.collectors.base import QuotaExhausted


@dataclass
class DailyUnits:
    quota: int
    zone: ZoneInfo
    spent: int = 0
    _used: int = 0
    _day: datetime | None = None

    def period(self, now: datetime) -> str:
        """The usage row of the quota day holding ``now`` (7 characters, beside months)."""
        return f"d{now.astimezone(self.zone):%y%m%d}"

    def open(self, used: int, now: datetime) -> None:
        self.spent, self._used = 0, used
        local = now.astimezone(self.zone)
        self._day = datetime.combine(local.date(), time(), self.zone)

    @property
    def resets_at(self) -> datetime:
        day = self._day or datetime.combine(datetime.now(self.zone).date(), time(), self.zone)
        return day + timedelta(days=1)

    @property
    def left(self) -> int:
        return max(self.quota - self._used - self.spent, 0)

    def charge(self, units: int) -> None:
        """Count a call's cost, or refuse the call that would go over the day's budget."""
        if units > self.left:
            raise QuotaExhausted(
                f"daily quota: {self.quota - self.left} of {self.quota} units used, "
                f"{units} needed; resumes {self.resets_at:%Y-%m-%d %H:%M %Z}",
                self.resets_at,
            )
        self.spent += units

    def exhaust(self) -> None:
        """The service says the budget is gone (shared with something else): count it all."""
        self.spent += self.left

    def drain(self) -> int:
        spent, self.spent = self.spent, 0
        self._used += spent
        return spent
