"""Weekly report figures against a seeded fortnight: every number is recomputed here from the
stored rows, independently of ``monitor.reports.figures``, on SQLite and PostgreSQL."""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Connection, Engine, insert, select

from monitor.collectors.demo import DemoCollector
from monitor.config import VigieConfig
from monitor.mentions import Engagement, MentionIn
from monitor.reports import table
from monitor.reports.figures import brand_terms, compute
from monitor.reports.period import Week, due_week, send_time
from monitor.reports.topics import Document, find_topics
from monitor.storage.ingest import store_mentions
from monitor.storage.tables import (
    EngagementSnapshot,
    Incident,
    IncidentMention,
    Mention,
    Response,
    Sentiment,
)

ZONE = ZoneInfo("Europe/Brussels")
BRAND = "Parkeo"
RIVALS = ["StreetPay", "ParkMore"]
# Week 47 of 2026 in Brussels: Monday 16 November 00:00 CET to Monday 23 November 00:00 CET.
W47_START = datetime(2026, 11, 16, tzinfo=ZONE).astimezone(UTC)
W47_END = datetime(2026, 11, 23, tzinfo=ZONE).astimezone(UTC)
W46_START = W47_START - timedelta(days=7)
SEED_START = W46_START - timedelta(days=1)  # a Sunday of week 45 too, for the history
NOW = W47_END + timedelta(hours=9)
SLA = 60
HOSTILE_TEXT = (
    "<script>alert('pwned')</script> \"><img src=x onerror=alert(1)> "
    '=HYPERLINK("http://evil.example") fine subscription @Parkeo'
)
HOSTILE_AUTHOR = "<b onmouseover=alert(2)>mallory</b>"
NEGATIVE = re.compile(
    r"\b(amende|fine|fined|boete|panne|kapot|crash\w*|plante|useless|inutilisable|attente|"
    r"wacht|nobody|personne|niemand|onterechte|scandal\w*)\b",
    re.IGNORECASE,
)
POSITIVE = re.compile(
    r"\b(merci|thanks|bedankt|great|top|bravo|proficiat|smooth|vlot|goed)\b", re.IGNORECASE
)


@dataclass
class Seeded:
    """What the seed put in, for tests to compute expectations from."""

    incident_id: int
    hostile_id: int
    late_snapshot_id: int


def _label(text: str) -> str:
    if NEGATIVE.search(text):
        return "negative"
    return "positive" if POSITIVE.search(text) else "neutral"


def _hostile(created: datetime) -> MentionIn:
    return MentionIn(
        source="x",
        external_id="hostile-1",
        brand=BRAND,
        text=HOSTILE_TEXT,
        created_at=created,
        url="javascript:alert(3)",
        author=HOSTILE_AUTHOR,
        language="en",
        engagement=Engagement(observed_at=created + timedelta(hours=1), likes=90000, reshares=9000),
    )


