"""The hostile corpus (tests/hostile_corpus.py) through every stage: collection, storage, scoring,
detection, alert emails, the weekly report and the dashboard.

Stored text is the source's text, normalised only as monitor/storage/normalise.py documents (NUL
and lone surrogates become U+FFFD, NFC); wherever it is shown it is inert: no tag, attribute or
link of its own reaches an HTML page or email, and Markdown never interprets it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.policy import default as default_policy
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from streamlit.testing.v1 import AppTest

from dashboard import context
from dashboard.safe import plain
from monitor.clock import ManualClock
from monitor.collectors.health import health
from monitor.config import VigieConfig, load_config
from monitor.mentions import Batch, Engagement, MentionIn
from monitor.reports.period import Week
from monitor.reports.weekly import generate
from monitor.scheduler import Pipeline
from monitor.storage.normalise import MAX_TEXT, clean_text
from monitor.storage.tables import Alert, AlertDelivery, Mention, Sentiment
from tests.alerts_fixtures import SmtpSink
from tests.hostile_corpus import BIDI, BRAND, CORPUS
from tests.support import ROOT
from tests.test_dashboard_app import shown, texts

CONFIG = """
brands:
  - name: Parkeo
    keywords: [parkeo]
    languages: [fr, nl, en]
    alerts:
      recipients: [lead@parkeo.test]
      spreading: {reshares_per_hour: 10, min_reshares: 5, negative_only: false}
      volume: {min_count: 1000}
reports:
  recipients: {Parkeo: [marketing@parkeo.test]}
dashboard_url: https://vigie.example.test
"""
# Tags and attributes the email and report templates use themselves; anything else came from
# a mention.
TEMPLATE_TAGS = {"html", "head", "meta", "title", "style", "body", "div", "span", "p", "a", "b",
                 "strong", "em", "br", "hr", "img", "table", "thead", "tbody", "tr", "td", "th",
                 "h1", "h2", "h3", "ul", "ol", "li", "blockquote", "small", "code", "pre", "col",
                 "colgroup", "caption", "sup", "sub", "center", "font", "header", "footer",
                 "section", "main", "figure", "figcaption", "svg", "path", "g", "rect"}


class CorpusCollector:
    """A source that returns the corpus once, each post reshared fast enough to alert on."""

    source = "corpus"
    key = "corpus:Parkeo"
    brand = BRAND

    def collect(self, cursor: dict[str, Any] | None, now: datetime) -> Iterator[Batch]:
        if cursor:
            return
        created = now - timedelta(minutes=30)
        mentions = [
            MentionIn(source=self.source, external_id=name, brand=BRAND, text=text,
                      author=author, created_at=created, url=f"https://social.test/{name}",
                      engagement=Engagement(observed_at=now, reshares=500, likes=900))
            for name, text, author in CORPUS
        ]
        yield Batch(mentions, {"done": True})


class Markup(HTMLParser):
    """Every tag, attribute and link of an HTML document."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.attrs: set[str] = set()
        self.links: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        for name, value in attrs:
            self.attrs.add(name)
            if name in ("href", "src") and value:
                self.links.append(value)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def assert_inert(page: str) -> Markup:
    markup = Markup()
    markup.feed(page)
    assert markup.tags <= TEMPLATE_TAGS, markup.tags - TEMPLATE_TAGS
    assert not [a for a in markup.attrs if a.startswith("on")]
    assert not [u for u in markup.links if re.match(r"\s*(javascript|vbscript|data:text)", u, re.I)]
    assert not BIDI.intersection("".join(markup.text)), "a bidi override reached the page"
    return markup


@dataclass
class Run:
    engine: Engine
    config: VigieConfig
    sink: SmtpSink
    now: datetime


@pytest.fixture
def now() -> datetime:
    """The wall clock, not the suite's fixed date: the dashboard shows recent mentions only."""
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def run(engine: Engine, tmp_path: Path, now: datetime) -> Iterator[Run]:
    """One scheduler cycle over the corpus with a real SMTP server on loopback."""
    path = tmp_path / "vigie.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    path.chmod(0o600)
    config = load_config(path)
    sink = SmtpSink().start()
    pipeline = Pipeline(engine, config, sink.settings(tmp_path), ManualClock(now),
                        [CorpusCollector()])
    try:
        assert pipeline.cycle() == len(CORPUS)
        yield Run(engine, config, sink, now)
    finally:
        sink.stop()


