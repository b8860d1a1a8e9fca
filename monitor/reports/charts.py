"""The report's charts as PNG bytes, drawn once and embedded by every renderer.

Matplotlib's object API (``Figure``, no pyplot) needs no display and keeps no global state, so a
report can be drawn from the scheduler's thread while the dashboard draws another.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

from monitor.reports.figures import WeeklyFigures

DPI = 200
INK = "#1f2937"
MUTED = "#9ca3af"
ACCENT = "#1d4ed8"
POSITIVE = "#15803d"
NEUTRAL = "#cbd5e1"
NEGATIVE = "#b91c1c"
FONT = {"family": "DejaVu Sans", "size": 8}

# Display sizes in CSS pixels; the PNGs are drawn at DPI for sharp print and retina screens.
SIZES = {
    "daily": (640, 210),
    "history": (640, 230),
    "share": (640, 150),
    "spark": (132, 34),
}


def _figure(name: str) -> Figure:
    width, height = SIZES[name]
    fig = Figure(figsize=(width / 100, height / 100), dpi=DPI)
    fig.patch.set_facecolor("white")
    return fig


def _style(ax: Axes, *, grid: str = "y") -> None:
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.spines["bottom"].set_color(MUTED)
    ax.tick_params(colors=INK, labelsize=FONT["size"], length=0)
    ax.grid(axis=grid, color="#e5e7eb", linewidth=0.6)
    ax.set_axisbelow(True)


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def sparkline(values: Sequence[float | None], color: str = ACCENT) -> bytes:
    """A 12-week trend line with the current week as a dot; gaps where there is no value."""
    fig = _figure("spark")
    ax = fig.add_axes((0.02, 0.12, 0.96, 0.76))
    ax.axis("off")
    xs = range(len(values))
    ys = [float("nan") if v is None else v for v in values]
    ax.plot(xs, ys, color=color, linewidth=1.2)
    if values and values[-1] is not None:
        ax.plot([len(values) - 1], [values[-1]], "o", color=color, markersize=3)
    ax.set_xlim(-0.5, len(values) - 0.5)
    return _png(fig)


def daily(figures: WeeklyFigures) -> bytes:
    """Mentions per day: this week's bars against last week's line."""
    fig = _figure("daily")
    ax = fig.add_axes((0.07, 0.14, 0.91, 0.74))
    _style(ax)
    labels = [f"{day:%a} {day.day}" for day, _, _ in figures.days]
    xs = range(len(labels))
    ax.bar(xs, [c for _, c, _ in figures.days], color=ACCENT, width=0.6, label="This week")
    ax.plot(
        xs,
        [p for _, _, p in figures.days],
        color=MUTED,
        marker="o",
        markersize=3,
        linewidth=1.2,
        label="Previous week",
    )
    ax.set_xticks(list(xs), labels)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))
    bars, line = ax.get_legend_handles_labels()[0][::-1]
    ax.legend(
        handles=[bars, line],
        frameon=False,
        fontsize=FONT["size"],
        loc="lower left",
        bbox_to_anchor=(0, 1.0),
        ncols=2,
    )
    return _png(fig)


def history(figures: WeeklyFigures) -> bytes:
    """12 weeks of mentions split by sentiment, with net sentiment on the right axis."""
    fig = _figure("history")
    ax = fig.add_axes((0.07, 0.16, 0.84, 0.70))
    _style(ax)
    points = figures.history
    xs = list(range(len(points)))
    bottom = [0] * len(points)
    unscored = [p.mentions - p.positive - p.neutral - p.negative for p in points]
    for values, color, label in (
        ([p.negative for p in points], NEGATIVE, "Negative"),
        ([p.neutral for p in points], NEUTRAL, "Neutral"),
        ([p.positive for p in points], POSITIVE, "Positive"),
        (unscored, "#f3f4f6", "Not scored"),
    ):
        if any(values):
            ax.bar(xs, values, bottom=bottom, color=color, width=0.65, label=label)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_xticks(xs, [p.week.split("-")[1] for p in points])
    ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))
    net = ax.twinx()
    net.plot(
        xs,
        [float("nan") if p.net_sentiment is None else p.net_sentiment for p in points],
        color=INK,
        marker="o",
        markersize=3,
        linewidth=1.2,
        label="Net sentiment",
    )
    net.set_ylim(-1.05, 1.05)
    net.yaxis.set_major_formatter(lambda v, _: f"{v:+.1f}")
    net.tick_params(colors=INK, labelsize=FONT["size"], length=0)
    for side in ("top", "right", "left", "bottom"):
        net.spines[side].set_visible(False)
    handles = ax.get_legend_handles_labels()[0] + net.get_legend_handles_labels()[0]
    ax.legend(
        handles=handles,
        frameon=False,
        fontsize=FONT["size"],
        loc="lower left",
        bbox_to_anchor=(0, 1.0),
        ncols=len(handles),
    )
    return _png(fig)


def share(figures: WeeklyFigures) -> bytes:
    """Share of voice this week as bars, the previous week's share as a tick on each."""
    fig = _figure("share")
    rows = figures.share_of_voice
    fig.set_figheight(max(0.5 + 0.32 * len(rows), 1.0))
    ax = fig.add_axes((0.2, 0.1, 0.76, 0.8))
    _style(ax, grid="x")
    total = sum(r.current for r in rows) or 1
    total_prev = sum(r.previous for r in rows) or 1
    ys = list(range(len(rows)))[::-1]
    colors = [ACCENT] + [MUTED] * (len(rows) - 1)
    ax.barh(ys, [r.current / total for r in rows], color=colors, height=0.55)
    ax.scatter([r.previous / total_prev for r in rows], ys, marker="|", s=160, color=INK, zorder=3)
    ax.set_yticks(ys, [r.name for r in rows])
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    return _png(fig)


def draw_all(figures: WeeklyFigures) -> dict[str, bytes]:
    """Every chart of the report by name (the names are the e-mail's Content-IDs too)."""
    charts = {"daily": daily(figures), "history": history(figures)}
    if len(figures.share_of_voice) > 1:
        charts["share"] = share(figures)
    points = figures.history
    charts["spark-mentions"] = sparkline([p.mentions for p in points])
    charts["spark-net"] = sparkline([p.net_sentiment for p in points], POSITIVE)
    charts["spark-complaints"] = sparkline([p.complaints for p in points], NEGATIVE)
    if len(figures.share_of_voice) > 1:
        charts["spark-share"] = sparkline([p.share_of_voice for p in points], INK)
    return charts