def seed(engine: Engine) -> Seeded:
    """A fortnight (plus a day) of the demo stream with competitors and an incident at the end of
    week 47, the test's own sentiment labels, responses with known delays, and one hostile post."""
    minutes = int((W47_END - SEED_START).total_seconds() // 60)
    demo = DemoCollector(
        BRAND,
        "@Parkeo",
        seed=11,
        rate_per_minute=0.05,
        incident_after_minutes=minutes - 180,
        competitors=RIVALS,
        competitor_rate_per_minute=0.01,
    )
    with engine.begin() as conn:
        cursor = {"epoch": SEED_START.isoformat(), "minute": -1}
        for batch in demo.collect(cursor, W47_END):
            store_mentions(conn, batch.mentions, W47_END)
        store_mentions(conn, [_hostile(W47_START + timedelta(days=2, hours=3))], W47_END)
        rows = conn.execute(select(Mention.id, Mention.text, Mention.created_at)).all()
        conn.execute(
            insert(Sentiment),
            [
                {
                    "mention_id": mid,
                    "label": _label(body),
                    "score": 0.9,
                    "is_complaint": _label(body) == "negative",
                    "complaint_score": 0.9,
                    "model_id": "test-rule",
                    "scored_at": W47_END,
                }
                for mid, body, _ in rows
            ],
        )
        complaints = sorted(
            (created, mid) for mid, body, created in rows if _label(body) == "negative"
        )
        responses = []
        for n, (created, mid) in enumerate(complaints):
            if n % 7 == 0:
                responses.append(("dismissed", None, created + timedelta(minutes=5), mid))
            elif n % 3 == 0:
                delay = timedelta(minutes=(n * 37) % 300 + 1)
                responses.append(("answered", created + delay, created + delay, mid))
            elif n % 5 == 0:
                responses.append(("assigned", None, created + timedelta(minutes=2), mid))
        conn.execute(
            insert(Response),
            [
                {
                    "mention_id": mid,
                    "status": s,
                    "answered_at": a,
                    "updated_at": u,
                    "assignee": "sam",
                }
                for s, a, u, mid in responses
            ],
        )
        hostile_id = conn.execute(
            select(Mention.id).where(Mention.external_id == "hostile-1")
        ).scalar_one()
        # Engagement seen after the week ended must not count in that week's report.
        late_id = next(mid for created, mid in complaints if W47_START <= created < W47_END)
        conn.execute(
            insert(EngagementSnapshot),
            {
                "mention_id": late_id,
                "observed_at": W47_END + timedelta(hours=1),
                "likes": 10**7,
                "reshares": 10**6,
                "replies": 0,
            },
        )
        incident_id = _incident(conn, complaints)
    return Seeded(incident_id, hostile_id, late_id)


def _incident(conn: Connection, complaints: list[tuple[datetime, int]]) -> int:
    """An incident made of the complaints of the last three hours of week 47."""
    start = W47_END - timedelta(hours=3)
    members = [(c, m) for c, m in complaints if start <= c < W47_END]
    first, last = members[0][0], members[-1][0]
    incident_id = conn.execute(
        insert(Incident).returning(Incident.id),
        {
            "brand": BRAND,
            "title": "Fined <despite> a paid subscription",
            "terms": {},
            "status": "open",
            "size": len(members),
            "authors": len(members),
            "languages": {},
            "risk": 0.9,
            "reasons": {},
            "first_seen": first,
            "last_seen": last,
            "answered_at": None,
        },
    ).scalar_one()
    conn.execute(
        insert(IncidentMention), [{"incident_id": incident_id, "mention_id": m} for _, m in members]
    )
    return incident_id


@pytest.fixture
def seeded(engine: Engine) -> Seeded:
    return seed(engine)


def _rows(engine: Engine) -> list:
    query = (
        select(
            Mention.id,
            Mention.brand,
            Mention.source,
            Mention.language,
            Mention.created_at,
            Sentiment.label,
            Sentiment.is_complaint,
            Response.status,
            Response.answered_at,
            Response.updated_at,
        )
        .outerjoin(Sentiment, Sentiment.mention_id == Mention.id)
        .outerjoin(Response, Response.mention_id == Mention.id)
    )
    with engine.connect() as conn:
        return conn.execute(query).all()


def _in(row: Any, start: datetime, end: datetime) -> bool:
    return start <= row.created_at < end


def test_figures_match_the_seeded_rows(engine: Engine, seeded: Seeded, config: VigieConfig):
    brand = config.brand(BRAND)
    assert brand.competitors == RIVALS
    f = compute(engine, brand, Week(2026, 47, ZONE), NOW, SLA)
    rows = _rows(engine)
    own = [r for r in rows if r.brand == BRAND]
    this = [r for r in own if _in(r, W47_START, W47_END)]
    last = [r for r in own if _in(r, W46_START, W47_START)]
    assert this and last

    assert (f.current.mentions, f.previous.mentions) == (len(this), len(last))
    assert [p.week for p in f.history][-3:] == ["2026-W45", "2026-W46", "2026-W47"]
    assert len(f.history) == 12
    assert f.history[-3].mentions == len([r for r in own if _in(r, SEED_START, W46_START)])
    assert all(p.mentions == 0 for p in f.history[:-3])

    labels = Counter(r.label for r in this)
    assert (f.current.positive, f.current.neutral, f.current.negative) == (
        labels["positive"],
        labels["neutral"],
        labels["negative"],
    )
    polar = labels["positive"] + labels["negative"]
    assert f.current.net_sentiment == pytest.approx(
        (labels["positive"] - labels["negative"]) / polar
    )
    assert f.current.complaints == sum(bool(r.is_complaint) for r in this)

    by_language = Counter(r.language for r in this)
    assert {c.name: c.current for c in f.languages} == dict(by_language)
    assert {c.name: c.previous for c in f.languages} == dict(Counter(r.language for r in last)) | {
        k: 0 for k in by_language if k not in {r.language for r in last}
    }
    assert {c.name: c.current for c in f.sources} == dict(Counter(r.source for r in this))

    voices = {c.name: (c.current, c.previous) for c in f.share_of_voice}
    for name in (BRAND, *RIVALS):
        named = [r for r in rows if r.brand == name]
        assert voices[name] == (
            len([r for r in named if _in(r, W47_START, W47_END)]),
            len([r for r in named if _in(r, W46_START, W47_START)]),
        )
    rivals_this = sum(voices[n][0] for n in RIVALS)
    assert f.current.share_of_voice == pytest.approx(len(this) / (len(this) + rivals_this))

    days = [datetime(2026, 11, 16 + d, tzinfo=ZONE).astimezone(UTC) for d in range(8)]
    assert [c for _, c, _ in f.days] == [
        len([r for r in own if _in(r, days[d], days[d + 1])]) for d in range(7)
    ]
    assert [d for d, _, _ in f.days] == [date(2026, 11, 16 + d) for d in range(7)]
    assert sum(p for _, _, p in f.days) == len(last)


def _expected_responses(rows: list, as_of: datetime) -> tuple:
    complaints = [r for r in rows if r.is_complaint]
    delays = sorted(
        (r.answered_at - r.created_at).total_seconds() / 60
        for r in complaints
        if r.answered_at is not None and r.answered_at <= as_of
    )
    dismissed = sum(
        1
        for r in complaints
        if r.status == "dismissed" and r.answered_at is None and r.updated_at <= as_of
    )
    p90 = delays[math.ceil(0.9 * len(delays)) - 1]
    within = sum(d <= SLA for d in delays)
    return len(complaints), len(delays), dismissed, within, statistics.median(delays), p90


def test_response_performance_matches_the_seeded_responses(
    engine: Engine, seeded: Seeded, config: VigieConfig
):
    f = compute(engine, config.brand(BRAND), Week(2026, 47, ZONE), NOW, SLA)
    rows = [r for r in _rows(engine) if r.brand == BRAND]
    this = [r for r in rows if _in(r, W47_START, W47_END)]
    complaints, answered, dismissed, within, median, p90 = _expected_responses(this, W47_END)
    r = f.responses
    assert (r.complaints, r.answered, r.dismissed, r.within_sla) == (
        complaints,
        answered,
        dismissed,
        within,
    )
    assert r.median_minutes == pytest.approx(median)
    assert r.p90_minutes == pytest.approx(p90)
    assert r.unanswered == complaints - answered - dismissed
    assert r.sla_share == pytest.approx(within / (complaints - dismissed))
    # Answers given after the week ended do not count for it.
    assert answered < sum(1 for x in this if x.is_complaint and x.answered_at is not None)

    last = [r for r in rows if _in(r, W46_START, W47_START)]
    expected = _expected_responses(last, W47_START)
    p = f.responses_previous
    assert (p.complaints, p.answered, p.dismissed, p.within_sla) == expected[:4]
    assert p.median_minutes == pytest.approx(expected[4])


def test_most_engaged_mentions_and_incidents(engine: Engine, seeded: Seeded, config: VigieConfig):
    f = compute(engine, config.brand(BRAND), Week(2026, 47, ZONE), NOW, SLA)
    with engine.connect() as conn:
        snaps = conn.execute(
            select(
                EngagementSnapshot.mention_id,
                EngagementSnapshot.observed_at,
                EngagementSnapshot.likes,
                EngagementSnapshot.reshares,
                EngagementSnapshot.replies,
            )
        ).all()
    best: dict[int, list[int]] = {}
    for mid, observed, likes, reshares, replies in snaps:
        if observed <= W47_END:
            top = best.setdefault(mid, [0, 0, 0])
            for i, v in enumerate((likes, reshares, replies)):
                top[i] = max(top[i], v or 0)
    rows = {r.id: r for r in _rows(engine) if r.brand == BRAND and _in(r, W47_START, W47_END)}
    for label, got in (("positive", f.top_positive), ("negative", f.top_negative)):
        ranked = sorted(
            (mid for mid, r in rows.items() if r.label == label),
            key=lambda mid: (-sum(best.get(mid, [0])), mid),
        )
        assert [m.id for m in got] == ranked[:5]
        assert [m.engagement for m in got] == [sum(best.get(mid, [0])) for mid in ranked[:5]]
    assert f.top_negative[0].id == seeded.hostile_id
    assert seeded.late_snapshot_id not in [m.id for m in f.top_negative]

    (incident,) = f.incidents
    assert incident.id == seeded.incident_id
    with engine.connect() as conn:
        members = conn.execute(
            select(Mention.created_at, Response.answered_at)
            .join(IncidentMention, IncidentMention.mention_id == Mention.id)
            .outerjoin(Response, Response.mention_id == Mention.id)
            .where(IncidentMention.incident_id == seeded.incident_id)
        ).all()
    hours = Counter(c.astimezone(ZONE).strftime("%d %H") for c, _ in members)
    peak_hour, peak = max(sorted(hours.items()), key=lambda kv: kv[1])
    assert incident.peak_count == peak
    assert incident.peak_at.astimezone(ZONE).strftime("%d %H") == peak_hour
    first = min(c for c, _ in members)
    answers = [a for _, a in members if a is not None and a <= W47_END]
    assert incident.answer_minutes == pytest.approx((min(answers) - first).total_seconds() / 60)


def test_topics_cover_the_complaints_and_find_the_incident(
    engine: Engine, seeded: Seeded, config: VigieConfig
):
    brand = config.brand(BRAND)
    f = compute(engine, brand, Week(2026, 47, ZONE), NOW, SLA)
    assert f.topics
    assert sum(t.count for t in f.topics) + f.other_complaints == f.current.complaints
    assert all(t.previous <= f.previous.complaints for t in f.topics)
    terms = {term for t in f.topics for term in t.terms}
    assert not terms & brand_terms(brand)
    incident_words = {"abonnement", "amende", "subscription", "boete", "jaarabonnement", "fine"}
    assert incident_words & set(f.topics[0].terms)
    assert [t.count for t in f.topics] == sorted((t.count for t in f.topics), reverse=True)


def test_topics_name_clusters_by_their_words_and_follow_last_week():
    def docs(texts: list[str], start: int = 0) -> list[Document]:
        return [Document(start + i, t, "en", None) for i, t in enumerate(texts)]

    meters = [f"The parking meter on street {n} is broken again, cannot pay" for n in range(12)]
    app = [f"The app crashed during payment number {n}, useless app" for n in range(7)]
    topics, other = find_topics(docs(meters + app), docs(meters[:4], 100), {"parkeo"})
    assert other == 0
    assert [t.count for t in topics] == [12, 7]
    assert len(topics[0].terms) == 3
    assert set(topics[0].terms) <= {"parking", "meter", "street", "broken", "pay"}
    assert "app" in topics[1].terms
    assert [t.previous for t in topics] == [4, 0]
    assert find_topics([], [], set()) == ([], 0)


def test_weeks_follow_the_report_time_zone():
    week = Week.parse("2026-W47", ZONE)
    assert (week.start, week.end) == (W47_START, W47_END)
    assert week.label == "2026-W47" and week.span() == "16–22 Nov 2026"
    assert Week.parse("2026w5", ZONE).label == "2026-W05"
    with pytest.raises(ValueError, match="no week 53"):
        Week.parse("2025-W53", ZONE)
    with pytest.raises(ValueError, match="not an ISO week"):
        Week.parse("last week", ZONE)
    dst = Week.parse("2026-W43", ZONE)  # clocks go back on Sunday 25 October 2026
    assert (dst.end - dst.start) == timedelta(days=7, hours=1)
    assert len(dst.day_edges()) == 8
    assert Week.parse("2027-W01", ZONE).shift(-1).label == "2026-W53"


def test_reports_are_due_at_the_configured_day_and_time(config: VigieConfig):
    reports = config.reports.model_copy(
        update={"day": "monday", "time": "08:00", "timezone": "Europe/Brussels"}
    )
    week = Week.parse("2026-W47", ZONE)
    assert send_time(week, reports) == datetime(2026, 11, 23, 8, tzinfo=ZONE)
    before = datetime(2026, 11, 23, 7, 59, tzinfo=ZONE)
    after = datetime(2026, 11, 23, 8, 0, tzinfo=ZONE)
    assert due_week(before, reports).label == "2026-W46"
    assert due_week(after, reports).label == "2026-W47"
    friday = reports.model_copy(update={"day": "friday", "time": "17:30"})
    assert send_time(week, friday) == datetime(2026, 11, 27, 17, 30, tzinfo=ZONE)


def test_csv_defuses_formulas_in_text_cells():
    assert table._text('=HYPERLINK("x")') == '\'=HYPERLINK("x")'
    assert table._text("@SUM(A1)") == "'@SUM(A1)"
    assert table._text("fine · subscription") == "fine · subscription"
