"""The plugin seam: a source written outside the repository, installed as a package with an
entry point, is collected, listed by ``sources``, validated by ``check`` and shown on the
dashboard; and everything registered is documented."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import apprise
import pytest
import streamlit as st
import yaml
from sqlalchemy import Engine, func, select
from streamlit.testing.v1 import AppTest

from dashboard import context
from monitor.alerts.compose import plain
from monitor.alerts.rules import webhook_key
from monitor.alerts.view import AlertView
from monitor.alerts.webhooks import resolve
from monitor.cli import build_parser, main
from monitor.collectors import build_collectors
from monitor.collectors.credentials import Credentials
from monitor.collectors.runner import collect_once
from monitor.config import Settings, VigieConfig, load_config
from monitor.docs import refresh
from monitor.plugins import registry
from monitor.storage.tables import Mention
from tests.support import ROOT

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
PACKAGE = "vigie_echo"
PLUGIN_CODE = '''
"""A source from outside Vigie: mentions read from a JSON-lines file, one cursor line."""

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from monitor.mentions import Batch, MentionIn
from monitor.plugins import AlertKind, DetectorPlugin, SourcePlugin


class EchoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str
    batch_size: int = Field(2, gt=0)


class EchoCollector:
    source = "echo"

    def __init__(self, brand, options, token):
        self.brand, self.key = brand.name, f"echo:{brand.name}"
        self.options, self.token = options, token

    def collect(self, cursor, now):
        lines = Path(self.options.path).read_text().splitlines()
        done = (cursor or {}).get("line", 0)
        for start in range(done, len(lines), self.options.batch_size):
            chunk = lines[start : start + self.options.batch_size]
            mentions = [self._mention(json.loads(line)) for line in chunk]
            yield Batch(mentions, {"line": start + len(chunk)})

    def _mention(self, item):
        from datetime import datetime

        return MentionIn(
            source="echo", external_id=item["id"], brand=self.brand, text=item["text"],
            created_at=datetime.fromisoformat(item["at"]),
        )


PLUGIN = SourcePlugin(
    name="echo",
    summary="mentions echoed from a JSON-lines file",
    options=EchoOptions,
    build=lambda brand, options, creds: EchoCollector(brand, options, creds.value("ECHO_TOKEN")),
    credentials=("ECHO_TOKEN",),
    example="path: /var/lib/echo.jsonl",
)
ECHO_DETECTOR = DetectorPlugin(
    name="echo-burst",
    summary="a burst of echoes",
    kind="echo_burst",
    alert=AlertKind(
        "Echo burst", reply=None, sentence=lambda details: f"{details['count']} echoes at once."
    ),
)
'''
PYPROJECT = """
[build-system]
requires = ["setuptools"]
build-backend = "setuptools.build_meta"

[project]
name = "vigie-echo"
version = "0.3"

[project.entry-points."vigie.sources"]
echo = "vigie_echo:PLUGIN"

[project.entry-points."vigie.detectors"]
echo-burst = "vigie_echo:ECHO_DETECTOR"

[tool.setuptools]
py-modules = ["vigie_echo"]
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package built and pip-installed (offline) into a directory of its own."""
    root = tmp_path_factory.mktemp("echo")
    source = root / "src"
    source.mkdir()
    (source / "pyproject.toml").write_text(PYPROJECT)
    (source / f"{PACKAGE}.py").write_text(textwrap.dedent(PLUGIN_CODE))
    target = root / "site"
    command = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation"]
    command += ["--no-index", "--quiet", "--target", str(target), str(source)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return target


@pytest.fixture
def echo(installed: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The installed package importable, and the registry discovering it afresh."""
    monkeypatch.syspath_prepend(str(installed))
    registry.cache_clear()
    yield installed
    sys.modules.pop(PACKAGE, None)
    monkeypatch.undo()
    registry.cache_clear()


def _config(tmp_path: Path, **echo_options: object) -> Path:
    feed = tmp_path / "echo.jsonl"
    items = [
        {"id": f"e{i}", "text": f"Parkeo echo {i}", "at": f"2026-03-02T11:0{i}:00+00:00"}
        for i in range(5)
    ]
    feed.write_text("\n".join(json.dumps(item) for item in items))
    raw = {
        "brands": [{"name": "Parkeo", "keywords": ["parkeo"]}],
        "sources": {"echo": {"path": str(feed), **echo_options}},
    }
    path = tmp_path / "vigie.yaml"
    path.write_text(yaml.safe_dump(raw))
    path.chmod(0o640)
    return path


def test_registry_finds_the_installed_package_beside_the_builtins(echo: Path):
    found = registry()
    assert found.sources["echo"].origin == "vigie-echo 0.3"
    assert found.sources["twitter"].origin == "built-in"
    assert found.detectors["echo-burst"].kind == "echo_burst"
    assert not found.broken


def test_the_installed_source_is_collected(echo: Path, engine: Engine, tmp_path: Path):
    config = load_config(_config(tmp_path))
    [collector] = build_collectors(config, credentials=Credentials(ECHO_TOKEN="t0k"))
    assert collect_once(engine, collector, NOW) == 5
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).where(Mention.source == "echo")).scalar()
    assert stored == 5
    assert collect_once(engine, collector, NOW) == 0  # resumed from the committed cursor


