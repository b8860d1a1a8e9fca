"""Dashboard hardening seen through Streamlit's AppTest: typed input is cleaned before it reaches
the database (a NUL on PostgreSQL used to put the SQL and a traceback in the page), the weekly
report is shown sanitised rather than in a script-running iframe, and the server settings that
close the doors a client could open (uploads, error details, session lifetime)."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from monitor.reports import registry
from monitor.storage.tables import Response
from tests.dashboard_seed import Seeded, seed
from tests.support import ROOT
from tests.test_dashboard_app import Start, local_server, start  # noqa: F401 (fixtures)

STREAMLIT_CONFIG = ROOT / "dashboard" / ".streamlit" / "config.toml"


@pytest.fixture
def seeded(engine: Engine) -> Seeded:
    return seed(engine)


def _walk(node: object) -> list[object]:
    children = list(getattr(node, "children", {}).values())
    return children + [grand for child in children for grand in _walk(child)]


@pytest.mark.parametrize("typed", ["\x00", "off\x00ice", "\x1b]0;x\x07", "a" * 10_000])
def test_hostile_search_text_shows_no_error(start: Start, seeded: Seeded, typed: str):  # noqa: F811
    at = start()
    at.text_input(key="live-search").input(typed).run()
    assert not at.exception, at.exception[0].value
    assert at.dataframe or at.info  # the page still rendered: a table, or "nothing matches"


def test_an_assignee_with_control_characters_is_stored_clean(
    start: Start,  # noqa: F811
    seeded: Seeded,
    engine: Engine,
):
    at = start("views/spreading.py")
    key = f"spread-{seeded.spreading}"
    at.text_input(key=f"{key}-assignee").input("Ana\x00\u202e\x1b[31m")
    at.button(key=f"{key}-assign").click().run()
    assert not at.exception, at.exception[0].value
    with engine.connect() as conn:
        assignee = conn.execute(
            select(Response.assignee).where(Response.mention_id == seeded.spreading)
        ).scalar_one()
    assert assignee == "Ana[31m"


def test_the_report_is_shown_sanitised_not_in_a_scripted_iframe(
    start: Start,  # noqa: F811
    seeded: Seeded,
    engine: Engine,
    tmp_path: Path,
):
    folder = tmp_path / "report"
    folder.mkdir()
    (folder / "report.html").write_text(
        "<html><body><h2>Week 47</h2><script>window.pwned = 1</script></body></html>"
    )
    registry.record(engine, "Parkeo", "2026-W47", str(folder), {}, datetime.now(UTC))
    at = start("views/reports.py")
    types = _walk(at.main)
    kinds = {getattr(node, "type", None) for node in types}
    assert "html" in kinds  # st.html: sanitised by DOMPurify in the browser, no script runs
    assert not kinds & {"iframe", "components_html"}, kinds


def test_server_settings_close_what_a_client_could_open():
    server = tomllib.loads(STREAMLIT_CONFIG.read_text())
    assert server["server"]["maxUploadSize"] == 0
    assert server["server"]["disconnectedSessionTTL"] <= 60
    assert server["client"]["showErrorDetails"] == "none"
    assert "font" not in server.get("theme", {})  # no font from a third-party host
