"""Red-team figures for the dashboard (issue 18, items 1 and 3), re-run against the real server
on loopback as ``python -m monitor dashboard`` starts it, with a password set:

- 20 wrong guesses from one session, sending Streamlit's ``clear_cache`` after every 5: how many
  were checked (answered "Wrong password.") and how long they took;
- then, from the same (now throttled) address, 12 wrong guesses sent at once from 12 sessions:
  how many were checked;
- 15 uploads of 20 MB to the upload URLs any session can ask for: how many were kept, and the
  server's resident memory before and after.

    python bench/redteam_dashboard.py
"""

from __future__ import annotations

import contextlib
import http.client
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.cli import start_dashboard  # noqa: E402
from monitor.config import Settings  # noqa: E402
from monitor.passwords import hash_password  # noqa: E402
from monitor.storage.db import make_engine, upgrade  # noqa: E402
from tests.dashboard_seed import write_config  # noqa: E402
from tests.streamlit_ws import Client, password_submit  # noqa: E402
from tests.test_browser_dashboard import _free_port  # noqa: E402

MB = 1024 * 1024


def _rss_mb(pid: int) -> float:
    """Resident memory of the server and its children (streamlit runs under python -m)."""
    total = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            total = int(line.split()[1])
    return total / 1024


def _guess(client: Client, form: object) -> str:
    page = client.run(password_submit(form, "wrong guess")).page
    return "checked" if "Wrong password." in page else "refused"


def clear_cache_attack(base: str) -> None:
    client = Client(base)
    form = client.run()
    started, outcomes = time.monotonic(), []
    for n in range(20):
        if n and n % 5 == 0:
            client.clear_cache()
        outcomes.append(_guess(client, form))
    elapsed = time.monotonic() - started
    client.close()
    print(f"clear_cache every 5 guesses: {outcomes.count('checked')} of 20 guesses checked, "
          f"{outcomes.count('refused')} refused, in {elapsed:.1f} s")  # fmt: skip


def parallel_attack(base: str) -> None:
    clients = [Client(base) for _ in range(12)]  # the address the first attack throttled
    forms = [c.run() for c in clients]
    with ThreadPoolExecutor(12) as pool:
        outcomes = list(pool.map(_guess, clients, forms))
    for c in clients:
        c.close()
    print(f"12 parallel sessions: {outcomes.count('checked')} of 12 guesses checked")


def _put(port: int, client: Client, size: int) -> int:
    boundary = "b0undary"
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n").encode()  # fmt: skip
    body = head + b"\0" * size + f"\r\n--{boundary}--\r\n".encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.putrequest("PUT", client.upload_urls("f"))
    conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    conn.putheader("Content-Length", str(len(body)))
    conn.putheader("X-Xsrftoken", client.xsrf)
    conn.putheader("Cookie", f"_streamlit_xsrf={client.xsrf}")
    conn.endheaders()
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        conn.send(body)
    status = conn.getresponse().status
    conn.close()
    return status


def upload_attack(port: int, pid: int) -> None:
    client = Client(f"http://127.0.0.1:{port}")
    client.run()
    before = _rss_mb(pid)
    statuses = [_put(port, client, 20 * MB) for _ in range(15)]
    time.sleep(2)
    after = _rss_mb(pid)
    client.close()
    kept = sum(s in (200, 204) for s in statuses)
    print(f"15 uploads of 20 MB: {kept} kept, {statuses.count(413)} refused (413); "
          f"server RSS {before:.0f} -> {after:.0f} MB")  # fmt: skip


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db_url = f"sqlite:///{tmp}/vigie.db"
        upgrade(make_engine(db_url))
        port = _free_port()
        env = {"DATABASE_URL": db_url, "VIGIE_DASHBOARD_PASSWORD_HASH": hash_password("s3cret-pw"),
               "VIGIE_TRUSTED_PROXIES": "127.0.0.1"}  # fmt: skip
        os.environ.update(env)
        config = write_config(Path(tmp) / "vigie.yaml")
        log = open(Path(tmp) / "streamlit.log", "w")  # noqa: SIM115 (lives as long as the server)
        server = start_dashboard(Settings(), "127.0.0.1", port, config, stdout=log,
                                 stderr=subprocess.STDOUT, cwd=tmp)  # fmt: skip
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(120):
                with contextlib.suppress(OSError):
                    Client(base).close()
                    break
                time.sleep(0.5)
            clear_cache_attack(base)
            parallel_attack(base)
            upload_attack(port, server.pid)
        finally:
            server.terminate()
            server.wait(timeout=20)
            log.close()


if __name__ == "__main__":
    main()
