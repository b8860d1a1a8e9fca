"""The dashboard's small parts: escaping, CSV, topics, passwords, config edits."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from dashboard import config_edit, topics
from dashboard.auth import is_local
from dashboard.safe import csv_bytes, md
from monitor.config import EXAMPLE_CONFIG, load_config
from monitor.passwords import PasswordHash, hash_password
from tests.support import ROOT


@pytest.mark.parametrize("char", list("\\`*_{}[]()#+-.!|<>~:$=&"))
def test_markdown_specials_are_escaped(char: str):
    assert md(f"a{char}b") == f"a\\{char}b"


def test_markdown_keeps_hostile_text_literal():
    text = "**bold** [x](javascript:alert(1)) <img src=x onerror=alert(1)> :red[fake]\n# title"
    escaped = md(text)
    assert "\\*\\*bold\\*\\*" in escaped
    assert "\\[x\\]\\(javascript\\:alert\\(1\\)\\)" in escaped
    assert "\\<img" in escaped and "\\:red\\[fake\\]" in escaped
    assert escaped.endswith("  \n\\# title")
    assert md(None) == ""


def test_csv_cells_cannot_start_formulas():
    frame = pd.DataFrame(
        {"text": ["=HYPERLINK(1)", "+1", "-2", "@cmd", "fine", None], "n": range(6)}
    )
    lines = csv_bytes(frame).decode().splitlines()
    assert lines[1:5] == ["'=HYPERLINK(1),0", "'+1,1", "'-2,2", "'@cmd,3"]
    assert lines[5:] == ["fine,4", ",5"]


def test_topics_find_what_many_mentions_share():
    texts = [f"Parkeo wrongful fine although my subscription is paid #{i}" for i in range(6)]
    texts += [f"amende injustifiée abonnement payé numéro {i}" for i in range(5)]
    texts += [f"the app works fine, thanks {i}" for i in range(3)]
    texts += [f"nothing in common here {i} {w}" for i, w in enumerate("abcdefghijklmn")]
    labels = ["negative"] * 11 + ["positive"] * 3 + ["neutral"] * 14
    found = topics.top_topics(texts, labels, ignore=["Parkeo", "@Parkeo"], limit=8)
    rows = dict(zip(found["topic"], found["mentions"], strict=True))
    assert rows["wrongful fine"] == 6
    assert rows["amende injustifiée"] == 5
    assert "wrongful" not in rows  # covered by the pair
    assert "parkeo" not in rows and "the" not in rows and "here" not in rows
    negative = dict(zip(found["topic"], found["negative_share"], strict=True))
    assert negative["wrongful fine"] == 1.0
    assert topics.top_topics([], [], ignore=[]).empty


def test_topics_are_content_words_and_app_and_appli_are_one():
    texts = [f"Parkeo app crashed again, order {i}" for i in range(3)]
    texts += [f"l'appli plante encore, commande {i}" for i in range(3)]
    texts += [f"unrelated words here {w}" for w in "abcdefgh"]
    languages = ["en"] * 3 + ["fr"] * 3 + ["en"] * 8
    found = topics.top_topics(texts, ["negative"] * 14, ["Parkeo"], languages=languages)
    rows = dict(zip(found["topic"], found["mentions"], strict=True))
    assert rows["app / appli"] == 6  # one term, whatever the language
    assert not {"again", "encore", "here", "parkeo"} & set(" ".join(rows).split())


def test_password_hash_round_trip():
    encoded = hash_password("correct horse battery")
    assert ":" in encoded and "$" not in encoded
    stored = PasswordHash.parse(encoded)
    assert stored.matches("correct horse battery")
    assert not stored.matches("correct horse battery ")
    assert hash_password("correct horse battery") != encoded  # salted
    with pytest.raises(ValueError, match="at least 8"):
        hash_password("short")


@pytest.mark.parametrize(
    "bad", ["hunter2", "bcrypt:1:2:3:a:b", "scrypt:1000:8:1:c2FsdA:aGFzaA", "scrypt:x:8:1:a:b"]
)
def test_malformed_hashes_are_refused(bad: str):
    with pytest.raises(ValueError, match="VIGIE_DASHBOARD_PASSWORD_HASH"):
        PasswordHash.parse(bad)


def test_hash_password_command_prints_a_usable_hash():
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "hash-password"],
        input="a long passphrase\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    assert "a long passphrase" not in done.stdout + done.stderr
    assert PasswordHash.parse(done.stdout.strip()).matches("a long passphrase")


@pytest.mark.parametrize(
    ("address", "local"),
    [("localhost", True), ("127.0.0.1", True), ("[::1]", True), ("", False), ("0.0.0.0", False)],
)
def test_only_loopback_counts_as_local(address: str, local: bool):
    assert is_local(address) is local


def _edit(**changes) -> config_edit.BrandEdit:
    base = {
        "keywords": ["parkeo"],
        "handles": ["@Parkeo"],
        "exclusions": [],
        "languages": ["fr"],
        "competitors": ["StreetPay"],
        "recipients": ["lead@example.com"],
        "spreading": {"min_reshares": 5},
        "volume": {"factor": 4.0},
    }
    return config_edit.BrandEdit(**{**base, **changes})


def test_config_edit_touches_only_what_changed(tmp_path: Path):
    raw = config_edit.read_raw(EXAMPLE_CONFIG)
    edited = config_edit.apply(raw, "Parkeo", _edit(), sla_minutes=30)
    assert raw == config_edit.read_raw(EXAMPLE_CONFIG)  # the original is untouched
    parkeo = edited["brands"][0]
    assert parkeo["alerts"]["spreading"] == {
        **raw["brands"][0]["alerts"]["spreading"],
        "min_reshares": 5,
    }
    assert parkeo["alerts"]["volume"]["factor"] == 4.0
    assert parkeo["alerts"]["volume"]["window_minutes"] == 10
    assert edited["sources"] == raw["sources"]
    assert edited["reports"]["sla_minutes"] == 30
    assert config_edit.validate(edited) == []
    problems = config_edit.validate(
        config_edit.apply(raw, "Parkeo", _edit(languages=[], volume={"factor": 0.5}), None)
    )
    assert problems == ["brands.0.alerts.volume.factor: Input should be greater than 1"]


def test_config_save_keeps_a_backup_and_the_file_mode(tmp_path: Path):
    path = tmp_path / "vigie.yaml"
    path.write_text(EXAMPLE_CONFIG.read_text())
    path.chmod(0o600)
    raw = config_edit.apply(config_edit.read_raw(path), "Parkeo", _edit(), sla_minutes=None)
    assert config_edit.save(path, raw) == path
    assert (tmp_path / "vigie.yaml.bak").read_text() == EXAMPLE_CONFIG.read_text()
    assert path.stat().st_mode & 0o777 == 0o600
    reloaded = load_config(path)
    assert reloaded.brand("Parkeo").alerts.spreading.min_reshares == 5
    assert "&" not in path.read_text()  # no YAML anchors
    with pytest.raises(ValueError, match="recipients"):
        config_edit.save(path, config_edit.apply(raw, "Parkeo", _edit(recipients=["x"]), None))
    assert yaml.safe_load(path.read_text()) == raw


def test_the_shipped_example_is_never_overwritten(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    before = EXAMPLE_CONFIG.read_text()
    raw = config_edit.apply(config_edit.read_raw(EXAMPLE_CONFIG), "Parkeo", _edit(), None)
    written = config_edit.save(EXAMPLE_CONFIG, raw)
    assert written == tmp_path / "vigie.yaml"
    assert EXAMPLE_CONFIG.read_text() == before
    assert load_config(written).brand("Parkeo").competitors == ["StreetPay"]
