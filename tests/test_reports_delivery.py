"""The weekly report as files, e-mail, scheduled job, CLI command and dashboard page.

One fortnight is seeded once into a SQLite file (``tests.test_reports.seed``) and its report
generated once; tests that change the reports index work on a copy of that file.
"""

from __future__ import annotations

import csv
import email
import io
import shutil
import socket
import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import Engine, func, select

from monitor.clock import ManualClock
from monitor.config import Settings, VigieConfig, load_config
from monitor.reports import html, registry
from monitor.reports.period import Week
from monitor.reports.weekly import GeneratedReport, deliver, generate, send_due_reports
from monitor.scheduler import Pipeline, build_schedule
from monitor.storage.db import make_engine, upgrade
from monitor.storage.tables import Mention, Report
from tests.support import ROOT
from tests.test_reports import (
    BRAND,
    HOSTILE_AUTHOR,
    HOSTILE_TEXT,
    NOW,
    W47_END,
    W47_START,
    ZONE,
    seed,
)

ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
RECIPIENTS = ["marketing@example.com", "cmo@example.com"]


class Inbox:
    """aiosmtpd handler keeping every envelope it accepts."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 OK"

    def messages(self) -> list[EmailMessage]:
        return [
            email.message_from_bytes(e.content, _class=EmailMessage, policy=email.policy.default)
            for e in self.envelopes
        ]


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield inbox, controller.port
    controller.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _config() -> VigieConfig:
    config = load_config(ROOT / "vigie.example.yaml")
    reports = config.reports.model_copy(
        update={"timezone": "Europe/Brussels", "recipients": {BRAND: RECIPIENTS}}
    )
    return config.model_copy(update={"reports": reports})


def _settings(monkeypatch: pytest.MonkeyPatch, data_dir: Path, port: int | None) -> Settings:
    monkeypatch.setenv("VIGIE_DATA_DIR", str(data_dir))
    if port is None:
        monkeypatch.delenv("SMTP_HOST", raising=False)
    else:
        monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("SMTP_PORT", str(port))
        monkeypatch.setenv("SMTP_SECURITY", "none")
    return Settings()


@pytest.fixture(scope="module")
def seeded_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("reports") / "seeded.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    seed(engine)
    engine.dispose()  # checkpoints the WAL, so the file can be copied alone
    return path


@pytest.fixture(scope="module")
def module_engine(seeded_db: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{seeded_db}")
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def report(module_engine: Engine, seeded_db: Path) -> GeneratedReport:
    week = Week.parse("2026-W47", ZONE)
    return generate(module_engine, _config(), BRAND, week, seeded_db.parent / "out", NOW)


@pytest.fixture
def copy_engine(seeded_db: Path, tmp_path: Path) -> Iterator[Engine]:
    """A private copy of the seeded database, for tests that change the reports index."""
    copy = tmp_path / "copy.db"
    shutil.copy(seeded_db, copy)
    engine = make_engine(f"sqlite:///{copy}")
    yield engine
    engine.dispose()


def test_pdf_has_one_page_per_section(report: GeneratedReport):
    reader = PdfReader(report.files["report.pdf"])
    texts = [page.extract_text() for page in reader.pages]
    assert len(texts) == 4
    assert "Parkeo · week 47, 2026" in texts[0] and "Net sentiment" in texts[0]
    assert "Audience" in texts[1] and "Share of voice" in texts[1]
    assert "StreetPay" in texts[1] and "Mentions by language" in texts[1]
    assert "Topics" in texts[2] and "Response performance" in texts[2]
    assert "Most engaged mentions" in texts[3] and "Negative" in texts[3]
    assert all(f"Page {n} of 4" in t for n, t in enumerate(texts, 1))
    assert reader.metadata.title == "Parkeo weekly trends 2026-W47"
    assert len(reader.pages[0].images) >= 2  # the two volume charts


def test_csv_holds_the_numbers(report: GeneratedReport, module_engine: Engine):
    rows = list(csv.DictReader(io.StringIO(report.files["data.csv"].read_text("utf-8"))))
    with module_engine.connect() as conn:
        mentions = conn.execute(
            select(func.count()).where(
                Mention.brand == BRAND,
                Mention.created_at >= W47_START,
                Mention.created_at < W47_END,
            )
        ).scalar_one()
    volume = {
        r["week"]: int(r["value"])
        for r in rows
        if (r["section"], r["metric"]) == ("volume", "mentions")
    }
    assert len(volume) == 12 and volume["2026-W47"] == mentions
    daily = [int(r["value"]) for r in rows if r["section"] == "daily" and r["week"] == "2026-W47"]
    assert sum(daily) == mentions and len(daily) == 7
    metrics = {(r["section"], r["metric"]) for r in rows}
    assert {("responses", "median_first_response_minutes"), ("topic", "complaints")} <= metrics
    assert not any(v.startswith(("=", "+", "@")) for r in rows for v in r.values() if v)


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: set[str] = set()
        self.hrefs: list[str] = []
        self.srcs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        for name, value in attrs:
            self.attributes.add(name)
            if name == "href":
                self.hrefs.append(value or "")
            if name == "src":
                self.srcs.append(value or "")


def test_hostile_mention_text_is_escaped_in_the_html(report: GeneratedReport):
    page = report.files["report.html"].read_text("utf-8")
    assert "&lt;script&gt;alert(&#x27;pwned&#x27;)&lt;/script&gt;" in page
    assert "&lt;b onmouseover=alert(2)&gt;mallory&lt;/b&gt;" in page
    assert "Fined &lt;despite&gt; a paid subscription" in page
    assert "<script" not in page and "<img src=x" not in page
    assert "javascript:" not in page
    parsed = _Tags()
    parsed.feed(page)
    assert parsed.tags <= {
        "html",
        "head",
        "meta",
        "title",
        "body",
        "table",
        "tr",
        "td",
        "th",
        "h1",
        "h2",
        "div",
        "span",
        "strong",
        "img",
        "a",
        "p",
    }
    assert not {a for a in parsed.attributes if a.startswith("on")}
    assert all(h.startswith("https://") for h in parsed.hrefs)
    assert parsed.srcs and all(s.startswith("data:image/png;base64,") for s in parsed.srcs)
    assert HOSTILE_TEXT not in page and HOSTILE_AUTHOR not in page


@pytest.mark.parametrize(
    ("dashboard_url", "link"),
    [
        ("https://vigie.example.com/", "https://vigie.example.com/reports"),
        ("http://intranet.example:8501", "http://intranet.example:8501/reports"),
        ("http://localhost:8501", None),  # would open the reader's own machine
        ("http://127.0.0.1:8501", None),
        ("javascript:alert(1)//", None),
        ("https://admin:secret@vigie.example.com", None),  # accepted before safe_url was one
        ("http://[vigie.example", None),  # raised ValueError before
    ],
)
def test_the_report_links_the_dashboard_only_where_readers_can_reach_it(
    dashboard_url: str, link: str | None
):
    assert html.reports_link(dashboard_url) == link


def test_email_arrives_with_inline_images_and_attachments(
    report: GeneratedReport,
    module_engine: Engine,
    smtp: tuple[Inbox, int],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
):
    inbox, port = smtp
    settings = _settings(monkeypatch, tmp_path, port)
    delivery = deliver(module_engine, report, _config(), settings, NOW)
    assert delivery.eml is None and delivery.recipients == RECIPIENTS
    assert sorted(r for e in inbox.envelopes for r in e.rcpt_tos) == sorted(RECIPIENTS)
    msg = inbox.messages()[0]
    assert "Parkeo weekly trends, week 47" in msg["Subject"]
    html_part = msg.get_body(("html",))
    cids = {src[4:] for src in _srcs(html_part.get_content())}
    images = {
        part["Content-ID"].strip("<>"): part.get_content()
        for part in msg.walk()
        if part.get_content_type() == "image/png"
    }
    assert cids and cids == set(images)
    assert all(png.startswith(b"\x89PNG") for png in images.values())
    assert msg.get_body(("plain",)).get_content().startswith("Parkeo: weekly trends")
    attachments = {p.get_filename(): p.get_content_type() for p in msg.iter_attachments()}
    assert attachments == {
        "Parkeo-2026-W47.pdf": "application/pdf",
        "Parkeo-2026-W47.csv": "text/csv",
    }
    (entry,) = registry.entries(module_engine, BRAND)
    assert entry.sent_at == NOW and entry.sent_to == ", ".join(RECIPIENTS)


def _srcs(page: str) -> list[str]:
    parsed = _Tags()
    parsed.feed(page)
    return parsed.srcs


def test_without_smtp_the_email_is_written_beside_the_report(
    report: GeneratedReport, copy_engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    settings = _settings(monkeypatch, tmp_path, None)
    delivery = deliver(copy_engine, report, _config(), settings, NOW)
    assert delivery.eml == report.directory / "report.eml"
    msg = email.message_from_bytes(
        delivery.eml.read_bytes(), _class=EmailMessage, policy=email.policy.default
    )
    assert msg["X-Vigie-Report"] == "weekly; brand=Parkeo; week=2026-W47"
    assert msg["To"] == ", ".join(RECIPIENTS)


def _sent(engine: Engine) -> list[tuple[str, datetime | None, int]]:
    with engine.connect() as conn:
        return conn.execute(
            select(Report.week, Report.sent_at, Report.attempts).order_by(Report.week)
        ).all()


def test_the_scheduler_sends_each_due_report_once(
    copy_engine: Engine, smtp: tuple[Inbox, int], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    inbox, port = smtp
    config = _config()
    settings = _settings(monkeypatch, tmp_path, port)
    monday = datetime(2026, 11, 23, 7, 30, tzinfo=ZONE)
    pipeline = Pipeline(copy_engine, config, settings, ManualClock(monday))
    assert any("reports" in job.tags for job in build_schedule(pipeline, 60).jobs)

    assert pipeline.reports() == 1  # before 08:00: last week's report, missed, goes out late
    assert [w for w, _, _ in _sent(copy_engine)] == ["2026-W46"]
    pipeline.clock.advance(timedelta(minutes=35))  # 08:05, week 47 is due
    assert pipeline.reports() == 1
    assert pipeline.reports() == 0
    pipeline.clock.advance(timedelta(hours=5))
    assert pipeline.reports() == 0
    subjects = [m["Subject"] for m in inbox.messages()]
    assert len(subjects) == 2 * len(RECIPIENTS)
    assert sum("week 47" in s for s in subjects) == len(RECIPIENTS)
    assert (tmp_path / "reports" / "Parkeo" / "2026-W47" / "report.pdf").is_file()


def test_a_failed_send_is_retried_after_a_backoff(
    copy_engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    config = _config()
    closed = _free_port()  # nothing listens there
    now = datetime(2026, 11, 23, 9, 0, tzinfo=ZONE)
    assert send_due_reports(copy_engine, config, _settings(monkeypatch, tmp_path, closed), now) == 0
    ((week, sent_at, attempts),) = _sent(copy_engine)
    assert (week, sent_at, attempts) == ("2026-W47", None, 1)
    with copy_engine.connect() as conn:
        error, retry_at = conn.execute(select(Report.last_error, Report.next_attempt_at)).one()
    assert "refused" in error.lower() or "connect" in error.lower()
    assert retry_at == now + timedelta(minutes=5)
    # During the backoff nothing is tried.
    soon = now + timedelta(minutes=2)
    assert send_due_reports(copy_engine, config, Settings(), soon) == 0
    assert _sent(copy_engine)[0][2] == 1

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        settings = _settings(monkeypatch, tmp_path, controller.port)
        later = now + timedelta(minutes=6)
        assert send_due_reports(copy_engine, config, settings, later) == 1
    finally:
        controller.stop()
    assert len(inbox.envelopes) == len(RECIPIENTS)
    assert _sent(copy_engine)[0][1:] == (now + timedelta(minutes=6), 2)


def test_cli_writes_the_three_files(
    seeded_db: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
):
    from monitor.cli import main

    copy = tmp_path / "cli.db"
    shutil.copy(seeded_db, copy)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{copy}")
    monkeypatch.delenv("SMTP_HOST", raising=False)
    out = tmp_path / "out"
    args = ["--config", str(ROOT / "vigie.example.yaml"), "report", "weekly", "--brand"]
    main([*args, "parkeo", "--week", "2026-W47", "--out", str(out), "--send"])
    printed = capsys.readouterr().out.splitlines()
    assert printed[:3] == [str(out / n) for n in ("report.html", "report.pdf", "data.csv")]
    assert printed[3].endswith(str(out / "report.eml"))
    assert all((out / n).stat().st_size > 1000 for n in ("report.html", "report.pdf", "data.csv"))
    with pytest.raises(SystemExit, match="no week 54"):
        main([*args, "Parkeo", "--week", "2026-W54"])


def test_dashboard_page_lists_and_offers_the_report(
    report: GeneratedReport, seeded_db: Path, monkeypatch: pytest.MonkeyPatch
):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{seeded_db}")
    monkeypatch.setenv("VIGIE_CONFIG", str(ROOT / "vigie.example.yaml"))
    app = AppTest.from_file(str(ROOT / "dashboard" / "views" / "reports.py"), default_timeout=60)
    app.run()
    assert not app.exception
    assert app.title[0].value == "Reports"
    listing = app.dataframe[0].value
    assert list(listing["Week"]) == ["2026-W47"]
    assert int(listing["Mentions"][0]) == report.figures.current.mentions
    labels = [b.proto.label for b in app.get("download_button")]
    assert labels == ["Download PDF", "Download HTML", "Download CSV (numbers)"]


@pytest.mark.browser
def test_report_renders_in_headless_chromium(report: GeneratedReport):
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent (Debian package chromium)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "weekly-report.png"
    shot.unlink(missing_ok=True)
    subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=760,3400",
            f"--screenshot={shot}",
            report.files["report.html"].resolve().as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    image = Image.open(shot).convert("RGB")
    assert image.size == (760, 3400)
    header = image.crop((60, 40, 700, 120))  # the dark title band was painted
    assert min(sum(px) for px in header.get_flattened_data()) < 150
    assert len(image.getcolors(maxcolors=1 << 20)) > 500  # charts, not a blank page
