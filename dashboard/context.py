"""What every page shares: the database engine, the config, the cached queries and the sidebar.

Query results are cached for a short time (``st.cache_data`` with a TTL) under the database URL
and the filter values, so a dashboard left open all day, or opened by ten people, asks the
database once per refresh period; any action clears the cache so its effect shows at once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import streamlit as st
from sqlalchemy import Engine

from dashboard import auth, queries
from monitor.config import ConfigError, Settings, VigieConfig, default_config_path, load_config
from monitor.storage.db import make_engine, upgrade

P = ParamSpec("P")
T = TypeVar("T")
FAST_TTL = 15
SLOW_TTL = 120


def settings() -> Settings:
    return Settings()


@st.cache_resource(show_spinner=False, on_release=lambda engine: engine.dispose())
def engine_for(url: str) -> Engine:
    """One pooled engine per database URL; the schema is brought up to date once."""
    engine = make_engine(url)
    upgrade(engine)
    return engine


def engine() -> Engine:
    return engine_for(settings().db_url)


def config_path() -> Path:
    return default_config_path(settings())


@st.cache_data(show_spinner=False, max_entries=4)
def _config_at(path: str, mtime: float) -> VigieConfig:
    return load_config(path)


def config() -> VigieConfig:
    """The validated config, re-read when the file changes (cached on its modification time)."""
    path = config_path()
    try:
        return _config_at(str(path), path.stat().st_mtime)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file (copy vigie.example.yaml to vigie.yaml)") from None


def dashboard_url() -> str | None:
    """Where the dashboard is published (``dashboard_url`` in the config), if the config reads."""
    try:
        return config().dashboard_url
    except ConfigError:
        return None


def cached(ttl: int) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Cache a ``queries`` function of an engine under the URL and the other arguments."""

    def wrap(function: Callable[..., T]) -> Callable[..., T]:
        def run(url: str, *args: Any, **kwargs: Any) -> T:
            return function(engine_for(url), *args, **kwargs)

        run.__name__ = run.__qualname__ = f"cached_{function.__name__}"
        run.__module__ = __name__
        memo = st.cache_data(ttl=ttl, show_spinner=False, max_entries=256)(run)

        def call(*args: Any, **kwargs: Any) -> T:
            return memo(settings().db_url, *args, **kwargs)

        return call

    return wrap


feed = cached(FAST_TTL)(queries.feed)
sentiment_counts = cached(FAST_TTL)(queries.sentiment_counts)
facet_values = cached(SLOW_TTL)(queries.facet_values)
has_mentions = cached(FAST_TTL)(queries.has_mentions)
newest_mention_at = cached(FAST_TTL)(queries.newest_mention_at)
spreading = cached(FAST_TTL)(queries.spreading)
reshare_growth = cached(FAST_TTL)(queries.reshare_growth)
engagement = cached(FAST_TTL)(queries.engagement)
incidents = cached(FAST_TTL)(queries.incidents)
incident_growth = cached(FAST_TTL)(queries.incident_growth)
incident_languages = cached(FAST_TTL)(queries.incident_languages)
incident_members = cached(FAST_TTL)(queries.incident_members)
incident_events = cached(FAST_TTL)(queries.incident_events)
inbox = cached(FAST_TTL)(queries.inbox)
inbox_summary = cached(FAST_TTL)(queries.inbox_summary)
assignees = cached(SLOW_TTL)(queries.assignees)
volume = cached(SLOW_TTL)(queries.volume)
response_times = cached(SLOW_TTL)(queries.response_times)
collector_health = cached(FAST_TTL)(queries.collector_health)
latest_mention_by_source = cached(SLOW_TTL)(queries.latest_mention_by_source)
recent_alerts = cached(FAST_TTL)(queries.recent_alerts)
quarantined = cached(FAST_TTL)(queries.quarantined)
alert_deliveries = cached(FAST_TTL)(queries.alert_deliveries)
corrections = cached(FAST_TTL)(queries.corrections)
overview = cached(SLOW_TTL)(queries.overview)


def act(action: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a write from ``queries`` and drop cached reads, so every page shows its effect."""
    result = action(engine(), *args, **kwargs)
    st.cache_data.clear()
    return result


def now() -> datetime:
    return datetime.now(UTC)


def minute(moment: datetime) -> datetime:
    """Times rounded down to the minute keep cache keys stable between reruns."""
    return moment.replace(second=0, microsecond=0)


def timezone() -> tzinfo:
    """The brand's clock (its ``timezone``, else ``reports.timezone``): the same post reads the
    same time here, in the weekly report and in the e-mails, whoever opens the page. With
    several brands selected, the first one's."""
    cfg = config()
    return cfg.zone(selected_brands(cfg)[0])


def watched_brands(cfg: VigieConfig) -> list[str]:
    """The brands and their competitors, each once, in config order."""
    names = list(cfg.brand_names)
    for brand in cfg.brands:
        names += [c for c in brand.competitors if c.casefold() not in map(str.casefold, names)]
    return names


def selected_brands(cfg: VigieConfig) -> tuple[str, ...]:
    """The brands picked in the sidebar (all the configured ones when none is picked)."""
    picked = st.session_state.get("vigie-brands") or []
    return tuple(b for b in cfg.brand_names if b in picked) or tuple(cfg.brand_names)


def sidebar(cfg: VigieConfig) -> None:
    """The controls every page shares: which brands, and who is acting; and the clock."""
    with st.sidebar:
        st.caption(f"Times in {timezone()}")
        if len(cfg.brand_names) > 1:
            st.multiselect(
                "Brands",
                cfg.brand_names,
                key="vigie-brands",
                placeholder="All brands",
                persist_state="session",
            )
        if auth.signed_in() is None:
            st.text_input(
                "Your name",
                key=auth.USER_KEY,
                placeholder="for assignments and corrections",
                max_chars=128,
                persist_state="session",
            )


def since(days: float = 0, hours: float = 0) -> datetime:
    return minute(now() - timedelta(days=days, hours=hours))
