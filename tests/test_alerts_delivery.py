"""Alert emails through a real SMTP server on loopback: content, outages, refusals, TLS + login.

Every test runs on a SQLite file and on the local PostgreSQL (the ``engine`` fixture).
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address

import pytest
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from monitor.alerts.deliver import deliver_pending
from monitor.alerts.outbox import delivery_state
from monitor.alerts.replies import REPLIES, suggest
from monitor.clock import SystemClock
from monitor.scheduler import Pipeline, run_forever
from tests.alerts_fixtures import (
    SmtpSink,
    add_mention,
    alert_id,
    deliveries,
    queue,
    write_config,
)

HOSTILE_TEXT = (
    "@Acme fined AGAIN <script>alert('x')</script> although I paid "
    '<a href="https://evil.example">my pass</a> & "quotes"'
)
HOSTILE_AUTHOR = '<img src=x onerror="alert(1)">'
FORECAST = {
    "forecast_final": 4800,
    "forecast_low": 3900,
    "forecast_high": 5600,
    "forecast_horizon_hours": 6,
    "seconds_to_threshold": 2400,
    "threshold_earliest_s": 1200,
    "threshold_latest_s": 6000,
    "threshold": 1000,
    "risk": 0.82,
    "risk_reasons": ["author reach 12k", "reshares doubling every 20 min"],
}
TWO = "      recipients: [lead@acme.test, oncall@acme.test]"


@pytest.fixture
def smtp():
    sink = SmtpSink().start()
    yield sink
    sink.stop()


def test_alert_email_has_both_parts_escaped_content_chart_and_reply_in_french(
    engine, smtp, tmp_path, now
):
    config = write_config(tmp_path, "      recipients: [lead@acme.test]")
    mention = add_mention(
        engine, now, text=HOSTILE_TEXT, author=HOSTILE_AUTHOR, url="javascript:alert(1)"
    )
    details = {"reshares": 420, "reshares_per_hour": 250.0, **FORECAST}
    queue(engine, now, "spreading:1", mention_id=mention, severity="high", details=details)

    assert deliver_pending(engine, config, smtp.settings(tmp_path), now) == 1

    [received] = smtp.recorder.messages
    msg = received.message
    assert received.rcpt == ["lead@acme.test"]
    assert msg["To"] == "lead@acme.test"
    assert msg["Subject"].startswith("[Vigie] HIGH · Alert spreading:1")
    assert msg["Message-ID"].startswith(f"<vigie.alert-{alert_id(engine, 'spreading:1')}.1.")
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["X-Vigie-Mention"] == str(mention)
    types = [part.get_content_type() for part in msg.walk()]
    assert {"text/plain", "text/html", "image/png"} <= set(types)

    plain = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert HOSTILE_TEXT in plain  # the plain part shows it as it was written
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<img src=x" not in html and "&lt;img src=x" in html
    assert '<a href="https://evil.example">' not in html
    assert "javascript:" not in html.replace("&lt;script&gt;alert", "")
    assert "≈ 4,800 reshares within 6 h (likely 3,900–5,600)" in plain
    assert "crossing your threshold of 1,000 between ~20 min and ~1 h 40 from now" in plain
    assert "negative (93%) · complaint (88%)" in plain
    assert "12,400 followers" in plain
    assert f"https://vigie.example.test/?mention={mention}" in html

    french = suggest(config.brands[0].alerts, "Acme", "fr").text
    assert french.startswith(REPLIES["fr"][:30])
    assert french in plain and 'lang="fr"' in html

    [image] = [p for p in msg.walk() if p.get_content_type() == "image/png"]
    assert image.get_content().startswith(b"\x89PNG")
    assert f"cid:{image['Content-ID'].strip('<>')}" in html

    [row] = deliveries(engine)
    assert (row.channel, row.target, row.status, row.message_id) == (
        "email",
        "lead@acme.test",
        "sent",
        msg["Message-ID"],
    )


def test_reply_follows_the_language_of_each_mention(engine, smtp, tmp_path, now):
    config = write_config(tmp_path, "      recipients: [lead@acme.test]")
    for n, language in enumerate(["nl", "de", "es", "it", "pt", "ja"]):
        mention = add_mention(engine, now, text=f"post {n}", language=language, external_id=f"m{n}")
        queue(engine, now, f"spreading:{n}", mention_id=mention, details={"reshares": 50})

    deliver_pending(engine, config, smtp.settings(tmp_path), now)

    by_alert = {
        m.message["X-Vigie-Alert-Ids"]: m.message.get_body(("html",)).get_content()
        for m in smtp.recorder.messages
    }
    languages = [
        next(
            lang
            for lang in REPLIES
            if f'lang="{lang}"' in by_alert[str(alert_id(engine, f"spreading:{n}"))]
        )
        for n in range(6)
    ]
    # Japanese has no template: the brand's first language (nl) is used instead.
    assert languages == ["nl", "de", "es", "it", "pt", "nl"]


def test_smtp_down_for_a_while_then_up_delivers_every_alert_once(engine, tmp_path, now):
    config = write_config(tmp_path, TWO)
    sink = SmtpSink()  # not started: connections are refused
    settings = sink.settings(tmp_path)
    for n in range(5):
        queue(engine, now, f"volume:{n}", kind="volume", details={"count": 40 + n})

    assert deliver_pending(engine, config, settings, now) == 0
    rows = deliveries(engine)
    assert len(rows) == 10
    assert {(r.status, r.attempts) for r in rows} == {("pending", 1)}
    assert all("ConnectionRefusedError" in r.last_error for r in rows)

    # Still down at the next attempt: backoff grows, nothing is lost.
    assert deliver_pending(engine, config, settings, now + timedelta(seconds=31)) == 0
    assert {r.attempts for r in deliveries(engine)} == {2}
    later = now + timedelta(seconds=31) + timedelta(minutes=1)
    assert min(r.next_attempt_at for r in deliveries(engine)) == later

    sink.start()
    try:
        assert deliver_pending(engine, config, settings, later - timedelta(seconds=1)) == 0
        assert deliver_pending(engine, config, settings, later) == 10
        assert deliver_pending(engine, config, settings, later + timedelta(hours=2)) == 0
    finally:
        sink.stop()

    keys = sink.recorder.keys()
    assert len(keys) == len(set(keys)) == 10
    states = delivery_state(engine, [alert_id(engine, f"volume:{n}") for n in range(5)])
    assert {s.status for s in states.values()} == {"sent"}
    assert all(s.sent_at == later for s in states.values())


def test_temporary_refusal_is_retried_and_permanent_refusal_is_not(engine, smtp, tmp_path, now):
    config = write_config(tmp_path, TWO)
    smtp.recorder.refuse_rcpt["oncall@acme.test"] = "550 5.1.1 mailbox unavailable"
    smtp.recorder.data_replies.append("451 4.3.0 try again later")
    queue(engine, now, "incident:1", kind="incident", details={"similar_count": 12})
    settings = smtp.settings(tmp_path)

    assert deliver_pending(engine, config, settings, now) == 0
    by_target = {r.target: r for r in deliveries(engine)}
    assert by_target["lead@acme.test"].status == "pending"
    assert "451" in by_target["lead@acme.test"].last_error
    assert by_target["oncall@acme.test"].status == "failed"
    assert "550" in by_target["oncall@acme.test"].last_error

    assert deliver_pending(engine, config, settings, now + timedelta(minutes=5)) == 1
    assert smtp.recorder.keys() == [("lead@acme.test", by_target["lead@acme.test"].message_id)]
    [state] = delivery_state(engine, [alert_id(engine, "incident:1")]).values()
    assert state.status == "partial"


def _certificate(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    start = datetime.now(UTC) - timedelta(days=1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=7))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(IPv4Address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@pytest.mark.parametrize("password", ["s3cret-pw", "wrong-pw"])
def test_starttls_and_login_from_env_and_the_password_never_shows(
    engine, tmp_path, now, monkeypatch, caplog, password
):
    cert_file, key_file = _certificate(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert_file, key_file)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))  # the client trusts our test CA only

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == b"vigie" and auth_data.password == b"s3cret-pw"
        return AuthResult(success=ok, handled=False)

    sink = SmtpSink(
        tls_context=server_tls,
        require_starttls=True,
        auth_required=True,
        authenticator=authenticate,
    ).start()
    config = write_config(tmp_path, "      recipients: [lead@acme.test]")
    settings = sink.settings(
        tmp_path, SMTP_SECURITY="starttls", SMTP_USER="vigie", SMTP_PASSWORD=password
    )
    queue(engine, now, "spreading:9", details={"text": "hello"})
    try:
        with caplog.at_level(logging.DEBUG):
            sent = deliver_pending(engine, config, settings, now)
    finally:
        sink.stop()

    [row] = deliveries(engine)
    if password == "s3cret-pw":
        assert sent == 1 and row.status == "sent"
        assert len(sink.recorder.messages) == 1
    else:
        assert sent == 0 and row.status == "pending"
        assert "login refused" in row.last_error
        assert not sink.recorder.messages
    assert password not in caplog.text
    assert password not in (row.last_error or "")


def test_scheduler_sender_delivers_without_waiting_for_the_next_cycle(engine, smtp, tmp_path):
    config = write_config(tmp_path, "      recipients: [lead@acme.test]")
    pipeline = Pipeline(engine, config, smtp.settings(tmp_path), SystemClock(), [])
    stop = threading.Event()
    # One processing cycle at start, the next in an hour: only the sender thread can deliver.
    scheduler = threading.Thread(target=run_forever, args=(pipeline, 3600, stop))
    scheduler.start()
    try:
        _wait(lambda: pipeline.sender is not None)
        queue(engine, datetime.now(UTC), "spreading:live", details={"text": "now"})
        _wait(lambda: smtp.recorder.messages)
    finally:
        stop.set()
        scheduler.join()
    [received] = smtp.recorder.messages
    assert received.message["X-Vigie-Alert-Ids"] == str(alert_id(engine, "spreading:live"))
    assert pipeline.sender is None


def _wait(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
