"""Collect stage: one module per source, all returning :class:`~monitor.collectors.base.Batch`.

``build_collectors`` turns the config into one collector per (enabled source, brand). A source
whose credentials are missing becomes a :class:`~monitor.collectors.base.DisabledCollector` per
brand (one log line for the source), so health shows why it is not running.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ValidationError

from monitor.collectors.appstore import AppStoreCollector, AppStoreOptions
from monitor.collectors.base import Collector, DisabledCollector
from monitor.collectors.bluesky import BlueskyCollector, BlueskyOptions
from monitor.collectors.credentials import Credentials
from monitor.collectors.demo import DemoCollector
from monitor.collectors.feeds import FeedsCollector, FeedsOptions
from monitor.collectors.googleplay import GooglePlayCollector, GooglePlayOptions
from monitor.collectors.hackernews import HackerNewsCollector, HackerNewsOptions
from monitor.collectors.mastodon import MastodonCollector, MastodonOptions
from monitor.collectors.reddit import RedditCollector, RedditOptions
from monitor.collectors.twitter import TwitterCollector, TwitterOptions
from monitor.collectors.youtube import YouTubeCollector, YouTubeOptions
from monitor.config import Brand, ConfigError, SourceConfig, VigieConfig

log = logging.getLogger(__name__)
Factory = Callable[[Brand, dict[str, Any], Credentials], Collector | None]


def _options(model: type[BaseModel], options: dict[str, Any]) -> Any:
    return model.model_validate(options)


def _demo(brand: Brand, options: dict[str, Any], _: Credentials) -> Collector:
    handle = brand.handles[0] if brand.handles else None
    return DemoCollector(brand.name, handle=handle, **options)


def _twitter(brand: Brand, options: dict[str, Any], creds: Credentials) -> Collector:
    token = creds.value("TWITTER_BEARER_TOKEN") or ""
    return TwitterCollector(brand, _options(TwitterOptions, options), token)


def _reddit(brand: Brand, options: dict[str, Any], creds: Credentials) -> Collector:
    return RedditCollector(brand, _options(RedditOptions, options), creds)


def _mastodon(brand: Brand, options: dict[str, Any], creds: Credentials) -> Collector:
    token = creds.value("MASTODON_ACCESS_TOKEN") or ""
    return MastodonCollector(brand, _options(MastodonOptions, options), token)


def _bluesky(brand: Brand, options: dict[str, Any], creds: Credentials) -> Collector:
    handle = creds.value("BLUESKY_HANDLE") or ""
    password = creds.value("BLUESKY_APP_PASSWORD") or ""
    return BlueskyCollector(brand, _options(BlueskyOptions, options), handle, password)


def _per_app(collector: type, model: type[BaseModel]) -> Factory:
    """Store sources watch the brand's own app: a brand without ``app_id`` is not watched there."""

    def build(brand: Brand, options: dict[str, Any], _: Credentials) -> Collector | None:
        if "app_id" not in options:
            log.info("%s: brand %s has no app_id; not watched there", collector.source, brand.name)
            return None
        return collector(brand, _options(model, options))

    return build


def _feeds(brand: Brand, options: dict[str, Any], _: Credentials) -> Collector | None:
    if not options.get("urls"):
        log.info("feeds: brand %s has no urls; not watched there", brand.name)
        return None
    return FeedsCollector(brand, _options(FeedsOptions, options))


def _hackernews(brand: Brand, options: dict[str, Any], _: Credentials) -> Collector:
    return HackerNewsCollector(brand, _options(HackerNewsOptions, options))


def _youtube(brand: Brand, options: dict[str, Any], creds: Credentials) -> Collector:
    key = creds.value("YOUTUBE_API_KEY") or ""
    return YouTubeCollector(brand, _options(YouTubeOptions, options), key)


FACTORIES: dict[str, Factory] = {
    "demo": _demo,
    "twitter": _twitter,
    "reddit": _reddit,
    "appstore": _per_app(AppStoreCollector, AppStoreOptions),
    "googleplay": _per_app(GooglePlayCollector, GooglePlayOptions),
    "feeds": _feeds,
    "mastodon": _mastodon,
    "bluesky": _bluesky,
    "hackernews": _hackernews,
    "youtube": _youtube,
}


def options_for(source: SourceConfig, brand: Brand, name: str) -> dict[str, Any]:
    """Source-wide options overridden by the brand's own settings for that source."""
    return {**(source.model_extra or {}), **brand.sources.get(name, {})}


def _validation_message(name: str, brand: Brand, error: ValidationError) -> str:
    lines = [f"sources.{name} (brand {brand.name}): invalid options"]
    for err in error.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(options)"
        lines.append(f"  {where}: {err['msg']}")
    return "\n".join(lines)


def _build(
    name: str, brand: Brand, options: dict[str, Any], creds: Credentials
) -> Collector | None:
    try:
        return FACTORIES[name](brand, options, creds)
    except ValidationError as exc:
        raise ConfigError(_validation_message(name, brand, exc)) from None
    except TypeError as exc:
        raise ConfigError(f"sources.{name}: {exc}") from None


def build_collectors(
    config: VigieConfig, only: str | None = None, credentials: Credentials | None = None
) -> list[Collector]:
    """A collector for every enabled source and brand (or only the source named)."""
    credentials = credentials or Credentials()
    collectors: list[Collector] = []
    for name, source in config.sources.items():
        if name not in FACTORIES:
            known = ", ".join(sorted(FACTORIES))
            raise ConfigError(f"sources.{name}: unknown source (known: {known})")
        if not source.enabled or (only and name != only):
            continue
        missing = credentials.missing(name)
        if missing:
            reason = f"disabled: no {' / '.join(missing)}"
            log.warning("source %s %s in the environment", name, reason)
            collectors += [DisabledCollector(name, b.name, reason) for b in config.brands]
            continue
        for brand in config.brands:
            collector = _build(name, brand, options_for(source, brand, name), credentials)
            if collector is not None:
                collectors.append(collector)
    return collectors
