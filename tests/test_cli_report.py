"""``report weekly`` after the demo: the week with data, and a word about it, not zeros."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.mentions import MentionIn
from monitor.storage.db import make_engine, upgrade
from monitor.storage.ingest import store_mentions
from tests.support import ROOT

ARGS = ["--config", str(ROOT / "vigie.example.yaml"), "report", "weekly", "--brand", "Parkeo"]


def _database(tmp_path: Path, moments: list[datetime], monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'vigie.db'}"
    engine = make_engine(url)
    upgrade(engine)
    mentions = [
        MentionIn("demo", f"m{i}", "Parkeo", f"Parkeo fined me, case {i}", moment)
        for i, moment in enumerate(moments)
    ]
    with engine.begin() as conn:
        store_mentions(conn, mentions, moments[-1] if moments else datetime.now(UTC))
    engine.dispose()
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("SMTP_HOST", raising=False)


def test_after_the_demo_the_report_covers_the_week_with_data(tmp_path, monkeypatch, capsys):
    from monitor.cli import main

    now = datetime.now(UTC)
    _database(tmp_path, [now - timedelta(seconds=30 * i) for i in range(1, 6)], monkeypatch)
    main([*ARGS, "--out", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert "has no mention of Parkeo" in captured.err
    assert "the week in progress" in captured.err
    assert (tmp_path / "out" / "report.html").exists()


def test_with_no_data_at_all_the_report_says_so(tmp_path, monkeypatch, capsys):
    from monitor.cli import main

    _database(tmp_path, [], monkeypatch)
    main([*ARGS, "--out", str(tmp_path / "out")])
    assert "no mention of Parkeo is stored yet" in capsys.readouterr().err
