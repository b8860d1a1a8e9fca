"""Collect stage: one module per source, all returning :class:`~monitor.collectors.base.Batch`.

Sources are plugins (:mod:`monitor.plugins`): ``build_collectors`` turns the config into one
collector per (enabled source, brand) through each source's declaration. A source whose
credentials are missing becomes a :class:`~monitor.collectors.base.DisabledCollector` per brand
(one log line for the source), so health shows why it is not running.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError

from monitor.collectors.base import Collector, DisabledCollector
from monitor.collectors.credentials import Credentials
from monitor.config import Brand, ConfigError, SourceConfig, VigieConfig
from monitor.plugins import SourcePlugin, registry

log = logging.getLogger(__name__)


def options_for(source: SourceConfig, brand: Brand, name: str) -> dict[str, Any]:
    """Source-wide options overridden by the brand's own settings for that source."""
    return {**(source.model_extra or {}), **brand.sources.get(name, {})}


def _validation_message(name: str, brand: Brand, error: ValidationError) -> str:
    lines = [f"sources.{name} (brand {brand.name}): invalid options"]
    for err in error.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(options)"
        lines.append(f"  {where}: {err['msg']}")
    return "\n".join(lines)


def plugin_for(name: str) -> SourcePlugin:
    """The source plugin called ``name``, or a configuration error listing the known ones."""
    sources = registry().sources
    if name not in sources:
        raise ConfigError(f"sources.{name}: unknown source (known: {', '.join(sorted(sources))})")
    return sources[name]


def watched(plugin: SourcePlugin, brand: Brand, options: dict[str, Any]) -> bool:
    """A brand without the options a source requires (an app id) is not watched there."""
    lacking = [key for key in plugin.requires if not options.get(key)]
    if lacking:
        log.info("%s: brand %s has no %s; not watched there", plugin.name, brand.name, lacking[0])
    return not lacking


def validate(plugin: SourcePlugin, brand: Brand, options: dict[str, Any]) -> Any:
    """The source's options for one brand, checked by its model (what ``vigie check`` runs)."""
    try:
        return plugin.options.model_validate(options)
    except ValidationError as exc:
        raise ConfigError(_validation_message(plugin.name, brand, exc)) from None


def _build(
    plugin: SourcePlugin, brand: Brand, options: dict[str, Any], creds: Credentials
) -> Collector | None:
    if not watched(plugin, brand, options):
        return None
    try:
        return plugin.build(brand, validate(plugin, brand, options), creds)
    except TypeError as exc:
        raise ConfigError(f"sources.{plugin.name}: {exc}") from None


def _check_named(config: VigieConfig, name: str) -> None:
    """``collect NAME``: a name that would collect nothing says why, naming the known sources."""
    known = registry().sources
    if name not in known:
        raise ConfigError(f"no source named {name!r}; known sources: {', '.join(sorted(known))}")
    if name not in config.sources:
        configured = ", ".join(config.sources) or "none"
        raise ConfigError(
            f"sources.{name}: not in the config (configured: {configured}); "
            "add it under 'sources' in vigie.yaml"
        )
    if not config.sources[name].enabled:
        raise ConfigError(f"sources.{name}: disabled in the config (set enabled: true)")


def build_collectors(
    config: VigieConfig, only: str | None = None, credentials: Credentials | None = None
) -> list[Collector]:
    """A collector for every enabled source and brand (or only the source named)."""
    credentials = credentials or Credentials()
    if only:
        _check_named(config, only)
    collectors: list[Collector] = []
    for name, source in config.sources.items():
        plugin = plugin_for(name)
        if not source.enabled or (only and name != only):
            continue
        missing = credentials.missing(plugin.credentials)
        if missing:
            reason = f"disabled: no {' / '.join(missing)}"
            log.warning("source %s %s in the environment", name, reason)
            collectors += [DisabledCollector(name, b.name, reason) for b in config.brands]
            continue
        for brand in config.brands:
            collector = _build(plugin, brand, options_for(source, brand, name), credentials)
            if collector is not None:
                collectors.append(collector)
    return collectors
