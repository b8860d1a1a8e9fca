"""The password throttle lives in the database: counted before each check (so parallel tries see
each other), per client address (the forwarded one behind a trusted proxy), with a cap for all
clients together, and forgiving once guessing stops."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine

from dashboard import throttle
from dashboard.auth import host_allowed
from monitor.config import Settings


def test_each_client_gets_five_free_tries_then_waits_longer(engine: Engine, now: datetime):
    for _ in range(5):
        assert throttle.reserve(engine, "1.2.3.4", now) == 0
    assert throttle.reserve(engine, "1.2.3.4", now) == 2.0
    assert throttle.reserve(engine, "5.6.7.8", now) == 0  # another client is not slowed
    later = now + timedelta(seconds=2)
    assert throttle.reserve(engine, "1.2.3.4", later) == 0
    assert throttle.reserve(engine, "1.2.3.4", later) == 4.0
    throttle.succeeded(engine, "1.2.3.4")
    assert throttle.reserve(engine, "1.2.3.4", later) == 0


def test_a_refused_try_does_not_extend_the_wait(engine: Engine, now: datetime):
    for _ in range(5):
        throttle.reserve(engine, "1.2.3.4", now)
    for second in range(2):  # an attacker hammering while throttled
        assert throttle.reserve(engine, "1.2.3.4", now + timedelta(seconds=second)) > 0
    assert throttle.reserve(engine, "1.2.3.4", now + timedelta(seconds=2)) == 0


def test_the_wait_is_capped_and_failures_are_forgotten(engine: Engine, now: datetime):
    moment = now
    for _ in range(20):
        moment += timedelta(seconds=throttle.reserve(engine, "1.2.3.4", moment))
        throttle.reserve(engine, "1.2.3.4", moment)
    assert throttle.reserve(engine, "1.2.3.4", moment) <= throttle.PER_CLIENT.max_wait
    forgotten = moment + throttle.FORGET_AFTER + timedelta(seconds=1)
    for _ in range(5):  # a fresh start an hour after the last failure
        assert throttle.reserve(engine, "1.2.3.4", forgotten) == 0


def test_parallel_tries_are_counted_before_any_is_checked(engine: Engine, now: datetime):
    with ThreadPoolExecutor(12) as pool:
        waits = list(pool.map(lambda _: throttle.reserve(engine, "9.9.9.9", now), range(12)))
    assert sum(w == 0 for w in waits) == 5
    assert throttle.failures(engine, "9.9.9.9") == 5


def test_rotating_addresses_still_meet_the_cap_for_everyone(engine: Engine, now: datetime):
    allowed = [throttle.reserve(engine, f"10.0.0.{n}", now) == 0 for n in range(40)]
    assert sum(allowed) == throttle.ALL_CLIENTS.free
    assert throttle.reserve(engine, "10.0.1.1", now + timedelta(seconds=2)) == 0


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("203.0.113.9", None, "203.0.113.9"),
        ("203.0.113.9", "198.51.100.7", "203.0.113.9"),  # not from a trusted proxy: ignored
        ("127.0.0.1", "198.51.100.7", "198.51.100.7"),
        ("127.0.0.1", "6.6.6.6, 198.51.100.7", "198.51.100.7"),  # the forged part is skipped
        ("127.0.0.1", "198.51.100.7, 10.1.1.1", "198.51.100.7"),  # a chain of trusted proxies
        ("127.0.0.1", "", "127.0.0.1"),
        (None, "198.51.100.7", "198.51.100.7"),  # Streamlit's None: a loopback peer
    ],
)
def test_the_client_is_the_address_the_trusted_proxy_saw(peer, forwarded, expected):
    proxies = frozenset({"127.0.0.1", "10.1.1.1"})
    assert throttle.client_address(peer, forwarded, proxies) == expected


def test_a_forged_address_is_bounded_text():
    key = throttle.client_address("127.0.0.1", "x" * 500 + "\x00é", frozenset({"127.0.0.1"}))
    assert len(key) <= throttle.CLIENT_KEY_CHARS and key.isascii()


@pytest.mark.parametrize(
    ("header", "allowed"),
    [
        (None, True),
        ("localhost:8501", True),
        ("127.0.0.1", True),
        ("[::1]:8501", True),
        ("vigie.example.com", True),
        ("VIGIE.example.com.", True),
        ("monitor.internal:443", True),
        ("evil.example", False),
        ("vigie.example.com.evil.example", False),
        ("user@vigie.example.com", False),
        ("", False),
    ],
)
def test_only_the_public_names_are_answered(
    header: str | None, allowed: bool, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("VIGIE_DASHBOARD_HOSTS", "monitor.internal")
    names = Settings().public_hosts("https://vigie.example.com/")
    assert host_allowed(header, names) is allowed
