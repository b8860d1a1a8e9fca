"""Small PNG charts for alert emails: how a post is spreading, how an incident or spike grows.

Drawn with matplotlib's object API (no pyplot global state), so the sender thread can render
while the dashboard or the scheduler run in the same process.
"""

from __future__ import annotations

import io
from collections import Counter
from datetime import datetime, timedelta
from itertools import accumulate
from typing import Any

from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from monitor.display import duration
from monitor.timebins import binned

SIZE = (6.0, 2.2)
MIN_SPAN = timedelta(minutes=1)
DPI = 100
RED, GREY, BLUE = "#d9534f", "#888888", "#337ab7"


def _drawable(times: list[datetime]) -> bool:
    """At least two points a minute apart: anything less is not a trend worth a picture."""
    return len(times) >= 2 and max(times) - min(times) >= MIN_SPAN


def _compact(value: float, _pos: int) -> str:
    """4800 → "4.8k": short tick labels fit the fixed margins and a phone screen."""
    for size, suffix in ((1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.3g}{suffix}"
    return f"{value:g}"


def _figure() -> tuple[Figure, Any]:
    fig = Figure(figsize=SIZE, dpi=DPI)
    ax = fig.add_subplot()
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=8)
    locator = AutoDateLocator(maxticks=6)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    ax.yaxis.set_major_formatter(FuncFormatter(_compact))
    return fig, ax


def _png(fig: Figure, ax: Any, right: float = 0.98) -> bytes:
    ax.legend(fontsize=8, frameon=False, loc="upper left")
    fig.subplots_adjust(left=0.09, right=right, top=0.95, bottom=0.2)  # fixed: tight_layout is slow
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def engagement_png(
    series: list[tuple[datetime, int | None, int | None]], details: dict[str, Any]
) -> bytes | None:
    """Reshares (and likes) so far, the forecast ahead with its range, and the threshold."""
    points = [(t, r) for t, r, _ in series if r is not None]
    if not _drawable([t for t, _ in points]):
        return None
    fig, ax = _figure()
    times, reshares = zip(*points, strict=True)
    ax.plot(times, reshares, color=RED, linewidth=2, label="reshares")
    likes = [(t, lk) for t, _, lk in series if lk is not None]
    if len(likes) >= 2:
        lt, lv = zip(*likes, strict=True)
        ax.plot(lt, lv, color=GREY, linewidth=1, linestyle=":", label="likes")
    final, hours = (
        _float(details.get("forecast_final")),
        _float(details.get("forecast_horizon_hours")),
    )
    if final is not None and hours:
        end = times[-1] + timedelta(hours=hours)
        ax.plot(
            [times[-1], end], [reshares[-1], final], color=RED, linestyle="--", label="forecast"
        )
        low, high = _float(details.get("forecast_low")), _float(details.get("forecast_high"))
        if low is not None and high is not None:
            ax.fill_between(
                [times[-1], end], [reshares[-1], low], [reshares[-1], high], color=RED, alpha=0.12
            )
    threshold = _float(details.get("threshold"))
    if threshold:
        ax.axhline(threshold, color=BLUE, linewidth=1, linestyle="-.", label="your threshold")
    ax.set_ylim(bottom=0)
    return _png(fig, ax)


def growth_png(times: list[datetime], label: str) -> bytes | None:
    """Complaints per bin, bins fitting the incident's length (10 min for a morning outage, a
    day for a week-long one), and the running total."""
    if not _drawable(times):
        return None
    width, bins = binned(times)
    fig, ax = _figure()
    starts = [start for start, _ in bins]
    ax.bar(starts, [n for _, n in bins], width=width * 0.9, align="edge", color=RED, alpha=0.6,
           label=f"{label} per {duration(width / timedelta(minutes=1))}")
    total = ax.twinx()
    total.spines[["top"]].set_visible(False)
    total.tick_params(labelsize=8)
    total.yaxis.set_major_formatter(FuncFormatter(_compact))
    running = list(accumulate(n for _, n in bins))
    total.step([*starts, starts[-1] + width], [running[0], *running], where="pre",
               color=GREY, linewidth=1.5)
    total.set_ylim(bottom=0)
    total.set_ylabel("in total", fontsize=8, color=GREY)
    ax.set_ylim(bottom=0)
    return _png(fig, ax, right=0.9)


def volume_png(times: list[datetime], window_minutes: int, label: str) -> bytes | None:
    """Mentions per window, so the spike stands out against the usual volume."""
    if not _drawable(times):
        return None
    width = timedelta(minutes=max(window_minutes, 1))
    start = times[0]
    buckets = Counter(int((t - start) / width) for t in times)
    xs = [start + width * i for i in range(max(buckets) + 1)]
    fig, ax = _figure()
    ax.bar(
        xs,
        [buckets.get(i, 0) for i in range(len(xs))],
        width=width * 0.9,
        align="edge",
        color=BLUE,
        label=label,
    )
    return _png(fig, ax)
