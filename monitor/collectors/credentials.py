"""API credentials of the real sources, read from environment variables only.

=========================  =========================================================================
Variable                   Used by
=========================  =========================================================================
``TWITTER_BEARER_TOKEN``   ``twitter``: the app's bearer token (X API v2, app-only, read access).
``REDDIT_CLIENT_ID``       ``reddit``: the id of a "script" app from https://www.reddit.com/prefs/apps
``REDDIT_CLIENT_SECRET``   ``reddit``: that app's secret (read-only, app-only OAuth).
``REDDIT_USER_AGENT``      ``reddit`` (optional): Reddit asks for
                           ``<platform>:<app id>:<version> (by /u/<your account>)``.
``MASTODON_ACCESS_TOKEN``  ``mastodon``: a token with ``read`` scope on the instance named by
                           ``instance`` in the config.
``BLUESKY_HANDLE``         ``bluesky``: the account handle (e.g. ``brand.bsky.social``).
``BLUESKY_APP_PASSWORD``   ``bluesky``: an app password of that account (Settings → App passwords),
                           never the account's main password.
``YOUTUBE_API_KEY``        ``youtube``: an API key of a Google Cloud project with the YouTube Data
                           API v3 enabled (restrict it to that API); public data only.
=========================  =========================================================================

``appstore``, ``googleplay``, ``feeds`` and ``hackernews`` read public data and need no
credentials.

A source whose variables are missing is disabled with one log line and shows as disabled in the
collector health; it never stops the others. Values are ``SecretStr`` (they print as
``**********``) and are read only where a client is built; ``monitor.logs`` masks them in log
lines that client libraries write at debug level (tweepy logs its ``Authorization`` header there).
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

REQUIRED: dict[str, tuple[str, ...]] = {
    "twitter": ("TWITTER_BEARER_TOKEN",),
    "reddit": ("REDDIT_CLIENT_ID", "REDDIT_CLIENT_SECRET"),
    "mastodon": ("MASTODON_ACCESS_TOKEN",),
    "bluesky": ("BLUESKY_HANDLE", "BLUESKY_APP_PASSWORD"),
    "youtube": ("YOUTUBE_API_KEY",),
}
DEFAULT_REDDIT_USER_AGENT = "python:vigie:0.1 (self-hosted brand monitor)"


class Credentials(BaseSettings):
    """Every source's secrets; an empty variable counts as missing."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    twitter_bearer_token: SecretStr | None = Field(None, alias="TWITTER_BEARER_TOKEN")
    reddit_client_id: SecretStr | None = Field(None, alias="REDDIT_CLIENT_ID")
    reddit_client_secret: SecretStr | None = Field(None, alias="REDDIT_CLIENT_SECRET")
    reddit_user_agent: str = Field(DEFAULT_REDDIT_USER_AGENT, alias="REDDIT_USER_AGENT")
    mastodon_access_token: SecretStr | None = Field(None, alias="MASTODON_ACCESS_TOKEN")
    bluesky_handle: str | None = Field(None, alias="BLUESKY_HANDLE")
    bluesky_app_password: SecretStr | None = Field(None, alias="BLUESKY_APP_PASSWORD")
    youtube_api_key: SecretStr | None = Field(None, alias="YOUTUBE_API_KEY")

    def value(self, variable: str) -> str | None:
        """The plain value of one variable, or None when unset or blank."""
        raw = getattr(self, variable.lower())
        plain = raw.get_secret_value() if isinstance(raw, SecretStr) else raw
        return (plain.strip() or None) if plain else None

    def missing(self, source: str) -> list[str]:
        """The variables ``source`` needs and does not have (empty for keyless sources)."""
        return [name for name in REQUIRED.get(source, ()) if not self.value(name)]
