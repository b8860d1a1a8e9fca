"""The built-in alert channels as plugins: email (SMTP or the file outbox) and apprise.

Apprise already speaks Slack, Microsoft Teams, Discord, Mattermost, Telegram, generic JSON and
about a hundred more: a webhook URL in a brand's ``alerts.webhooks`` is enough, no code. A channel
plugin is only needed for a service apprise does not know; it claims URL schemes and sends
itself (see docs/extending.md).
"""

from __future__ import annotations

from monitor.plugins import ChannelPlugin

EMAIL = ChannelPlugin(
    name="email",
    summary="alert and digest emails to `alerts.recipients` over SMTP; without `SMTP_HOST`, "
    "`.eml` files in `$VIGIE_DATA_DIR/outbox/`",
    credentials=("SMTP_HOST", "SMTP_USER", "SMTP_PASSWORD"),
)
APPRISE = ChannelPlugin(
    name="apprise",
    summary="chat and webhook targets in `alerts.webhooks` (Slack, Teams, Discord, JSON…) "
    "through apprise URLs, or `env:NAME` for a URL that holds a token",
    link="https://github.com/caronc/apprise/wiki",
)