def test_corpus_is_stored_faithfully_scored_and_alerted_once_each(run: Run):
    with run.engine.connect() as conn:
        rows = {r.external_id: r for r in conn.execute(select(Mention.__table__))}
        scored = conn.execute(select(func.count()).select_from(Sentiment)).scalar_one()
        deliveries = conn.execute(select(AlertDelivery.status)).scalars().all()
        alerts = conn.execute(select(func.count()).select_from(Alert)).scalar_one()
    assert set(rows) == {name for name, _, _ in CORPUS}
    for name, text, author in CORPUS:
        assert rows[name].text == clean_text(text, MAX_TEXT), name
        assert rows[name].author == clean_text(author, 256), name
    assert len(rows["big"].text) > 100_000
    assert "\ufffd" in rows["nul"].text and "\x00" not in rows["nul"].text
    assert scored == len(CORPUS)
    assert [h.status for h in health(run.engine) if h.key == CorpusCollector.key] == ["ok"]
    assert alerts == len(CORPUS) and set(deliveries) == {"sent"}
    assert len(run.sink.recorder.messages) == len(CORPUS)


def _parts(raw: Any) -> tuple[str, str]:
    msg = message_from_bytes(raw.message.as_bytes(), policy=default_policy)
    body = {p.get_content_type(): p.get_content() for p in msg.walk()
            if p.get_content_type() in ("text/plain", "text/html")}
    return body["text/plain"], body["text/html"]


def test_alert_emails_escape_the_corpus(run: Run):
    shown_texts = []
    for received in run.sink.recorder.messages:
        plain_part, html_part = _parts(received)
        markup = assert_inert(html_part)
        shown_texts.append("".join(markup.text))
        assert "<script>" not in html_part and "<img src=x" not in html_part
        assert "\x00" not in plain_part
    assert len(shown_texts) == len(CORPUS)
    shown_text = "\n".join(shown_texts)
    assert "<script>alert(document.cookie)</script>" in shown_text  # shown, as text
    assert "Robert'); DROP TABLE users;--" in shown_text


def test_weekly_report_escapes_the_corpus(run: Run, tmp_path: Path):
    week = Week.containing(run.now, run.config.reports.zone)
    report = generate(run.engine, run.config, BRAND, week, tmp_path / "report", run.now)
    page = (report.directory / "report.html").read_text(encoding="utf-8")
    assert_inert(page)
    # Escaped, a hostile author still reads "&lt;img src=x onerror=alert(1)&gt;": what must never
    # appear is the tag itself (assert_inert also parses every attribute).
    assert "<script>alert" not in page and "<img src=x" not in page
    csv = (report.directory / "data.csv").read_text(encoding="utf-8")
    assert "\n=HYPERLINK" not in csv and ",=HYPERLINK" not in csv


@pytest.fixture
def dashboard_on(run: Run, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import streamlit as st

    before = st.config.get_option("server.address")
    st.config.set_option("server.address", "localhost")
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("VIGIE_CONFIG", str(tmp_path / "vigie.yaml"))
    monkeypatch.delenv("VIGIE_DASHBOARD_PASSWORD_HASH", raising=False)
    yield
    st.config.set_option("server.address", before)
    context.engine_for.clear()


@pytest.mark.parametrize("page", [None, "views/spreading.py", "views/inbox.py"])
def test_dashboard_shows_the_corpus_as_text(run: Run, dashboard_on: None, page: str | None):
    at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=120).run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, at.exception[0].value
    protos, tables = shown(at)
    assert not [p for p in protos if "allow_html: true" in p]
    assert not [p for p in protos if BIDI.intersection(p)]
    markdown = texts(at)
    assert not re.search(r"(?<!\\)<(script|img|iframe|svg)", markdown)
    assert not re.search(r"(?<!\\)\]\(javascript", markdown)
    cells = {v for t in tables for c in t.columns for v in t[c].tolist() if isinstance(v, str)}
    if page is None:  # the live feed shows every mention, as data
        expected = {plain(clean_text(text, MAX_TEXT)) for _, text, _ in CORPUS}
        assert expected <= cells or expected <= {plain(c) for c in cells}
