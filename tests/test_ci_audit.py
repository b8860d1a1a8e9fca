"""CI's reading of pip-audit: what was not checked is said, and never reported clean."""

from __future__ import annotations

import importlib.util
import json

from tests.support import ROOT

_spec = importlib.util.spec_from_file_location("audit_report", ROOT / ".ci" / "audit_report.py")
audit = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(audit)

SKIP = {"skip_reason": "Dependency not found on PyPI and could not be audited"}


def _report(*deps: dict) -> tuple[str, int]:
    lines, status = audit.report(json.dumps({"dependencies": list(deps)}))
    return "\n".join(lines), status


def test_a_run_that_checked_nothing_gives_no_all_clear():
    text, status = _report(
        {"name": "a", "version": "1", **SKIP}, {"name": "b", "version": "2", **SKIP}
    )
    assert "NOT CHECKED: 2 of 2" in text and "a, b" in text
    assert "no known vulnerability" not in text and "nothing about them" in text
    assert status == 0


def test_the_all_clear_covers_only_what_was_checked():
    text, status = _report(
        {"name": "a", "version": "1", "vulns": []}, {"name": "b", "version": "2", **SKIP}
    )
    assert "in the 1 package(s) checked (1 not checked, listed above)" in text
    assert "NOT CHECKED: 1 of 2" in text and status == 0


def test_a_fixable_vulnerability_fails_the_build():
    fixable = {"name": "a", "version": "1", "vulns": [{"id": "GHSA-1", "fix_versions": ["1.1"]}]}
    text, status = _report(fixable)
    assert status == 1 and "a 1: GHSA-1 (fixed in 1.1)" in text


def test_no_report_at_all_is_not_checked():
    lines, status = audit.report("")
    assert "NOT CHECKED" in lines[0] and status == 0
