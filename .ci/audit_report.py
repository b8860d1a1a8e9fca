"""Read pip-audit's JSON report and say what it found, and what it could not check.

Known vulnerabilities with a fix available fail the build (exit 1). Packages pip-audit could not
look up (no access to the vulnerability database, a package it does not know) are listed by
name and never counted as clean: an all-clear is printed only for the packages that were
checked, and a run that checked nothing says so instead.

    python .ci/audit_report.py REPORT.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def report(raw: str) -> tuple[list[str], int]:
    """The lines to print and the exit status."""
    try:
        deps = json.loads(raw)["dependencies"]
    except (ValueError, KeyError, TypeError):
        return ["pip-audit: NOT CHECKED: pip-audit produced no report (see its error above)"], 0
    fixable = [
        f"  {d['name']} {d['version']}: {v['id']} (fixed in {', '.join(v['fix_versions'])})"
        for d in deps
        for v in d.get("vulns", [])
        if v.get("fix_versions")
    ]
    skipped = sorted(d["name"] for d in deps if "skip_reason" in d)
    checked = len(deps) - len(skipped)
    lines = []
    if skipped:
        lines.append(
            f"pip-audit: NOT CHECKED: {len(skipped)} of {len(deps)} packages could not be looked "
            f"up (vulnerability database unreachable, or package unknown): {', '.join(skipped)}"
        )
    if fixable:
        lines += ["pip-audit: fixable vulnerabilities:", *fixable]
    elif checked == 0:
        lines.append("pip-audit: no package was checked: this run says nothing about them")
    else:
        lines.append(
            f"pip-audit: no known vulnerability with a fix available in the {checked} "
            f"package(s) checked"
            + (f" ({len(skipped)} not checked, listed above)" if skipped else "")
        )
    return lines, 1 if fixable else 0


def main() -> None:
    path = Path(sys.argv[1])
    lines, status = report(path.read_text(encoding="utf-8") if path.exists() else "")
    print("\n".join(lines))
    sys.exit(status)


if __name__ == "__main__":
    main()
