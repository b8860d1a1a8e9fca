"""A small, hostile, fully known database and config for the dashboard tests (no tests here).

Times are relative to the real clock, because the dashboard shows "the last 24 hours" of now.
Texts, authors and URLs include markup, script and ``javascript:`` links that must be shown
literally and never become live.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine, insert

from monitor.storage import rollups
from monitor.storage.tables import (
    Alert,
    CollectorState,
    EngagementSnapshot,
    Forecast,
    Incident,
    IncidentMention,
    Mention,
    Response,
    Sentiment,
)

# Right-to-left override and isolates: "receipt_\u202efdp.exe" reads as "receipt_exe.pdf".
BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
HOSTILE_TEXT = (
    'Fined although I paid my subscription! <script>alert("xss")</script> '
    "[click](javascript:alert(1)) **bold** :red[fake] $x^2$ receipt_\u202efdp.exe\u202c "
    "\u2067@Parkeo\u2069 <img src=x onerror=alert(2)> # heading\n---\n| a | b |"
)
HOSTILE_AUTHOR = "angry_<b>bob</b>"
JS_URL = "javascript:alert(document.cookie)"
INCIDENT_TITLE = "Wrongful fines despite a paid subscription"


@dataclass(frozen=True)
class Seeded:
    """Ids of the seeded rows the tests look for."""

    now: datetime
    spreading: int
    js_link: int
    praise: int
    old_answered: int
    neutral: int
    rival: int
    unscored: int
    late_answered: int
    incident: int


def write_config(path: Path, sla_minutes: int = 60) -> Path:
    """The config the dashboard reads: Parkeo with a competitor and two sources."""
    raw = {
        "brands": [
            {
                "name": "Parkeo",
                "keywords": ["parkeo"],
                "handles": ["@Parkeo"],
                "languages": ["en", "fr", "nl"],
                "competitors": ["StreetPay"],
                "alerts": {"recipients": ["lead@example.com"]},
            }
        ],
        "sources": {"x": {"interval_seconds": 300}, "reddit": {"interval_seconds": 600}},
        "reports": {"sla_minutes": sla_minutes},
    }
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    path.chmod(0o640)
    return path


def _mention(key: str, minutes_ago: float, now: datetime, **values: Any) -> dict[str, Any]:
    created = now - timedelta(minutes=minutes_ago)
    row = {
        "source": "x",
        "external_id": key,
        "brand": "Parkeo",
        "url": f"https://x.example/status/{key}",
        "author": f"user_{key}",
        "author_followers": 150,
        "language": "en",
        "created_at": created,
        "collected_at": created + timedelta(minutes=1),
    }
    return {**row, **values}


MENTIONS: dict[str, tuple[float, dict[str, Any], tuple[str, bool] | None]] = {
    "spreading": (
        50,
        {"text": HOSTILE_TEXT, "author": HOSTILE_AUTHOR, "author_followers": 12000},
        ("negative", True),
    ),
    "js_link": (
        180,
        {"source": "reddit", "text": "Parkeo app crashed again when paying", "url": JS_URL},
        ("negative", True),
    ),
    "praise": (
        120,
        {"source": "playstore", "text": "Super appli, merci Parkeo", "language": "fr"},
        ("positive", False),
    ),
    "old_answered": (
        26 * 60,
        {"source": "mastodon", "text": "Parkeo boete terwijl abonnement betaald", "language": "nl"},
        ("negative", True),
    ),
    "neutral": (10, {"text": "Where is the Parkeo office?"}, ("neutral", False)),
    "rival": (60, {"brand": "StreetPay", "text": "StreetPay works fine"}, ("positive", False)),
    "unscored": (5, {"text": "Parkeo parking on rue Neuve"}, None),
    "late_answered": (
        5 * 24 * 60,
        {"text": "Parkeo charged me twice for one hour of parking"},
        ("negative", True),
    ),
}


def seed(engine: Engine) -> Seeded:
    """Insert the known rows; returns their ids."""
    now = datetime.now(UTC).replace(microsecond=0)
    ids: dict[str, int] = {}
    with engine.begin() as conn:
        for key, (minutes, values, reading) in MENTIONS.items():
            row = _mention(key, minutes, now, **values)
            ids[key] = conn.execute(insert(Mention).values(row).returning(Mention.id)).scalar_one()
            if reading:
                conn.execute(
                    insert(Sentiment).values(
                        mention_id=ids[key],
                        label=reading[0],
                        score=0.9,
                        is_complaint=reading[1],
                        complaint_score=0.9 if reading[1] else 0.1,
                        model_id="test-model",
                        scored_at=now,
                    )
                )
        _engagement(conn, ids["spreading"], now)
        _forecasts(conn, ids, now)
        _responses(conn, ids, now)
        incident = _incident(conn, ids, now)
        _alerts_and_sources(conn, ids, now)
    rollups.refresh(engine)  # as the pipeline's processing step does after scoring
    return Seeded(now=now, incident=incident, **ids)


def _engagement(conn: Any, mention_id: int, now: datetime) -> None:
    for minutes_ago, reshares in ((45, 5), (30, 40), (15, 90), (2, 160)):
        conn.execute(
            insert(EngagementSnapshot).values(
                mention_id=mention_id,
                observed_at=now - timedelta(minutes=minutes_ago),
                reshares=reshares,
                likes=reshares * 3,
            )
        )


def _forecasts(conn: Any, ids: dict[str, int], now: datetime) -> None:
    rows = [
        (ids["spreading"], 0.92, 160, 900.0, 600.0, 1400.0, 1200.0),
        (ids["js_link"], 0.45, 12, 40.0, 20.0, 70.0, None),
    ]
    for mention_id, risk, reshares, final, low, high, seconds in rows:
        conn.execute(
            insert(Forecast).values(
                mention_id=mention_id,
                computed_at=now,
                reshares_now=reshares,
                final=final,
                low=low,
                high=high,
                seconds_to_threshold=seconds,
                risk=risk,
                reasons={"reshares_per_hour": 160.0, "author_followers": 12000},
            )
        )


def _responses(conn: Any, ids: dict[str, int], now: datetime) -> None:
    created = {key: now - timedelta(minutes=m) for key, (m, _, _) in MENTIONS.items()}
    rows = [
        (ids["js_link"], "assigned", "Sam", None, None),
        (
            ids["old_answered"],
            "answered",
            "Sam",
            created["old_answered"] + timedelta(minutes=30),
            "https://x.example/reply/1",
        ),
        (
            ids["late_answered"],
            "answered",
            "Kim",
            created["late_answered"] + timedelta(minutes=200),
            None,
        ),
    ]
    for mention_id, status, assignee, answered_at, url in rows:
        conn.execute(
            insert(Response).values(
                mention_id=mention_id,
                status=status,
                assignee=assignee,
                answered_at=answered_at,
                reply_url=url,
                updated_at=now,
            )
        )


def _incident(conn: Any, ids: dict[str, int], now: datetime) -> int:
    incident = conn.execute(
        insert(Incident)
        .values(
            brand="Parkeo",
            title=INCIDENT_TITLE,
            terms={"fine": 3, "subscription": 2},
            representative_id=ids["spreading"],
            status="open",
            size=3,
            authors=3,
            languages={"en": 2, "nl": 1},
            risk=0.8,
            reasons={"people": 3},
            first_seen=now - timedelta(hours=26),
            last_seen=now - timedelta(minutes=50),
        )
        .returning(Incident.id)
    ).scalar_one()
    for key in ("spreading", "js_link", "old_answered"):
        conn.execute(insert(IncidentMention).values(incident_id=incident, mention_id=ids[key]))
    return incident


def _alerts_and_sources(conn: Any, ids: dict[str, int], now: datetime) -> None:
    common = {"brand": "Parkeo", "details": {}, "created_at": now - timedelta(minutes=40)}
    conn.execute(
        insert(Alert).values(
            kind="spreading",
            dedup_key=f"spreading:{ids['spreading']}",
            mention_id=ids["spreading"],
            severity="high",
            title="Complaint about Parkeo spreading",
            status="sent",
            attempts=1,
            sent_at=now - timedelta(minutes=39),
            **common,
        )
    )
    conn.execute(
        insert(Alert).values(
            kind="volume",
            dedup_key="volume:Parkeo:1",
            severity="warning",
            title="Mention volume spike for Parkeo",
            status="pending",
            attempts=2,
            next_attempt_at=now + timedelta(minutes=5),
            last_error="SMTP timeout",
            **common,
        )
    )
    healthy = {"last_run_at": now, "last_success_at": now, "consecutive_failures": 0}
    failing = {
        "last_run_at": now,
        "last_success_at": now - timedelta(hours=5),
        "last_error": "HTTP 429 <b>rate limited</b>",
        "consecutive_failures": 4,
    }
    for source, state in (("x", healthy), ("reddit", failing)):
        conn.execute(
            insert(CollectorState).values(
                key=f"{source}:Parkeo",
                source=source,
                brand="Parkeo",
                cursor=None,
                last_items=3,
                items_total=40,
                **{"last_error": None, **state},
            )
        )
