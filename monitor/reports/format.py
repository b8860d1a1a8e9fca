"""Numbers worded the same way in the HTML, the PDF, the e-mail's text part and the dashboard."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from monitor.display import DASH, printable
from monitor.reports.figures import WeeklyFigures


def count(value: int | None) -> str:
    return DASH if value is None else f"{value:,}".replace(",", " ")


def percent(value: float | None, digits: int = 0) -> str:
    return DASH if value is None else f"{value * 100:.{digits}f}%"


def net(value: float | None) -> str:
    """Net sentiment on its −1…+1 scale, always signed."""
    return DASH if value is None else f"{value:+.2f}".replace("-", "−")


def change(current: int, previous: int) -> str:
    """Relative change of a count: ``+12%``, ``−3%``, ``new`` when it was zero."""
    if previous == 0:
        return "new" if current else DASH
    delta = (current - previous) / previous
    return f"{delta * 100:+.0f}%".replace("-", "−")


def points(current: float | None, previous: float | None, scale: float = 100) -> str:
    """Absolute change of a ratio, in percentage points (or net-sentiment points)."""
    if current is None or previous is None:
        return DASH
    return f"{(current - previous) * scale:+.0f} pts".replace("-", "−")


def local(moment: datetime | None, zone: ZoneInfo, pattern: str = "%a %d %b %H:%M") -> str:
    return DASH if moment is None else moment.astimezone(zone).strftime(pattern)


def clip(text: str, limit: int) -> str:
    """At most ``limit`` characters of shown text (no bidi override or control character), cut
    at a word boundary where one is near."""
    text = " ".join(printable(text).split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit * 0.6 else cut) + "…"


def trend(current: float | None, previous: float | None) -> str:
    """``up``, ``down`` or ``flat``: which arrow and colour a renderer shows."""
    if current is None or previous is None or current == previous:
        return "flat"
    return "up" if current > previous else "down"


@dataclass(frozen=True, slots=True)
class Kpi:
    """A headline tile: value, change against last week, and which direction is good news."""

    label: str
    value: str
    delta: str
    direction: str
    good_when: str | None
    spark: str | None

    @property
    def tone(self) -> str:
        """``good``, ``bad`` or ``neutral``: the colour of the change."""
        if self.good_when is None or self.direction == "flat":
            return "neutral"
        return "good" if self.direction == self.good_when else "bad"


def kpis(f: WeeklyFigures) -> list[Kpi]:
    """The four tiles atop the report; share of voice gives way to the SLA without rivals."""
    cur, prev = f.current, f.previous
    tiles = [
        Kpi(
            "Mentions",
            count(cur.mentions),
            f"{change(cur.mentions, prev.mentions)} vs last week",
            trend(cur.mentions, prev.mentions),
            None,
            "spark-mentions",
        ),
        Kpi(
            "Net sentiment",
            net(cur.net_sentiment),
            f"{points(cur.net_sentiment, prev.net_sentiment)} vs last week",
            trend(cur.net_sentiment, prev.net_sentiment),
            "up",
            "spark-net",
        ),
    ]
    if f.competitors:
        tiles.append(
            Kpi(
                "Share of voice",
                percent(cur.share_of_voice),
                f"{points(cur.share_of_voice, prev.share_of_voice)} vs last week",
                trend(cur.share_of_voice, prev.share_of_voice),
                "up",
                "spark-share",
            )
        )
    else:
        r, rp = f.responses, f.responses_previous
        tiles.append(
            Kpi(
                "Answered within SLA",
                percent(r.sla_share),
                f"{points(r.sla_share, rp.sla_share)} vs last week",
                trend(r.sla_share, rp.sla_share),
                "up",
                None,
            )
        )
    tiles.append(
        Kpi(
            "Complaints",
            count(cur.complaints),
            f"{change(cur.complaints, prev.complaints)} vs last week",
            trend(cur.complaints, prev.complaints),
            "down",
            "spark-complaints",
        )
    )
    return tiles
