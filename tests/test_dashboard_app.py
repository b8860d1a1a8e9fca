"""Every dashboard page rendered by Streamlit's AppTest against a seeded SQLite file and the
local PostgreSQL: what each page shows, that its filters change it, that its actions write."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
import yaml
from google.protobuf import text_format
from sqlalchemy import Engine, delete, insert, select, update
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Dataframe

from dashboard import context, queries
from dashboard.safe import md, plain
from monitor.passwords import hash_password
from monitor.storage.tables import (
    Alert,
    CollectorState,
    Forecast,
    Mention,
    Response,
    Sentiment,
    SentimentCorrection,
)
from tests.dashboard_seed import (
    BIDI,
    HOSTILE_AUTHOR,
    HOSTILE_TEXT,
    INCIDENT_TITLE,
    Seeded,
    _mention,
    seed,
    write_config,
)
from tests.support import ROOT

APP = ROOT / "dashboard" / "app.py"
Start = Callable[..., AppTest]


@pytest.fixture
def local_server() -> Iterator[None]:
    """The dashboard as served by default: on localhost, so no login is asked."""
    before = st.config.get_option("server.address")
    st.config.set_option("server.address", "localhost")
    yield
    st.config.set_option("server.address", before)
    context.engine_for.clear()  # disposes the pooled engines before the database goes


@pytest.fixture
def start(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, local_server: None
) -> Start:
    """Runs the app on a page (after the default one, as a visitor navigates)."""
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("VIGIE_CONFIG", str(write_config(tmp_path / "vigie.yaml")))
    monkeypatch.delenv("VIGIE_DASHBOARD_PASSWORD_HASH", raising=False)

    def run(page: str | None = None) -> AppTest:
        at = AppTest.from_file(str(APP), default_timeout=60).run()
        if page:
            at.switch_page(page).run()
        assert not at.exception, at.exception[0].value
        return at

    return run


@pytest.fixture
def seeded(engine: Engine) -> Seeded:
    return seed(engine)


def texts(at: AppTest) -> str:
    """Everything written as Markdown, captions or alerts on the page."""
    parts = [e.value for kind in ("markdown", "caption", "info", "error", "warning", "success")
             for e in getattr(at, kind)]  # fmt: skip
    return "\n".join(str(p) for p in parts)


def table(at: AppTest, n: int = 0):
    return at.dataframe[n].value


def state_of(engine: Engine, mention_id: int) -> str:
    return rows_of(engine, Response, Response.mention_id == mention_id)[0].status


def rows_of(engine: Engine, model: type, *where: object) -> list:
    with engine.connect() as conn:
        return list(conn.execute(select(model).where(*where)))


# --- Live ---------------------------------------------------------------------------------------


def test_live_shows_counts_feed_and_what_spreads(start: Start, seeded: Seeded):
    at = start()
    assert at.title[0].value == "Live"
    metrics = {m.label.split()[-1]: m.value for m in at.metric}
    assert metrics == {"Mentions": "5", "Negative": "2", "Neutral": "1", "Positive": "1"}
    feed = table(at)
    assert list(feed["text"])[2] == plain(HOSTILE_TEXT)  # shown as data, newest first
    assert list(feed["sentiment"]) == ["unscored", "neutral", "negative", "positive", "negative"]
    assert feed["link"].isna().sum() == 1  # the javascript: URL gets no link
    page = texts(at)
    assert "Spreading now" in [s.value for s in at.subheader]
    assert md(HOSTILE_AUTHOR) in page and HOSTILE_AUTHOR not in page
    assert "risk 92%" in page


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda at: at.button_group(key="live-sentiment").set_value(["negative"]), 2),
        (lambda at: at.toggle(key="live-complaints").set_value(True), 2),
        (lambda at: at.text_input(key="live-search").input("office"), 1),
        (lambda at: at.multiselect(key="live-language").set_value(["fr"]), 1),
        (lambda at: at.toggle(key="live-competitors").set_value(True), 6),
        (lambda at: at.button_group(key="live-period").set_value("7 d"), 7),
        (lambda at: at.button_group(key="live-period").set_value("1 h"), 3),
        (lambda at: at.multiselect(key="live-source").set_value(["reddit"]), 1),
        (
            lambda at: (
                at.button_group(key="live-period").set_value("7 d"),
                at.toggle(key="live-unanswered").set_value(True),
            ),
            5,
        ),
    ],
)
def test_live_filters_change_the_feed(start: Start, seeded: Seeded, change, expected: int):
    at = start()
    change(at)
    at.run()
    assert not at.exception
    assert len(table(at)) == expected


def test_live_custom_dates(start: Start, seeded: Seeded):
    at = start()
    at.button_group(key="live-period").set_value("Custom").run()
    today = seeded.now.date()  # AppTest has no browser time zone: the dashboard uses UTC
    at.date_input(key="live-dates").set_value(
        (today - timedelta(days=6), today - timedelta(days=4))
    )
    at.run()
    assert not at.exception
    assert list(table(at)["text"]) == ["Parkeo charged me twice for one hour of parking"]


def test_live_on_an_empty_database_says_what_to_do(start: Start, engine: Engine):
    at = start()
    assert "python -m monitor demo" in at.info[0].value
    assert not at.dataframe


# --- Spreading now ------------------------------------------------------------------------------


def test_spreading_ranks_by_risk_and_escapes_text(start: Start, seeded: Seeded):
    at = start("views/spreading.py")
    page = texts(at)
    assert page.index("risk 92%") < page.index("risk 45%")
    assert md(HOSTILE_TEXT) in page and "<script>" not in page
    assert "Forecast: **900** reshares in the end (likely 600–1,400)" in page
    assert "reshares per hour: 160" in page
    assert INCIDENT_TITLE in page
    assert at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")


def test_spreading_actions_write_to_the_database(start: Start, seeded: Seeded, engine: Engine):
    at = start("views/spreading.py")
    key = f"spread-{seeded.spreading}"
    at.text_input(key="vigie-user-name").input("Alex")
    at.button(key=f"{key}-alert").click().run()
    alert = rows_of(engine, Alert, Alert.kind == "manual")[0]
    assert (alert.mention_id, alert.details["requested_by"]) == (seeded.spreading, "Alex")

    at.text_input(key=f"{key}-assignee").input("Kim")
    at.button(key=f"{key}-assign").click().run()
    assert rows_of(engine, Response, Response.mention_id == seeded.spreading)[0].assignee == "Kim"

    at.text_input(key=f"{key}-reply").input("javascript:alert(1)")
    at.button(key=f"{key}-answer").click().run()
    assert "reply URL must start with https://" in at.toast[0].value
    assert (
        rows_of(engine, Response, Response.mention_id == seeded.spreading)[0].status == "assigned"
    )

    at.button_group(key=f"{key}-label").set_value("neutral")
    at.checkbox(key=f"{key}-complaint").uncheck()
    at.button(key=f"{key}-correct").click().run()
    correction = rows_of(engine, SentimentCorrection)[0]
    assert (correction.label, correction.is_complaint, correction.model_label) == (
        "neutral",
        False,
        "negative",
    )
    assert correction.corrected_by == "Alex"

    at = start("views/spreading.py")  # corrected to neutral: no longer a complaint that spreads
    assert f"spread-{seeded.spreading}-alert" not in [b.key for b in at.button]
    at.button(key=f"spread-{seeded.js_link}-dismiss").click().run()
    assert rows_of(engine, Response, Response.mention_id == seeded.js_link)[0].status == "dismissed"
    assert "Nothing is spreading right now" in at.info[0].value


def test_spreading_answered_with_reply_url(start: Start, seeded: Seeded, engine: Engine):
    at = start("views/spreading.py")
    key = f"spread-{seeded.spreading}"
    at.text_input(key=f"{key}-reply").input("https://x.example/reply/42")
    at.button(key=f"{key}-answer").click().run()
    answer = rows_of(engine, Response, Response.mention_id == seeded.spreading)[0]
    assert (answer.status, answer.reply_url) == ("answered", "https://x.example/reply/42")
    assert f"{key}-alert" not in [b.key for b in at.button]
    at.toggle(key="spread-handled").set_value(True).run()
    assert f"{key}-reopen" in [b.key for b in at.button]


def test_spreading_without_forecasts_ranks_by_reshares(
    start: Start, seeded: Seeded, engine: Engine
):
    with engine.begin() as conn:
        conn.execute(delete(Forecast))
    at = start("views/spreading.py")
    page = texts(at)
    assert "No forecasts yet" in page
    assert "**+160**" in page


def test_spreading_draws_five_first_and_the_rest_on_demand(
    start: Start, seeded: Seeded, engine: Engine
):
    with engine.begin() as conn:  # four more open complaints that spread: six or seven in all
        for n in range(4):
            row = _mention(f"more{n}", 10 + n, seeded.now, text=f"Fined again #{n}")
            mention_id = conn.execute(insert(Mention).values(row).returning(Mention.id)).scalar()
            conn.execute(insert(Sentiment).values(
                mention_id=mention_id, label="negative", score=0.9, is_complaint=True,
                complaint_score=0.9, model_id="test-model", scored_at=seeded.now))  # fmt: skip
            conn.execute(insert(Forecast).values(
                mention_id=mention_id, computed_at=seeded.now, reshares_now=5, final=50.0,
                low=30.0, high=80.0, risk=0.3 - n / 100, reasons={}))  # fmt: skip
    at = start("views/spreading.py")
    at.toggle(key="spread-handled").set_value(True).run()
    assert len([b for b in at.button if b.key.endswith("-alert")]) == 5
    hidden = int(at.button(key="spread-show-more").label.split()[1])
    assert hidden >= 1
    at.button(key="spread-show-more").click().run()
    assert len([b for b in at.button if b.key.endswith("-alert")]) == 5 + hidden
    assert "spread-show-more" not in [b.key for b in at.button]


# --- Incidents ----------------------------------------------------------------------------------


def test_incidents_show_growth_languages_and_timeline(start: Start, seeded: Seeded):
    at = start("views/incidents.py")
    assert INCIDENT_TITLE in at.subheader[0].value
    assert {m.label: m.value for m in at.metric}["Mentions"] == "3"
    languages = table(at, 0)
    assert dict(zip(languages["lang"], languages["mentions"], strict=True)) == {"en": 2, "nl": 1}
    timeline = table(at, 1)
    assert "first public answer" in list(timeline["event"])
    members = table(at, 2)
    assert len(members) == 3 and plain(HOSTILE_TEXT) in list(members["text"])
    at.button_group(key="inc-period").set_value("48 h").run()
    assert at.subheader  # still active in the last 48 h
    at.toggle(key="inc-open").set_value(False).run()
    assert len(at.selectbox(key="inc-chosen").options) == 1


def test_incident_actions_write_to_the_database(start: Start, seeded: Seeded, engine: Engine):
    at = start("views/incidents.py")
    key = f"inc{seeded.incident}-{seeded.spreading}"
    at.text_input(key=f"{key}-assignee").input("Robin")
    at.button(key=f"{key}-assign").click().run()
    response = rows_of(engine, Response, Response.mention_id == seeded.spreading)[0]
    assert (response.status, response.assignee) == ("assigned", "Robin")
    at.button(key=f"{key}-dismiss").click().run()
    assert (
        rows_of(engine, Response, Response.mention_id == seeded.spreading)[0].status == "dismissed"
    )
    at.button(key=f"{key}-reopen").click().run()
    assert rows_of(engine, Response, Response.mention_id == seeded.spreading)[0].status == "new"


def test_incidents_empty_state(start: Start, engine: Engine):
    at = start("views/incidents.py")
    assert "No incident in this period" in at.info[0].value


# --- Inbox --------------------------------------------------------------------------------------


def test_inbox_lists_complaints_and_flags_late_ones(start: Start, seeded: Seeded, engine: Engine):
    at = start("views/inbox.py")
    rows = table(at)  # most urgent first: the spreading complaint, then the older late one
    assert list(rows["late"]) == [False, True]
    assert list(rows["state"]) == ["new", "assigned"]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Waiting for an answer"] == "2"
    assert metrics["Past the target"] == "1"
    assert metrics["Median first response"] == "1 h 55"

    at.button_group(key="inbox-states").set_value(["answered"]).run()
    assert len(table(at)) == 2
    at.toggle(key="inbox-late").set_value(True).run()
    assert len(table(at)) == 1
    at.button_group(key="inbox-states").set_value(list(("new", "assigned"))).run()
    at.selectbox(key="inbox-assignee").set_value("Sam").run()
    assert len(table(at)) == 1

    assert len(at.selectbox(key="inbox-chosen").options) == 1
    key = f"inbox-{seeded.js_link}"
    at.text_input(key=f"{key}-reply").input("https://reddit.example/reply")
    at.button(key=f"{key}-answer").click().run()
    assert rows_of(engine, Response, Response.mention_id == seeded.js_link)[0].status == "answered"


def test_inbox_sla_comes_from_the_config(
    start: Start, seeded: Seeded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("VIGIE_CONFIG", str(write_config(tmp_path / "slow.yaml", sla_minutes=240)))
    at = start("views/inbox.py")
    assert list(table(at)["late"]) == [False, False]
    assert "within 240 min" in at.caption[0].value


# --- Trends -------------------------------------------------------------------------------------


def test_trends_charts_topics_share_of_voice_and_responses(start: Start, seeded: Seeded):
    at = start("views/trends.py")
    by_source = table(at, 0)
    assert dict(zip(by_source["dim"], by_source["mentions"], strict=True)) == {
        "x": 4,
        "reddit": 1,
        "playstore": 1,
        "mastodon": 1,
    }
    voice = table(at, 1)
    assert dict(zip(voice["brand"], voice["mentions"], strict=True)) == {
        "Parkeo": 7,
        "StreetPay": 1,
    }
    assert {m.label: m.value for m in at.metric}["Median first response"] == "1 h 55"
    assert len(at.get("download_button")) >= 3
    at.button_group(key="trends-split").set_value("language").run()
    assert set(table(at, 0)["dim"]) == {"en", "fr", "nl"}
    at.button_group(key="trends-period").set_value("24 h").run()
    assert table(at, 0)["mentions"].sum() == 5


# --- Sources & settings -------------------------------------------------------------------------


def test_settings_show_source_health_alerts_and_no_secret(
    db_url: str, seeded: Seeded, start: Start, monkeypatch: pytest.MonkeyPatch
):
    if db_url.startswith("postgresql://"):
        secret_url = db_url.replace("postgresql://postgres@", "postgresql://postgres:s3cret@")
        monkeypatch.setenv("DATABASE_URL", secret_url)
    at = start("views/settings.py")
    health = table(at, 0)
    assert dict(zip(health["source"], health["status"], strict=True)) == {
        "reddit": "failing",
        "x": "ok",
    }
    assert "HTTP 429 <b>rate limited</b>" in list(health["last_error"])
    alerts = table(at, 1)
    assert list(alerts["status"]) == ["pending", "sent"]
    assert {m.label: m.value for m in at.metric}["Retrying after an error"] == "1"
    page = texts(at)
    assert "s3cret" not in page
    assert "Database: `" in page


def test_settings_edit_is_validated_and_saved(
    start: Start, seeded: Seeded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    at = start("views/settings.py")
    at.text_area(key="cfg-Parkeo-to").input("lead@example.com\nnot an address")
    at.button(key="cfg-Parkeo-save").click().run()
    assert "not an email address" in at.error[0].value
    saved = yaml.safe_load((tmp_path / "vigie.yaml").read_text())
    assert saved["brands"][0]["alerts"]["recipients"] == ["lead@example.com"]

    at.text_area(key="cfg-Parkeo-to").input("lead@example.com, boss@example.com")
    at.text_area(key="cfg-Parkeo-rivals").input("StreetPay\nParkMore")
    at.number_input(key="cfg-Parkeo-sla").set_value(45)
    at.button(key="cfg-Parkeo-save").click().run()
    assert "Saved to" in at.success[0].value
    saved = yaml.safe_load((tmp_path / "vigie.yaml").read_text())
    parkeo = saved["brands"][0]
    assert parkeo["alerts"]["recipients"] == ["lead@example.com", "boss@example.com"]
    assert parkeo["competitors"] == ["StreetPay", "ParkMore"]
    assert saved["reports"]["sla_minutes"] == 45
    assert (tmp_path / "vigie.yaml.bak").exists()
    at = start("views/inbox.py")
    assert "within 45 min" in at.caption[0].value


def test_corrections_are_exported_for_retraining(
    start: Start, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
):
    at = start("views/spreading.py")
    key = f"spread-{seeded.spreading}"
    at.text_input(key="vigie-user-name").input("Alex")
    at.button_group(key=f"{key}-label").set_value("positive")
    at.button(key=f"{key}-correct").click().run()
    handed: dict[str, bytes] = {}  # the files the page gives the browser to download
    add = MediaFileManager.add

    def keep(self, data, mimetype, coordinates, file_name=None, **options):
        handed[file_name or ""] = data
        return add(self, data, mimetype, coordinates, file_name, **options)

    monkeypatch.setattr(MediaFileManager, "add", keep)
    at = start("views/settings.py")
    assert {m.label: m.value for m in at.metric}["Sentiment corrections"] == "1"
    (csv,) = [data for name, data in handed.items() if name.startswith("vigie-corrections-")]
    rows = pd.read_csv(io.BytesIO(csv), keep_default_na=False)
    assert rows.loc[0, ["label", "model_label", "corrected_by"]].tolist() == [
        "positive",
        "negative",
        "Alex",
    ]
    assert rows.loc[0, "text"] == HOSTILE_TEXT  # exported as written, for retraining


def test_reports_page_says_how_to_get_a_first_report(start: Start, seeded: Seeded):
    at = start("views/reports.py")
    assert at.title[0].value == "Reports"
    assert "No report for" in at.info[0].value and "generate one above" in at.info[0].value


# --- access -------------------------------------------------------------------------------------


def test_password_gate(start: Start, seeded: Seeded, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("VIGIE_DASHBOARD_PASSWORD_HASH", hash_password("correct horse"))
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.dataframe and not at.metric
    at.text_input(key="vigie-password-input").input("wrong horse")
    at.button[0].click().run()
    assert at.error[0].value == "Wrong password."
    assert not at.dataframe
    at.text_input(key="vigie-password-input").input("correct horse")
    at.button[0].click().run()
    assert at.title[0].value == "Live" and at.dataframe


def test_password_hash_from_streamlit_secrets(start: Start, seeded: Seeded):
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.secrets["VIGIE_DASHBOARD_PASSWORD_HASH"] = hash_password("correct horse")
    at.run()
    assert "protected by a password" in at.caption[0].value and not at.metric
    at.text_input(key="vigie-password-input").input("correct horse")
    at.button[0].click().run()
    assert at.title[0].value == "Live" and at.metric


def test_a_damaged_hash_is_a_clear_error(start: Start, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("VIGIE_DASHBOARD_PASSWORD_HASH", "hunter2")
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert "hash-password" in at.error[0].value
    assert not at.metric


def test_served_beyond_localhost_without_a_lock_shows_nothing(start: Start, seeded: Seeded):
    st.config.set_option("server.address", "0.0.0.0")
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert "needs a lock" in at.caption[0].value
    assert "VIGIE_DASHBOARD_PASSWORD_HASH" in at.error[0].value
    assert not at.dataframe and not at.metric


def test_single_sign_on(start: Start, seeded: Seeded, engine: Engine):
    auth = {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "a-long-random-cookie-secret-for-tests",
        "client_id": "vigie",
        "client_secret": "not-a-real-secret",
        "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
    }
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.secrets["auth"] = auth
    at.user = {"is_logged_in": False}
    at.run()
    assert not at.metric
    assert "Sign in" in at.caption[0].value
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.secrets["auth"] = auth
    at.user = {"is_logged_in": True, "email": "cm@example.com", "name": "C. M."}
    at.run()
    at.switch_page("views/spreading.py").run()
    assert md("Signed in as cm@example.com") in texts(at)
    key = f"spread-{seeded.spreading}"
    at.button(key=f"{key}-correct").click().run()
    assert rows_of(engine, SentimentCorrection)[0].corrected_by == "cm@example.com"


def test_config_error_is_shown_by_key(start: Start, tmp_path: Path, monkeypatch):
    broken = tmp_path / "broken.yaml"
    broken.write_text("brands: []\n")
    broken.chmod(0o640)
    monkeypatch.setenv("VIGIE_CONFIG", str(broken))
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert "brands" in at.code[0].value
    assert not at.metric


# --- hostile text -------------------------------------------------------------------------------


def shown(at: AppTest) -> tuple[list[str], list[pd.DataFrame]]:
    """Every element of the page as its protobuf text (what the browser receives), and the data
    of every table (sent as Arrow bytes, read back as frames)."""
    protos, tables = [], []
    for node in [*at.main, *at.sidebar]:
        if isinstance(node, Dataframe):
            tables.append(node.value)
        elif node.proto is not None:
            protos.append(text_format.MessageToString(node.proto, as_utf8=True))
    return protos, tables


def cells(tables: list[pd.DataFrame]) -> list[str]:
    return [v for t in tables for c in t.columns for v in t[c].tolist() if isinstance(v, str)]


PAGES_WITH_MENTIONS = {
    "Live": (None, "table"),
    "Spreading now": ("views/spreading.py", "markdown"),
    "Incidents": ("views/incidents.py", "both"),
    "Inbox": ("views/inbox.py", "table"),
    "Trends": ("views/trends.py", None),
    "Sources & settings": ("views/settings.py", "error"),
}


@pytest.mark.parametrize("title", list(PAGES_WITH_MENTIONS))
def test_hostile_text_stays_inert(start: Start, seeded: Seeded, engine: Engine, title: str):
    """Script, HTML, Markdown, LaTeX, icons and bidi overrides from a mention (or an error a
    source returned) are shown as plain text on every page, never interpreted."""
    with engine.begin() as conn:
        conn.execute(
            update(CollectorState)
            .where(CollectorState.source == "reddit")
            .values(last_error=HOSTILE_TEXT)
        )
    queries.send_alert_now(engine, seeded.spreading, seeded.now, HOSTILE_AUTHOR)
    path, where = PAGES_WITH_MENTIONS[title]
    at = start(path)
    assert at.title[0].value == title
    protos, tables = shown(at)
    assert not [p for p in protos if "allow_html: true" in p]
    assert not [p for p in protos if BIDI.intersection(p)]
    markdown = texts(at) + "\n".join(h.value for h in [*at.title, *at.subheader])
    assert not re.search(r"(?<!\\)<(script|img|b>)", markdown)  # every "<" is escaped
    assert not [c for c in cells(tables) if BIDI.intersection(c)]
    if where in ("table", "both"):
        assert plain(HOSTILE_TEXT) in cells(tables)
    if where in ("markdown", "both"):
        assert md(HOSTILE_TEXT) in markdown
    if where == "error":
        assert plain(HOSTILE_TEXT) in cells(tables)


def test_no_page_lets_html_through():
    """Mention text reaches the page only through escaped Markdown or table cells."""
    sources = sorted((ROOT / "dashboard").rglob("*.py"))
    assert sources
    assert [p.name for p in sources if "unsafe_allow_html" in p.read_text()] == []
    # Only the weekly report, Vigie's own escaped HTML, sanitised again by st.html (no script).
    assert [p.name for p in sources if "st.html(" in p.read_text()] == ["reports.py"]
