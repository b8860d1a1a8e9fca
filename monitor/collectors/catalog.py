"""Every source the registry knows, as this config and environment see it.

Read by ``vigie sources``, ``vigie check`` and the dashboard's Sources page, so the three say the
same thing: whether a source is configured and enabled, which of its credentials are missing, and
whether its options pass its model for every brand.
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.collectors import options_for, plugin_for, validate
from monitor.collectors.credentials import Credentials
from monitor.config import ConfigError, VigieConfig
from monitor.plugins import registry


@dataclass(frozen=True, slots=True)
class SourceState:
    """One source: ``state`` is ``enabled``, ``disabled``, ``missing credentials`` or
    ``not configured``."""

    name: str
    state: str
    summary: str
    credentials: tuple[str, ...]
    missing: tuple[str, ...]
    origin: str
    link: str | None = None


def source_states(config: VigieConfig, credentials: Credentials | None) -> list[SourceState]:
    """Every registered source, in registry order; credentials are not looked at when None
    (the dashboard never reads secrets, and its environment is not the collectors')."""
    states = []
    for name, plugin in registry().sources.items():
        source = config.sources.get(name)
        missing = tuple(credentials.missing(plugin.credentials)) if credentials else ()
        if source is None:
            state = "not configured"
        elif not source.enabled:
            state = "disabled"
        else:
            state = "missing credentials" if missing else "enabled"
        states.append(
            SourceState(
                name, state, plugin.summary, plugin.credentials, missing, plugin.origin, plugin.link
            )
        )
    return states


def check_sources(config: VigieConfig, credentials: Credentials | None = None) -> list[str]:
    """Warnings about the configured sources; raises ``ConfigError`` on invalid options.

    Every brand's options are validated by the source's model, enabled or not, so a source
    switched on later does not fail then.
    """
    credentials = credentials or Credentials()
    errors, warnings = [], []
    for name, source in config.sources.items():
        try:
            plugin = plugin_for(name)
        except ConfigError as exc:
            errors.append(str(exc))
            continue
        for brand in config.brands:
            options = options_for(source, brand, name)
            if all(options.get(key) for key in plugin.requires):
                try:
                    validate(plugin, brand, options)
                except ConfigError as exc:
                    errors.append(str(exc))
        missing = credentials.missing(plugin.credentials)
        if source.enabled and missing:
            warnings.append(
                f"sources.{name}: enabled but {', '.join(missing)} not set in the environment; "
                "it will not run"
            )
    warnings += [f"plugin {where} {why}" for where, why in registry().broken.items()]
    if errors:
        raise ConfigError("\n".join(errors))
    return warnings


def states_table(states: list[SourceState]) -> str:
    """The source list as text, for ``vigie sources``."""
    lines = [f"{'source':<14} {'state':<20} {'origin':<12} credentials"]
    for s in states:
        creds = ", ".join(f"{c} (missing)" if c in s.missing else c for c in s.credentials)
        lines.append(f"{s.name:<14} {s.state:<20} {s.origin:<12} {creds or 'none needed'}")
    return "\n".join(lines)
