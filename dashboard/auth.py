"""Who may open the dashboard.

On the local machine nobody is asked anything. Anything wider needs one of two locks (see the
README's "Dashboard" section): a password whose scrypt hash is in ``VIGIE_DASHBOARD_PASSWORD_HASH``
(the environment, or a root-level key of Streamlit's secrets.toml; ``python -m monitor
hash-password`` prints one), or single sign-on through ``st.login`` when an ``[auth]`` section is
configured in secrets.toml. Without either, a dashboard bound beyond localhost shows no data.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from math import ceil
from urllib.parse import urlsplit

import streamlit as st
from sqlalchemy import Engine

from dashboard import throttle
from dashboard.safe import md, typed
from monitor.config import LOOPBACK, Settings
from monitor.passwords import PasswordHash

EngineFn = Callable[[], Engine]

HASH_KEY = "VIGIE_DASHBOARD_PASSWORD_HASH"
SESSION_KEY = "vigie_auth"
USER_KEY = "vigie-user-name"
log = logging.getLogger(__name__)


def is_local(address: str | None) -> bool:
    """Whether the server listens on the loopback interface only (empty means every interface)."""
    return bool(address) and address.strip("[]") in LOOPBACK


def host_allowed(header: str | None, names: frozenset[str]) -> bool:
    """Whether a ``Host`` header (port ignored) is one of ``names``; a run without an HTTP
    request behind it (Streamlit's test harness) has none."""
    if header is None:
        return True
    try:
        parts = urlsplit(f"//{header}")
        _ = parts.port  # a malformed port raises
    except ValueError:
        return False
    if parts.username is not None or parts.path or parts.query or parts.fragment:
        return False
    return parts.hostname is not None and parts.hostname.rstrip(".") in names


def refuse_foreign_host(settings: Settings, dashboard_url: str | None) -> bool:
    """Show nothing to a request for a name the dashboard is not served under."""
    if host_allowed(_text(st.context.headers.get("host")), settings.public_hosts(dashboard_url)):
        return False
    st.title("Vigie")
    st.error(
        "This dashboard is not served under this address. Add the name to dashboard_url in the "
        "config or to VIGIE_DASHBOARD_HOSTS (see docs/dashboard.md)."
    )
    return True


def _secret(name: str) -> object | None:
    try:
        return st.secrets.get(name)
    except FileNotFoundError:
        return None


def oidc_configured() -> bool:
    return _secret("auth") is not None


def password_hash(settings: Settings) -> str | None:
    """The stored password hash: from the environment, else from secrets.toml (where a hosted
    Streamlit keeps its secrets)."""
    if settings.dashboard_password_hash is not None:
        return settings.dashboard_password_hash.get_secret_value()
    stored = _secret(HASH_KEY)
    return str(stored) if stored else None


def _fingerprint(encoded: str, client: str) -> str:
    """Sessions remember which hash they logged in with, so changing the password logs all out,
    and from which client address, so a session id replayed from elsewhere is not signed in."""
    return hashlib.sha256(f"{encoded}\n{client}".encode()).hexdigest()[:16]


def _text(value: object) -> str | None:
    """A request detail when there is one (Streamlit's test harness has no request behind it)."""
    return value if isinstance(value, str) else None


def _client(settings: Settings) -> str:
    forwarded = _text(st.context.headers.get("x-forwarded-for"))
    return throttle.client_address(_text(st.context.ip_address), forwarded, settings.proxies)


def _login_heading(detail: str) -> None:
    st.title("Vigie")
    st.caption(detail)


def _oidc_gate() -> bool:
    if st.user.is_logged_in:
        with st.sidebar:
            who = st.user.get("email") or st.user.get("name") or "you"
            st.caption(f"Signed in as {md(str(who))}")
            st.button("Log out", on_click=st.logout, key="vigie-logout")
        return True
    _login_heading("Sign in with your organisation's account to see the dashboard.")
    if importlib.util.find_spec("authlib") is None:
        st.error(
            "Single sign-on is configured but Authlib is missing: pip install 'Authlib>=1.3.2'"
        )
        return False
    st.button("Log in", type="primary", on_click=st.login, key="vigie-login")
    return False


def _password_gate(encoded: str, settings: Settings, engine: EngineFn) -> bool:
    try:
        stored = PasswordHash.parse(encoded)
    except ValueError as exc:
        st.error(str(exc))
        return False
    if st.session_state.get(SESSION_KEY) == _fingerprint(encoded, _client(settings)):
        with st.sidebar:
            st.button("Log out", on_click=st.session_state.pop, args=(SESSION_KEY,))
        return True
    _login_heading("This dashboard is protected by a password.")
    with st.form("vigie-password", border=True, width=420):
        password = st.text_input("Password", type="password", key="vigie-password-input")
        submitted = st.form_submit_button("Log in", type="primary")
    if submitted:
        _check(stored, encoded, password or "", settings, engine)
    return False


def _check(
    stored: PasswordHash, encoded: str, password: str, settings: Settings, engine: EngineFn
) -> None:
    """Count the try, then check it: parallel tries see each other's counts (dashboard.throttle)."""
    who = _client(settings)
    wait = throttle.reserve(engine(), who, datetime.now(UTC))
    if wait > 0:
        log.warning("dashboard password try from %s refused: throttled for %d s", who, ceil(wait))
        st.error(f"Too many failed attempts: try again in {ceil(wait)} s.")
    elif stored.matches(password):
        throttle.succeeded(engine(), who)
        st.session_state[SESSION_KEY] = _fingerprint(encoded, who)
        st.rerun()
    else:
        count = throttle.failures(engine(), who)
        log.warning("wrong dashboard password from %s (%d failure(s) in a row)", who, count)
        st.error("Wrong password.")


def gate(settings: Settings, engine: EngineFn) -> bool:
    """Show a login where one is needed; True once the visitor may see the pages. ``engine``
    opens the database that counts failed passwords (only called when one is typed)."""
    if oidc_configured():
        return _oidc_gate()
    encoded = password_hash(settings)
    if encoded is not None:
        return _password_gate(encoded, settings, engine)
    if is_local(st.get_option("server.address")):
        return True
    _login_heading("This dashboard is reachable from other machines, so it needs a lock.")
    st.error(
        "No password or single sign-on is configured. Set VIGIE_DASHBOARD_PASSWORD_HASH "
        "(python -m monitor hash-password prints it) or an [auth] section in secrets.toml, "
        "or serve it on localhost only (--address localhost). See the README, Dashboard."
    )
    return False


def signed_in() -> str | None:
    """The single sign-on account of the visitor, if any."""
    if oidc_configured() and st.user.is_logged_in:
        return st.user.get("email") or st.user.get("name")
    return None


def user_name() -> str | None:
    """Who is acting, for assignments and corrections: the signed-in account, else the name
    typed in the sidebar."""
    return typed(signed_in() or st.session_state.get(USER_KEY), 128) or None
