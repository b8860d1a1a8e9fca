"""Chat and webhook targets (Slack, Teams, Discord, generic JSON…) through ``apprise``.

Targets are apprise URLs in the brand's config, or ``env:NAME`` for a URL that carries a token
(the database and the dashboard only ever see ``env:NAME`` or a hash). The body is Markdown; text
from mentions is neutralised for every chat flavour: Markdown specials escaped, angle brackets
(HTML, Slack ``<!channel>``, Discord ``<@role>``) replaced by look-alikes, ``@everyone``-style
mass mentions broken.
"""

from __future__ import annotations

import logging
import os
import re
from urllib.parse import quote

import apprise

from monitor.alerts.examples import stars
from monitor.alerts.rules import webhook_key
from monitor.alerts.view import AlertView, facts
from monitor.config import BrandAlerts
from monitor.display import safe_url
from monitor.plugins import registry

MAX_TEXT = 600
MAX_BODY = 3500
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~])")
_MASS_MENTION = re.compile(r"@(everyone|here|channel|all)\b", re.IGNORECASE)
_HEADER_SCHEMES = ("json", "jsons", "form", "forms", "xml", "xmls")
logging.getLogger("apprise").setLevel(logging.WARNING)


class WebhookError(Exception):
    """Delivery failed; ``permanent`` when retrying cannot help (bad or missing URL)."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


def md(text: object, limit: int = MAX_TEXT) -> str:
    """Hostile text made inert for Markdown chat targets."""
    flat = " ".join(str(text).split())
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    flat = flat.replace("<", "‹").replace(">", "›")
    flat = _MASS_MENTION.sub(lambda m: "@\u200b" + m.group(1), flat)
    return _MD_SPECIAL.sub(r"\\\1", flat)


def _link(url: object, label: str) -> str | None:
    safe = safe_url(url)
    return f"[{label}]({safe.replace(')', '%29').replace(' ', '%20')})" if safe else None


def _single(view: AlertView) -> str:
    lines = [f"**{md(view.severity.upper())}** · {md(view.label)} · {md(view.brand)}"]
    if view.get("text") and view.shape.quote_mention:
        lines.append("> " + md(view.get("text")))
    lines += [f"• {md(label)}: {md(value)}" for label, value in facts(view)]
    for example in view.examples:
        by = f" — {md(example.author, 80)}" if example.author else ""
        lines.append(f"> {md(example.text, 200)}{by} {stars(example.rating)}".rstrip())
    for reply in view.replies:
        lines.append(f"**Suggested {reply.kind} ({md(reply.language)}):** {md(reply.text)}")
    links = [_link(view.link, "Open in Vigie"), _link(view.get("url"), "Original")]
    lines.append(" · ".join(link for link in links if link))
    return "\n".join(lines)


def body(views: list[AlertView]) -> str:
    """The Markdown message for one alert, or a digest."""
    if len(views) == 1:
        text = _single(views[0])
    else:
        items = [
            f"• **{md(v.severity.upper())}** {md(v.title, 200)} {_link(v.link, 'open') or ''}"
            for v in views
        ]
        text = "\n".join([f"{len(views)} alerts while notifications were paused:", *items])
    return text if len(text) <= MAX_BODY else text[: MAX_BODY - 1] + "…"


def title(views: list[AlertView]) -> str:
    if len(views) > 1:
        return f"Vigie digest: {len(views)} alerts"
    view = views[0]
    prefix = "Update: " if view.revision > 1 else ""
    return " ".join(f"Vigie: {prefix}{view.title}".split())[:250]


def resolve(rules: BrandAlerts, key: str) -> str:
    """The URL behind a stored webhook key, from the config (and the environment)."""
    entries = rules.webhooks + [h for route in rules.routes for h in route.webhooks]
    entry = next((e for e in entries if webhook_key(e) == key), None)
    if entry is None:
        raise WebhookError(f"webhook {key} is no longer in the configuration", permanent=True)
    if not entry.startswith("env:"):
        return entry
    url = os.environ.get(entry[4:], "").strip()
    if not url:
        raise WebhookError(f"environment variable {entry[4:]} is not set", permanent=True)
    return url


def _with_idempotency_key(url: str, key: str) -> str:
    """Generic webhooks get an ``X-Vigie-Idempotency-Key`` header, so receivers can drop a
    retry they already have."""
    if url.split("://", 1)[0].lower() not in _HEADER_SCHEMES:
        return url
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}+X-Vigie-Idempotency-Key={quote(key, safe='')}"


def send(url: str, title: str, body: str, *, severe: bool, key: str) -> None:
    """Notify one target; raises ``WebhookError`` (with the reason, never the URL).

    A URL whose scheme a channel plugin claims goes to that plugin; any other to apprise."""
    channel = registry().channel_for(url.split("://", 1)[0])
    if channel is not None and channel.send is not None:
        try:
            channel.send(url, title, body, severe)
        except Exception as exc:  # a plugin's failure is a delivery failure, retried
            reason = str(exc).replace(url, "<url>")
            raise WebhookError(f"{channel.name}: {type(exc).__name__}: {reason}"[:300]) from None
        return
    client = apprise.Apprise()
    if not client.add(_with_idempotency_key(url, key.strip("<>"))):
        raise WebhookError("not a valid apprise URL (see the apprise documentation)", True)
    with apprise.LogCapture(level=logging.WARNING) as captured:
        ok = client.notify(
            body=body,
            title=title,
            notify_type=apprise.NotifyType.WARNING if severe else apprise.NotifyType.INFO,
            body_format=apprise.NotifyFormat.MARKDOWN,
        )
        reason = captured.getvalue().strip().splitlines()
    if not ok:
        raise WebhookError((reason[-1] if reason else "the target did not accept it")[:300])
