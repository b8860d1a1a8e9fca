"""Edits to vigie.yaml from the settings page, validated by the same models as at start-up.

Only the keys a person changed are written into the file's own structure, so defaults stay
implicit. The old file is kept as ``<name>.bak`` and the new one replaces it atomically, so a
crash never leaves half a config. The shipped example is never overwritten: edits to it are saved
as ``vigie.yaml`` in the working directory, the file the monitor reads first.
"""

from __future__ import annotations

import copy
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from monitor.config import EXAMPLE_CONFIG, VigieConfig

HEADER = (
    "# Vigie configuration (saved from the dashboard; the previous version is in {backup}).\n"
    "# Secrets never go here: they come from environment variables.\n"
)


class _Dumper(yaml.SafeDumper):
    """Writes repeated lists in full instead of YAML anchors, which people find puzzling."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


@dataclass(frozen=True, slots=True)
class BrandEdit:
    """The fields of one brand the settings page can change."""

    keywords: list[str]
    handles: list[str]
    exclusions: list[str]
    languages: list[str]
    competitors: list[str]
    recipients: list[str]
    spreading: dict[str, Any] = field(default_factory=dict)
    volume: dict[str, Any] = field(default_factory=dict)


def read_raw(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def apply(
    raw: dict[str, Any], brand: str, edit: BrandEdit, sla_minutes: int | None
) -> dict[str, Any]:
    """A copy of ``raw`` with the edit applied (nothing else touched)."""
    updated = copy.deepcopy(raw)
    entry = next(b for b in updated["brands"] if b.get("name") == brand)
    for name in ("keywords", "handles", "exclusions", "languages", "competitors"):
        entry[name] = getattr(edit, name)
    alerts = entry.setdefault("alerts", {}) or {}
    entry["alerts"] = alerts
    alerts["recipients"] = edit.recipients
    alerts["spreading"] = {**(alerts.get("spreading") or {}), **edit.spreading}
    alerts["volume"] = {**(alerts.get("volume") or {}), **edit.volume}
    if sla_minutes is not None:
        reports = updated.get("reports") or {}
        updated["reports"] = {**reports, "sla_minutes": sla_minutes}
    return updated


def validate(raw: dict[str, Any]) -> list[str]:
    """Problems with the edited config, each naming its key; empty when it is valid."""
    try:
        VigieConfig.model_validate(raw)
    except ValidationError as exc:
        return [
            f"{'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}"
            for err in exc.errors()
        ]
    return []


def target_for(path: Path) -> Path:
    """Where edits of ``path`` are saved: the file itself, unless it is the shipped example."""
    return Path("vigie.yaml").resolve() if path.resolve() == EXAMPLE_CONFIG else path


def save(path: Path, raw: dict[str, Any]) -> Path:
    """Write ``raw`` to the config at ``path`` (or its stand-in); returns the file written."""
    problems = validate(raw)
    if problems:
        raise ValueError("; ".join(problems))
    target = target_for(path)
    backup = target.with_name(target.name + ".bak")
    if target.exists():
        shutil.copy2(target, backup)
    body = HEADER.format(backup=backup.name) + yaml.dump(
        raw, Dumper=_Dumper, sort_keys=False, allow_unicode=True
    )
    mode = target.stat().st_mode & 0o777 if target.exists() else 0o640
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(body)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
