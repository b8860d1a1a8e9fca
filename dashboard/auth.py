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
import threading
import time
from dataclasses import dataclass, field

import streamlit as st

from dashboard.safe import md
from monitor.config import Settings
from monitor.passwords import PasswordHash

LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})
HASH_KEY = "VIGIE_DASHBOARD_PASSWORD_HASH"
SESSION_KEY = "vigie_auth"
USER_KEY = "vigie-user-name"
FREE_ATTEMPTS = 5
MAX_WAIT_SECONDS = 300.0


@dataclass
class Throttle:
    """Slows password guessing: after a few failures from one address, each try waits longer."""

    failures: dict[str, tuple[int, float]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_seconds(self, who: str, now: float) -> float:
        with self.lock:
            count, last = self.failures.get(who, (0, 0.0))
        if count < FREE_ATTEMPTS:
            return 0.0
        delay = min(2.0 ** (count - FREE_ATTEMPTS + 1), MAX_WAIT_SECONDS)
        return max(0.0, last + delay - now)

    def failed(self, who: str, now: float) -> None:
        with self.lock:
            count, _ = self.failures.get(who, (0, 0.0))
            self.failures[who] = (count + 1, now)

    def succeeded(self, who: str) -> None:
        with self.lock:
            self.failures.pop(who, None)


@st.cache_resource(show_spinner=False)
def _throttle() -> Throttle:
    return Throttle()


def is_local(address: str | None) -> bool:
    """Whether the server listens on the loopback interface only (empty means every interface)."""
    return bool(address) and address.strip("[]") in LOOPBACK


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


def _fingerprint(encoded: str) -> str:
    """Sessions remember which hash they logged in with, so changing the password logs all out."""
    return hashlib.sha256(encoded.encode()).hexdigest()[:16]


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


def _password_gate(encoded: str) -> bool:
    try:
        stored = PasswordHash.parse(encoded)
    except ValueError as exc:
        st.error(str(exc))
        return False
    if st.session_state.get(SESSION_KEY) == _fingerprint(encoded):
        with st.sidebar:
            st.button("Log out", on_click=st.session_state.pop, args=(SESSION_KEY,))
        return True
    _login_heading("This dashboard is protected by a password.")
    with st.form("vigie-password", border=True, width=420):
        password = st.text_input("Password", type="password", key="vigie-password-input")
        submitted = st.form_submit_button("Log in", type="primary")
    if submitted:
        _check(stored, encoded, password or "")
    return False


def _check(stored: PasswordHash, encoded: str, password: str) -> None:
    throttle, who, now = _throttle(), st.context.ip_address or "?", time.monotonic()
    wait = throttle.wait_seconds(who, now)
    if wait > 0:
        st.error(f"Too many failed attempts: try again in {wait:.0f} s.")
    elif stored.matches(password):
        throttle.succeeded(who)
        st.session_state[SESSION_KEY] = _fingerprint(encoded)
        st.rerun()
    else:
        throttle.failed(who, now)
        st.error("Wrong password.")


def gate(settings: Settings) -> bool:
    """Show a login where one is needed; True once the visitor may see the pages."""
    if oidc_configured():
        return _oidc_gate()
    encoded = password_hash(settings)
    if encoded is not None:
        return _password_gate(encoded)
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
    name = signed_in() or st.session_state.get(USER_KEY) or ""
    return name.strip() or None
