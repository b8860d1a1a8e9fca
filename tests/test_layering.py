"""Imports follow the data (collect -> store -> score -> detect -> alert/report -> show).

Read from the source with ``ast`` (imports inside functions included), so a reverse import fails
here before it drags a later stage's modules, or a client library, into an earlier one.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import ROOT

# (package whose modules are checked, module prefix none of them may import, why)
FORBIDDEN = [
    ("monitor/storage", "monitor.collectors", "storage must not load every source's client"),
    ("monitor", "dashboard", "the monitor runs, and hashes passwords, without the dashboard"),
    ("models", "dashboard", "the models know nothing of the dashboard"),
    ("dashboard", "monitor.alerts.outbox", "the dashboard raises no alert: monitor.alerts does"),
]


def imported(path: Path) -> Iterator[str]:
    """Every absolute module name ``path`` imports, with the names of ``from x import y`` too."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def violations(package: str, prefix: str) -> list[str]:
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for name in imported(path):
            if name == prefix or name.startswith(prefix + "."):
                found.append(f"{path.relative_to(ROOT)} imports {name}")
    return found


@pytest.mark.parametrize(("package", "prefix", "why"), FORBIDDEN)
def test_no_import_against_the_flow(package: str, prefix: str, why: str) -> None:
    assert (ROOT / package).is_dir(), f"{package} moved: update this rule"
    assert violations(package, prefix) == [], why


def test_the_check_sees_imports_inside_functions(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from monitor.collectors import base\n    import os\n")
    assert list(imported(module)) == ["monitor.collectors", "monitor.collectors.base", "os"]
