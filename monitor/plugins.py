"""The plugin seam: sources, alert channels and detectors, discovered through entry points.

A plugin is a declaration object (:class:`SourcePlugin`, :class:`ChannelPlugin`,
:class:`DetectorPlugin`) named by an entry point in one of :data:`GROUPS`. A third party's package
declares it in its ``pyproject.toml``::

    [project.entry-points."vigie.sources"]
    mysource = "my_package.module:PLUGIN"

The built-in plugins go through the very same path: :data:`BUILTIN` lists their entry points in
the same ``name = module:attribute`` form, and :func:`discover` loads them with the installed ones,
one loader for both. Everything that lists what Vigie can do (``build_collectors``, ``vigie
sources``, ``vigie check``, the README's source table, the example config, the Sources page) reads
the registry, so adding a source means writing one module and one entry point.

A plugin that fails to load is reported (``vigie check`` shows it) and never stops the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy import Engine

    from monitor.collectors.base import Collector
    from monitor.collectors.credentials import Credentials
    from monitor.config import Brand

log = logging.getLogger(__name__)
BUILT_IN = "built-in"
GROUPS = {"source": "vigie.sources", "channel": "vigie.channels", "detector": "vigie.detectors"}
BUILTIN: dict[str, tuple[str, ...]] = {
    "vigie.sources": (
        "demo = monitor.collectors.demo:PLUGIN",
        "twitter = monitor.collectors.twitter:PLUGIN",
        "reddit = monitor.collectors.reddit:PLUGIN",
        "mastodon = monitor.collectors.mastodon:PLUGIN",
        "bluesky = monitor.collectors.bluesky:PLUGIN",
        "appstore = monitor.collectors.appstore:PLUGIN",
        "googleplay = monitor.collectors.googleplay:PLUGIN",
        "feeds = monitor.collectors.feeds:PLUGIN",
        "youtube = monitor.collectors.youtube:PLUGIN",
        "hackernews = monitor.collectors.hackernews:PLUGIN",
        "googleplaces = monitor.collectors.googleplaces:PLUGIN",
        "trustpilot = monitor.collectors.trustpilot:PLUGIN",
        "facebook = monitor.collectors.facebook:PLUGIN",
        "instagram = monitor.collectors.instagram:PLUGIN",
    ),
    "vigie.channels": (
        "email = monitor.alerts.channels:EMAIL",
        "apprise = monitor.alerts.channels:APPRISE",
    ),
    "vigie.detectors": (
        "spreading = monitor.detection.plugins:SPREADING",
        "incidents = monitor.detection.plugins:INCIDENTS",
        "spikes = monitor.detection.plugins:SPIKES",
        "silent = monitor.detection.plugins:SILENT",
    ),
}

Build = Callable[["Brand", Any, "Credentials"], "Collector | None"]


@dataclass(frozen=True)
class SourcePlugin:
    """A source: how to build its collector for one brand, and what a user must know about it.

    ``options`` validates the options under ``sources.<name>`` merged with a brand's own (``vigie
    check`` runs it); ``credentials`` are the environment variables it cannot run without (the
    source is disabled, never crashing, when one is missing), ``optional_credentials`` the ones it
    reads if set. A brand lacking one of the ``requires`` options is simply not watched there (an
    app store source for a brand without an app). ``example`` is the YAML shown (commented) in
    ``vigie.example.yaml`` under the source's name, ``brand_example`` what a brand sets for it.
    """

    name: str
    summary: str
    options: type[BaseModel]
    build: Build
    credentials: tuple[str, ...] = ()
    optional_credentials: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    example: str = ""
    brand_example: str = ""
    link: str | None = None
    origin: str = field(default="", compare=False)


@dataclass(frozen=True)
class ChannelPlugin:
    """Where alerts can go. ``schemes`` are the webhook URL schemes it handles (``teams://``…);
    ``send(url, title, body, severe)`` delivers one message and raises on failure. A channel
    without ``send`` is handled by Vigie itself (email, apprise)."""

    name: str
    summary: str
    schemes: tuple[str, ...] = ()
    send: Callable[[str, str, str, bool], None] | None = None
    credentials: tuple[str, ...] = ()
    link: str | None = None
    origin: str = field(default="", compare=False)


@dataclass(frozen=True)
class AlertKind:
    """How an alert of one kind reads: its label, whether the email and chat message quote the
    mention, which reply it suggests (a public ``reply``, an incident ``statement``, or none),
    which growth chart it carries (``growth`` of a group, brand ``volume``), and an optional
    ``sentence(details)`` that explains it in words."""

    label: str
    reply: Literal["reply", "statement"] | None = "reply"
    quote_mention: bool = True
    chart: Literal["growth", "volume"] | None = None
    sentence: Callable[[dict[str, Any]], str] | None = None


Detect = Callable[["Engine", "Brand", "datetime"], int]


@dataclass(frozen=True)
class DetectorPlugin:
    """A detector: ``run(engine, brand, now)`` queues alerts of ``kind`` and returns how many.

    ``run`` is None for a kind raised elsewhere (the silent-source check looks at every
    collector of every brand at once, after the per-brand detectors). ``alert`` says how those
    alerts are worded; nothing else needs editing."""

    name: str
    summary: str
    kind: str
    alert: AlertKind
    run: Detect | None = None
    link: str | None = None
    origin: str = field(default="", compare=False)


Plugin = SourcePlugin | ChannelPlugin | DetectorPlugin
EXPECTED: dict[str, type] = {
    "vigie.sources": SourcePlugin,
    "vigie.channels": ChannelPlugin,
    "vigie.detectors": DetectorPlugin,
}


@dataclass
class Registry:
    """Every plugin found, by group and name, and the ones that failed to load (with why)."""

    sources: dict[str, SourcePlugin] = field(default_factory=dict)
    channels: dict[str, ChannelPlugin] = field(default_factory=dict)
    detectors: dict[str, DetectorPlugin] = field(default_factory=dict)
    broken: dict[str, str] = field(default_factory=dict)

    def table(self, group: str) -> dict[str, Any]:
        return {
            "vigie.sources": self.sources,
            "vigie.channels": self.channels,
            "vigie.detectors": self.detectors,
        }[group]

    def alert_kind(self, kind: str) -> AlertKind:
        """How alerts of ``kind`` read; unknown kinds (an uninstalled plugin's) get plain text."""
        for detector in self.detectors.values():
            if detector.kind == kind:
                return detector.alert
        return KINDS.get(kind) or AlertKind(kind.replace("_", " ").capitalize())

    def channel_for(self, scheme: str) -> ChannelPlugin | None:
        scheme = scheme.lower()
        return next((c for c in self.channels.values() if scheme in c.schemes), None)


KINDS = {"manual": AlertKind("Flagged by a colleague")}
"""Alert kinds no detector raises: a person's alert from the dashboard or the CLI."""


def builtin_entry_points(group: str) -> list[EntryPoint]:
    return [
        EntryPoint(name.strip(), value.strip(), group)
        for name, _, value in (line.partition("=") for line in BUILTIN.get(group, ()))
    ]


def installed_entry_points(group: str) -> list[EntryPoint]:
    """Entry points of installed packages (Vigie's own, if installed, are the built-ins)."""
    own = {ep.value for ep in builtin_entry_points(group)}
    return [ep for ep in entry_points(group=group) if ep.value not in own]


def _origin(ep: EntryPoint, builtin: bool) -> str:
    if builtin:
        return BUILT_IN
    return f"{ep.dist.name} {ep.dist.version}" if ep.dist else ep.module


def register(registry: Registry, ep: EntryPoint, builtin: bool) -> None:
    """Load one entry point into the registry; a failure is recorded, never raised.

    ``origin`` (``built-in``, or the package that provides it) is set here, for the listings."""
    where = f"{ep.group}:{ep.name} ({ep.value})"
    try:
        plugin = ep.load()
    except Exception as exc:  # a third party's import error must not stop Vigie
        registry.broken[where] = f"cannot be loaded: {type(exc).__name__}: {exc}"
        log.error("plugin %s cannot be loaded: %s", where, exc)
        return
    expected = EXPECTED[ep.group]
    table = registry.table(ep.group)
    if not isinstance(plugin, expected):
        registry.broken[where] = f"is a {type(plugin).__name__}, not a {expected.__name__}"
    elif plugin.name != ep.name:
        registry.broken[where] = f"declares the name {plugin.name!r}, not {ep.name!r}"
    elif plugin.name in table:
        registry.broken[where] = f"{plugin.name!r} is already provided by another plugin"
    else:
        object.__setattr__(plugin, "origin", _origin(ep, builtin))
        table[plugin.name] = plugin
        return
    log.error("plugin %s %s", where, registry.broken[where])


def discover() -> Registry:
    """Load the built-in plugins, then every installed one, through the same ``register``."""
    registry = Registry()
    for group in GROUPS.values():
        for ep in builtin_entry_points(group):
            register(registry, ep, builtin=True)
        for ep in installed_entry_points(group):
            register(registry, ep, builtin=False)
    return registry


@cache
def registry() -> Registry:
    """The process-wide registry, discovered once (``registry.cache_clear()`` to look again)."""
    return discover()
