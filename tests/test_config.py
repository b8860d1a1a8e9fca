"""Config validation: a bad file gets a message naming the key, not a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from monitor.config import ConfigError, Settings, load_config
from tests.support import ROOT


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "vigie.yaml"
    path.write_text(body, encoding="utf-8")
    path.chmod(0o600)
    return path


def test_example_config_is_valid(config):
    assert config.brand_names == ["Parkeo"]
    assert config.brand("parkeo").matches("Fined again by @Parkeo!")
    assert not config.brand("Parkeo").matches("Playing the Parkeo game tonight")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("brands: []", "brands: List should have at least 1 item"),
        ("brands:\n  - keywords: [x]", "brands.0.name: Field required"),
        ("brands:\n  - name: A\n    alerts:\n      recipients: [nobody]", "not an email address"),
        ("brands:\n  - name: A\n    colour: blue", "brands.0.colour: Extra inputs"),
        ("brands:\n  - name: A\n  - name: a", "brand names must be unique"),
        ("brands: [", "not valid YAML"),
        ("- just a list", "top level must be a mapping"),
    ],
)
def test_bad_config_names_the_key(tmp_path, body, expected):
    with pytest.raises(ConfigError, match=expected):
        load_config(_write(tmp_path, body))


def test_cli_reports_config_errors_without_traceback(tmp_path):
    path = _write(tmp_path, "brands:\n  - name: A\n    alerts:\n      volume:\n        factor: 0.5")
    proc = subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(path), "check"],
        capture_output=True, text=True, cwd=ROOT, check=False,
    )
    assert proc.returncode == 2
    assert "brands.0.alerts.volume.factor" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_database_defaults_to_sqlite_in_data_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("VIGIE_DATA_DIR", str(tmp_path))
    assert Settings().db_url == f"sqlite:///{tmp_path / 'vigie.db'}"
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:secret@db/vigie")
    assert Settings().db_url == "postgresql://u:secret@db/vigie"
