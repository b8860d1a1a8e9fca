"""`check` and `run` agree: what `check` accepts, `run` can compute with. Every number has
bounds, and a bad file (a number past them, an unknown source, a binary file) is one clear
message and exit 2 from both, never a traceback or a cycle that fails silently."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.cli import main

BRAND = "brands:\n  - name: Parkeo\n    keywords: [parkeo]\n"
BAD = {
    "interval 1e400": (BRAND + "sources:\n  demo: {interval_seconds: 1e400}\n", "interval_seconds"),
    "interval .nan": (BRAND + "sources:\n  demo: {interval_seconds: .nan}\n", "interval_seconds"),
    "jitter 1e30": (BRAND + "sources:\n  demo: {jitter_seconds: 1.0e+30}\n", "jitter_seconds"),
    "window 1e20": (
        BRAND + "    alerts: {volume: {window_minutes: 1.0e+20}}\nsources:\n  demo: {}\n",
        "window_minutes",
    ),
    "incident window": (
        BRAND + "    alerts: {incidents: {window_minutes: 99999999}}\nsources:\n  demo: {}\n",
        "window_minutes",
    ),
    "unknown source": (BRAND + "sources:\n  nosuch: {}\n", "unknown source"),
}


def _run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exited:
        main(args)
    err = capsys.readouterr().err
    return int(exited.value.code), err[err.find("vigie:") :]  # log lines before it aside


def _file(tmp_path: Path, body: bytes) -> Path:
    path = tmp_path / "vigie.yaml"
    path.write_bytes(body)
    path.chmod(0o600)
    return path


@pytest.mark.parametrize("case", sorted(BAD))
def test_check_and_run_refuse_the_same_file_the_same_way(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("VIGIE_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    body, key = BAD[case]
    config = str(_file(tmp_path, body.encode()))
    check = _run_cli(["--config", config, "check"], capsys)
    run = _run_cli(["--config", config, "run", "--once"], capsys)
    assert check == run
    code, message = check
    assert code == 2 and key in message and "Traceback" not in message
    assert not (tmp_path / "var" / "vigie.db").exists()  # refused before touching a database


def test_a_binary_file_is_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    config = str(_file(tmp_path, b"\x7fELF\x02\x01\x01\x00" + bytes(range(256))))
    code, message = _run_cli(["--config", config, "check"], capsys)
    assert code == 2 and "not a UTF-8 text file" in message and "Traceback" not in message


def test_the_bounds_leave_room_for_real_settings(tmp_path: Path, capsys):
    body = BRAND + (
        "    alerts: {volume: {window_minutes: 1440, baseline_hours: 2160}}\n"
        "sources:\n  demo: {interval_seconds: 86400, jitter_seconds: 600}\n"
    )
    main(["--config", str(_file(tmp_path, body.encode())), "check"])
    assert capsys.readouterr().out.startswith("ok:")