def test_sources_lists_it_with_its_state(
    echo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'v.db'}")
    monkeypatch.delenv("ECHO_TOKEN", raising=False)
    main(["--config", str(_config(tmp_path)), "sources"])
    lines = capsys.readouterr().out.splitlines()
    row = next(line for line in lines if line.startswith("echo "))
    assert row.split()[:4] == ["echo", "missing", "credentials", "vigie-echo"]
    assert "ECHO_TOKEN (missing)" in row
    monkeypatch.setenv("ECHO_TOKEN", "t0k")
    main(["--config", str(_config(tmp_path)), "sources"])
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("echo "))
    assert row.split()[1] == "enabled" and "t0k" not in row


def test_check_validates_it_with_its_model_and_names_missing_credentials(
    echo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
):
    monkeypatch.delenv("ECHO_TOKEN", raising=False)
    with pytest.raises(SystemExit) as exited:  # a source that will not run is not "ok"
        main(["--config", str(_config(tmp_path)), "check"])
    assert exited.value.code == 1
    out = capsys.readouterr().out
    assert "warning: sources.echo: enabled but ECHO_TOKEN not set in the environment" in out
    assert out.rstrip().endswith("sources: echo")
    with pytest.raises(SystemExit) as exited:
        main(["--config", str(_config(tmp_path, batch_size=0)), "check"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "sources.echo (brand Parkeo): invalid options" in err
    assert "batch_size: Input should be greater than 0" in err


def test_the_dashboard_shows_it(
    echo: Path, tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("VIGIE_CONFIG", str(_config(tmp_path)))
    monkeypatch.delenv("VIGIE_DASHBOARD_PASSWORD_HASH", raising=False)
    before = st.config.get_option("server.address")
    st.config.set_option("server.address", "localhost")
    try:
        at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=60).run()
        at.switch_page("views/settings.py").run()
        assert not at.exception, at.exception[0].value
        available = at.tabs[4]
        assert available.label == "Available sources"
        frame = available.dataframe[0].value
    finally:
        st.config.set_option("server.address", before)
        context.engine_for.clear()
    row = frame[frame["source"] == "echo"].iloc[0]
    assert (row["state"], row["origin"], row["credentials"]) == (
        "enabled",
        "vigie-echo 0.3",
        "ECHO_TOKEN",
    )
    assert set(frame["source"]) >= {"demo", "twitter", "echo"}


def test_a_detector_plugin_words_its_alerts_without_edits_to_alerting(echo: Path):
    view = AlertView(
        id=1,
        kind="echo_burst",
        brand="Parkeo",
        severity="warning",
        title="Echoes",
        revision=1,
        dedup_key="echo:1",
        created_at=NOW,
        mention_id=None,
        details={"count": 12},
        link="http://localhost:8501",
    )
    text = plain([view])
    assert text.startswith("Echo burst\nEchoes\n\n12 echoes at once.\n")


# --- documentation ---------------------------------------------------------------------------


def _read(*parts: str) -> str:
    return ROOT.joinpath(*parts).read_text(encoding="utf-8")


def test_generated_docs_match_the_registry():
    """README's source table and the example config's sources come from the registry."""
    assert refresh() == [], "run `python -m monitor docs --write`"


def test_every_builtin_plugin_is_documented():
    readme, extending = _read("README.md"), _read("docs", "extending.md")
    example = _read("vigie.example.yaml")
    found = registry()
    for plugin in found.sources.values():
        assert f"| `{plugin.name}` |" in readme
        assert f"`{plugin.name}`" in extending, plugin.name
        assert f"{plugin.name}:" in example, plugin.name
        for variable in plugin.credentials + plugin.optional_credentials:
            assert f"`{variable}`" in readme, variable
    for plugin in (*found.channels.values(), *found.detectors.values()):
        assert f"`{plugin.name}`" in extending, plugin.name


def test_every_command_and_setting_is_documented():
    """Commands in README's table; settings (environment) in README or docs/; the options of
    every source, and every source setting, in the example config."""
    readme = _read("README.md")
    commands = next(a for a in build_parser()._actions if a.dest == "command").choices
    missing = [name for name in commands if f"| `{name}" not in readme]
    assert not missing, f"commands missing from README's table: {missing}"
    docs = readme + "".join(p.read_text(encoding="utf-8") for p in ROOT.glob("docs/*.md"))
    variables = [f.alias for f in Settings.model_fields.values() if f.alias]
    undocumented = [v for v in variables if f"`{v}`" not in docs]
    assert not undocumented, f"settings in neither README.md nor docs/: {undocumented}"
    example = _read("vigie.example.yaml")
    config = VigieConfig.model_json_schema()
    source_settings = config["$defs"]["SourceConfig"]["properties"]
    assert not [key for key in source_settings if key not in example]
    for plugin in registry().sources.values():
        assert not [o for o in plugin.options.model_fields if o not in example], plugin.name


def test_the_documented_slack_and_teams_webhooks_need_no_code(monkeypatch: pytest.MonkeyPatch):
    """docs/extending.md's channel example is a valid config, and apprise takes its URLs."""
    text = _read("docs", "extending.md")
    config = yaml.safe_load(re.search(r"```yaml\n(brands:.*?)```", text, re.DOTALL).group(1))
    brand = VigieConfig.model_validate(config).brands[0]
    for name, url in re.findall(r"export (VIGIE_\w+_URL)='?([^'\n]+)'?", text):
        monkeypatch.setenv(name, url)
    kinds = set()
    for entry in brand.alerts.webhooks:
        client = apprise.Apprise()
        assert client.add(resolve(brand.alerts, webhook_key(entry))), entry
        kinds |= {type(service).__name__ for service in client}
    assert kinds == {"NotifySlack", "NotifyWorkflows"}
