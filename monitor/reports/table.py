"""The report's numbers as CSV, in long form (section, item, metric, week, value).

Long form pivots cleanly in a spreadsheet and keeps one layout whatever the number of sources,
languages or competitors. Text cells that a spreadsheet would run as a formula are defused.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import timedelta

from monitor.reports.figures import ResponseStats, WeeklyFigures

HEADER = ("section", "item", "metric", "week", "value")
_FORMULA = ("=", "+", "-", "@", "\t", "\r")

Row = tuple[str, str, str, str, int | float | str | None]


def _text(value: str) -> str:
    """Prefix a quote to text a spreadsheet would evaluate (CSV injection)."""
    return "'" + value if value.startswith(_FORMULA) else value


def _number(value: int | float | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _history(f: WeeklyFigures) -> Iterator[Row]:
    for p in f.history:
        yield ("volume", f.brand, "mentions", p.week, p.mentions)
        yield ("sentiment", f.brand, "positive", p.week, p.positive)
        yield ("sentiment", f.brand, "neutral", p.week, p.neutral)
        yield ("sentiment", f.brand, "negative", p.week, p.negative)
        yield ("sentiment", f.brand, "net_sentiment", p.week, p.net_sentiment)
        yield ("complaints", f.brand, "complaints", p.week, p.complaints)
        if f.competitors:
            yield ("share_of_voice", f.brand, "share", p.week, p.share_of_voice)


def _weeks(f: WeeklyFigures) -> tuple[str, str]:
    return f.week.label, f.week.shift(-1).label


def _changes(f: WeeklyFigures) -> Iterator[Row]:
    this, last = _weeks(f)
    for section, items in (
        ("source", f.sources),
        ("language", f.languages),
        ("share_of_voice", f.share_of_voice if f.competitors else []),
    ):
        for c in items:
            yield (section, c.name, "mentions", this, c.current)
            yield (section, c.name, "mentions", last, c.previous)
    for day, current, previous in f.days:
        yield ("daily", day.isoformat(), "mentions", this, current)
        yield ("daily", (day - timedelta(days=7)).isoformat(), "mentions", last, previous)


def _responses(label: str, r: ResponseStats) -> Iterator[Row]:
    for metric, value in (
        ("complaints", r.complaints),
        ("answered", r.answered),
        ("dismissed", r.dismissed),
        ("unanswered", r.unanswered),
        ("within_sla", r.within_sla),
        ("sla_share", r.sla_share),
        ("median_first_response_minutes", r.median_minutes),
        ("p90_first_response_minutes", r.p90_minutes),
    ):
        yield ("responses", "complaints", metric, label, value)


def _complaints(f: WeeklyFigures) -> Iterator[Row]:
    this, last = _weeks(f)
    yield from _responses(this, f.responses)
    yield from _responses(last, f.responses_previous)
    for t in f.topics:
        yield ("topic", t.name, "complaints", this, t.count)
        yield ("topic", t.name, "complaints", last, t.previous)
    if f.topics:
        yield ("topic", "other", "complaints", this, f.other_complaints)
    for i in f.incidents:
        name = f"#{i.id} {i.title}"
        yield ("incident", name, "mentions", this, i.size)
        yield ("incident", name, "peak_per_hour", this, i.peak_count)
        yield ("incident", name, "first_answer_minutes", this, i.answer_minutes)
    for label, items in (("positive", f.top_positive), ("negative", f.top_negative)):
        for m in items:
            yield ("top_" + label, m.url or f"mention {m.id}", "engagement", this, m.engagement)


def render(f: WeeklyFigures) -> str:
    """The CSV text (UTF-8, comma-separated, header first)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    for section, item, metric, week, value in (*_history(f), *_changes(f), *_complaints(f)):
        writer.writerow((section, _text(item), metric, week, _number(value)))
    return buffer.getvalue()
