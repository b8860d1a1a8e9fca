"""The dashboard as ``python -m monitor dashboard`` serves it, attacked over its own protocol:
``clear_cache`` must not reset the password throttle, parallel sessions must not slip past it, a
foreign ``Host`` gets no session, uploads are refused, a session id replayed from another client
is not signed in, and a CSV URL dies soon after its session (Streamlit's
``disconnectedSessionTTL``, shortened here to keep the test short)."""

from __future__ import annotations

import contextlib
import http.client
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import websocket
from sqlalchemy import delete, insert

from monitor.cli import start_dashboard
from monitor.config import Settings
from monitor.passwords import hash_password
from monitor.storage.db import make_engine, upgrade
from monitor.storage.tables import LoginFailure
from tests.dashboard_seed import seed, write_config
from tests.streamlit_ws import Client, password_submit
from tests.test_browser_dashboard import _free_port, _wait_healthy

pytestmark = pytest.mark.slow
PASSWORD = "correct horse battery"
SESSION_TTL = 3


@dataclass
class Served:
    base: str
    port: int
    log: Path
    db_url: str

    def reset_throttle(self) -> None:
        engine = make_engine(self.db_url)
        with engine.begin() as conn:
            conn.execute(delete(LoginFailure))
        engine.dispose()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("served")
    db_url = f"sqlite:///{tmp / 'vigie.db'}"
    engine = make_engine(db_url)
    upgrade(engine)
    seed(engine)
    engine.dispose()
    port, log = _free_port(), tmp / "streamlit.log"
    with pytest.MonkeyPatch.context() as env, log.open("w") as out:
        env.setenv("DATABASE_URL", db_url)
        env.setenv("VIGIE_DASHBOARD_PASSWORD_HASH", hash_password(PASSWORD))
        env.setenv("VIGIE_TRUSTED_PROXIES", "127.0.0.1")
        env.setenv("STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL", str(SESSION_TTL))
        env.setenv("STREAMLIT_BROWSER_GATHER_USAGE_STATS", "false")
        config = write_config(tmp / "vigie.yaml")
        process = start_dashboard(
            Settings(), "127.0.0.1", port, config, stdout=out, stderr=subprocess.STDOUT, cwd=tmp
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, process, log)
        yield Served(base, port, log, db_url)
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture
def site(served: Served) -> Served:
    served.reset_throttle()
    return served


def _failed_before(site: Served, client: str, failures: int, seconds_ago: float) -> None:
    engine = make_engine(site.db_url)
    last = datetime.now(UTC) - timedelta(seconds=seconds_ago)
    with engine.begin() as conn:
        conn.execute(
            insert(LoginFailure),
            {"client": client, "failures": failures, "last_failure_at": last},
        )
    engine.dispose()


def _try(client: Client, password: str) -> str:
    return client.run(password_submit(client.run(), password)).page


def test_clearing_the_caches_does_not_reset_the_throttle(site: Served):
    client = Client(site.base)
    for _ in range(5):
        assert "Wrong password." in _try(client, "wrong guess")
    client.clear_cache()  # emptied st.cache_resource, where the counter used to live
    assert "Too many failed attempts" in _try(client, "wrong guess")
    client.close()
    assert "wrong dashboard password from 127.0.0.1 (5 failure(s) in a row)" in site.log.read_text()


def test_parallel_sessions_do_not_slip_past_the_throttle(site: Served):
    # Ten failures, the last 64 s ago: the next try may be checked, the one after waits 128 s.
    _failed_before(site, "127.0.0.1", 10, seconds_ago=64)
    clients = [Client(site.base) for _ in range(12)]
    forms = [c.run() for c in clients]
    with ThreadPoolExecutor(12) as pool:
        pages = list(pool.map(lambda cf: cf[0].run(password_submit(cf[1], "guess")).page,
                              zip(clients, forms, strict=True)))  # fmt: skip
    assert sum("Wrong password." in p for p in pages) == 1
    assert sum("Too many failed attempts" in p for p in pages) == 11
    for c in clients:
        c.close()


def test_behind_the_proxy_a_guesser_does_not_lock_out_the_others(site: Served):
    _failed_before(site, "198.51.100.66", 10, seconds_ago=0)
    guesser = Client(site.base, headers=["X-Forwarded-For: 198.51.100.66"])
    assert "Too many failed attempts" in _try(guesser, PASSWORD)
    colleague = Client(site.base, headers=["X-Forwarded-For: 198.51.100.7"])
    assert "Live" in _try(colleague, PASSWORD)
    guesser.close()
    colleague.close()


def test_a_foreign_host_gets_no_session(site: Served):
    with pytest.raises(websocket.WebSocketException):
        Client(site.base, host=f"rebind.evil.example:{site.port}").run()
    client = Client(site.base, host=f"localhost:{site.port}")
    assert "protected by a password" in client.run().page
    client.close()


def _put(site: Served, client: Client, size: int) -> int:
    """PUT a file to the upload URL, as the browser would; the server may answer before the
    body is all sent (it refuses on Content-Length), so the answer is read whatever happens."""
    boundary = "vigieboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    body = head + b"\0" * size + f"\r\n--{boundary}--\r\n".encode()
    connection = http.client.HTTPConnection("127.0.0.1", site.port, timeout=60)
    connection.putrequest("PUT", client.upload_urls("big.bin"))
    for name, value in {
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Content-Length": str(len(body)),
        "X-Xsrftoken": client.xsrf,
        "Cookie": f"_streamlit_xsrf={client.xsrf}",
    }.items():
        connection.putheader(name, value)
    connection.endheaders()
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        connection.send(body)
    status = connection.getresponse().status
    connection.close()
    return status


@pytest.mark.parametrize("size", [10, 20 * 1024 * 1024])
def test_uploads_are_refused(site: Served, size: int):
    client = Client(site.base)
    client.run()
    assert _put(site, client, size) == 413
    client.close()


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_a_leaked_session_id_or_csv_url_dies_with_the_session(site: Served):
    owner = Client(site.base, headers=["X-Forwarded-For: 198.51.100.7"])
    live = owner.run(password_submit(owner.run(), PASSWORD))
    live = owner.run()
    csv = site.base + next(url for url in live.media if url.endswith(".csv"))
    assert _status(csv) == 200  # while its session lives, the URL is the key (docs/dashboard.md)
    session = owner.session_id
    owner.close()
    thief = Client(site.base, session_id=session, headers=["X-Forwarded-For: 203.0.113.5"])
    assert "protected by a password" in thief.run().page  # same session, another client
    thief.close()
    time.sleep(SESSION_TTL + 4)  # the session ends: its CSV is marked for deletion...
    bystander = Client(site.base)
    bystander.run()
    bystander.close()
    time.sleep(SESSION_TTL + 4)  # ...and deleted when the next session ends
    assert _status(csv) == 404
    late = Client(site.base, session_id=session, headers=["X-Forwarded-For: 198.51.100.7"])
    assert "protected by a password" in late.run().page
    late.close()
