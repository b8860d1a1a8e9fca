"""The parts of README.md and vigie.example.yaml that are generated from the plugin registry.

Each lives between two marker lines; ``python -m monitor docs --write`` rewrites them, and the
test suite fails while they differ from what the registry says, so a source added without
documentation is caught. Only built-in sources are written: a third party's plugin documents
itself (``vigie sources`` lists it with its summary).
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

from pydantic import BaseModel

from monitor.collectors.api import SourceOptions
from monitor.config import EXAMPLE_CONFIG, ROOT, load_config
from monitor.plugins import SourcePlugin, registry

README = ROOT / "README.md"
TABLE_MARKS = ("<!-- sources: from the registry, `python -m monitor docs --write` -->",
               "<!-- /sources -->")
EXAMPLE_MARKS = ("  # >>> sources from the registry (`python -m monitor docs --write`)",
                 "  # <<< sources")
HEADER_COLUMN = 34
WIDTH = 100


def builtin_sources() -> list[SourcePlugin]:
    return [p for p in registry().sources.values() if p.origin == "built-in"]


def _code(names: tuple[str, ...]) -> str:
    return ", ".join(f"`{n}`" for n in names)


def readme_table(plugins: list[SourcePlugin]) -> str:
    rows = ["| source | reads | environment variables |", "|---|---|---|"]
    for p in plugins:
        env = _code(p.credentials) or "none"
        if p.optional_credentials:
            env += f", optional {_code(p.optional_credentials)}"
        reads = f"{p.summary} ([docs]({p.link}))" if p.link else p.summary
        rows.append(f"| `{p.name}` | {reads} | {env} |")
    return "\n".join(rows)


def own_options(model: type[BaseModel]) -> list[str]:
    """The options a source adds to the ones every API source takes."""
    common = SourceOptions.model_fields if issubclass(model, SourceOptions) else {}
    return [name for name in model.model_fields if name not in common]


def _commented(plugin: SourcePlugin) -> list[str]:
    needs = ", ".join(plugin.credentials) or "no key"
    if plugin.requires:
        needs += f"; needs the brand's {', '.join(plugin.requires)}"
    lines = [f"  # {plugin.name + ':':<{HEADER_COLUMN - 4}}# {needs}"]
    lines += [f"  #   {line}" for line in plugin.example.strip().splitlines()]
    options = own_options(plugin.options)
    if options:
        lines += _wrapped("  #   # its options: ", ", ".join(options), "  #   #   ")
    return lines


def _wrapped(first: str, text: str, then: str) -> list[str]:
    return textwrap.wrap(text, WIDTH, initial_indent=first, subsequent_indent=then)


def example_block(plugins: list[SourcePlugin], live: set[str]) -> str:
    """Commented examples of every source the example does not already enable."""
    common = ", ".join(SourceOptions.model_fields)
    lines = [*_wrapped("  # Options every API source takes: ", f"{common}.", "  #   "), "  #"]
    for plugin in plugins:
        if plugin.name not in live:
            lines += _commented(plugin)
    branded = [p for p in plugins if p.brand_example]
    if branded:
        lines += ["  #", "  # and under the brand (brands[].sources):"]
        lines += [f"  #   {p.name}: {p.brand_example}" for p in branded]
    return "\n".join(lines)


def _replace(text: str, marks: tuple[str, str], body: str) -> str:
    start, end = (re.escape(m) for m in marks)
    pattern = re.compile(f"{start}\n.*?{end}", re.DOTALL)
    if not pattern.search(text):
        raise ValueError(f"markers {marks[0]!r} … {marks[1]!r} not found")
    return pattern.sub(lambda _: f"{marks[0]}\n{body}\n{marks[1]}", text, count=1)


def rendered() -> dict[Path, str]:
    """README.md and vigie.example.yaml as the registry would write them."""
    plugins = builtin_sources()
    live = set(load_config(EXAMPLE_CONFIG).sources)
    readme = _replace(README.read_text(encoding="utf-8"), TABLE_MARKS, readme_table(plugins))
    example = _replace(
        EXAMPLE_CONFIG.read_text(encoding="utf-8"), EXAMPLE_MARKS, example_block(plugins, live)
    )
    return {README: readme, EXAMPLE_CONFIG: example}


def refresh(write: bool = False) -> list[Path]:
    """The files that differ from the registry (rewritten with ``write``)."""
    stale = []
    for path, text in rendered().items():
        if path.read_text(encoding="utf-8") != text:
            stale.append(path)
            if write:
                path.write_text(text, encoding="utf-8")
    return stale
