"""Layouts of incident, spike, silent-source and digest alerts, written to the ``.eml`` outbox
(no SMTP server configured), plus the reply suggestions and figures they show."""

from __future__ import annotations

import email
from datetime import UTC, datetime, timedelta
from email.policy import default as default_policy

import pytest

from monitor.alerts.deliver import deliver_pending
from monitor.alerts.replies import CONTACTS, REPLIES, STATEMENTS, suggest
from monitor.alerts.view import forecast_sentence
from monitor.config import BrandAlerts, ConfigError, Settings
from monitor.storage.tables import Incident, IncidentMention
from tests.alerts_fixtures import add_mention, alert_id, queue, write_config

ONE = "      recipients: [lead@acme.test]"


def _eml(tmp_path, name):
    raw = (tmp_path / "outbox" / f"{name}.eml").read_bytes()
    msg = email.message_from_bytes(raw, policy=default_policy)
    return msg, msg.get_body(("plain",)).get_content(), msg.get_body(("html",)).get_content()


def _incident(engine, now, mentions):
    with engine.begin() as conn:
        incident = conn.execute(
            Incident.__table__.insert().returning(Incident.id),
            {
                "brand": "Acme",
                "title": "fined despite subscription",
                "terms": {"fined": 3, "subscription": 2},
                "size": 23,
                "authors": 21,
                "languages": {"fr": 20, "nl": 3},
                "risk": 0.7,
                "reasons": {},
                "first_seen": now - timedelta(hours=1),
                "last_seen": now,
                "status": "open",
            },
        ).scalar_one()
        conn.execute(
            IncidentMention.__table__.insert(),
            [{"incident_id": incident, "mention_id": m} for m in mentions],
        )
    return incident


def test_incident_alert_shows_size_examples_chart_and_a_statement(engine, tmp_path, now):
    config = write_config(tmp_path, ONE)
    mentions = [
        add_mention(engine, now - timedelta(minutes=9 * n), text=f"amende {n}", external_id=f"i{n}")
        for n in range(5)
    ]
    incident = _incident(engine, now, mentions)
    examples = [
        {
            "text": "<b>Amende</b> alors que j'ai payé",
            "author": "<i>léa</i>",
            "url": "javascript:x",
        },
        {"text": "Encore une amende", "author": "tom", "url": "https://social.example/2"},
        {"text": "PV injustifié", "author": None, "url": "https://social.example@evil.example/3"},
        {"text": "a fourth one is shown", "author": "x", "url": None},
    ]
    details = {"incident_id": incident, "examples": examples, "language": "fr", "count": 23}
    queue(engine, now, f"incident:{incident}", kind="incident", severity="high", details=details)

    deliver_pending(engine, config, Settings(VIGIE_DATA_DIR=str(tmp_path)), now)

    msg, plain, html = _eml(tmp_path, f"alert-{alert_id(engine, f'incident:{incident}'):08d}-r1")
    assert msg["To"] == "lead@acme.test"
    assert "Similar complaints: 23 similar complaints" in plain
    assert "Top terms: fined, subscription" in plain
    assert "&lt;b&gt;Amende&lt;/b&gt;" in html and "<b>Amende" not in html
    assert "&lt;i&gt;léa&lt;/i&gt;" in html
    assert "javascript:" not in html and "evil.example" not in html
    assert "a fourth one is shown" in plain  # 5 examples: the 4 chosen, then an incident member
    assert "amende 0" in plain and "amende 3" not in plain
    statement = suggest(BrandAlerts(), "Acme", "fr", statement=True).text
    assert "Suggested statement (fr)" in plain and statement in plain
    assert f"https://vigie.example.test/?incident={incident}" in plain
    assert any(p.get_content_type() == "image/png" for p in msg.walk())


def test_volume_spike_alert_has_figures_and_no_reply(engine, tmp_path, now):
    config = write_config(tmp_path, ONE)
    for n in range(30):
        add_mention(engine, now - timedelta(minutes=n * n / 3), text=f"m{n}", external_id=f"v{n}")
    details = {"count": 40, "baseline": 4.0, "window_minutes": 10, "top_terms": ["fine", "app"]}
    queue(engine, now, "volume:1", kind="volume", details=details, title="Spike <for> Acme")

    deliver_pending(engine, config, Settings(VIGIE_DATA_DIR=str(tmp_path)), now)

    msg, plain, html = _eml(tmp_path, f"alert-{alert_id(engine, 'volume:1'):08d}-r1")
    assert "Mentions: 40 in 10 min (usually 4.0)" in plain
    assert "Suggested" not in plain
    assert "Spike &lt;for&gt; Acme" in html
    assert any(p.get_content_type() == "image/png" for p in msg.walk())


def test_silent_source_alert_says_what_to_check(engine, tmp_path, now):
    config = write_config(tmp_path, ONE)
    details = {
        "source": "reddit",
        "collector": "reddit:Acme",
        "last_new_at": "2026-11-23T09:00:00+00:00",
        "runs_without_new": 12,
        "last_error": "HTTP 401 <unauthorized>",
    }
    queue(engine, now, "silent:reddit", kind="silent", details=details, title="Reddit is silent")

    deliver_pending(engine, config, Settings(VIGIE_DATA_DIR=str(tmp_path)), now)

    _, plain, html = _eml(tmp_path, f"alert-{alert_id(engine, 'silent:reddit'):08d}-r1")
    assert "No new mention from reddit:Acme since 2026-11-23T09:00:00+00:00." in plain
    assert "12 runs in a row brought nothing" in plain
    assert "HTTP 401 &lt;unauthorized&gt;" in html
    assert "Suggested" not in plain


def test_digest_lists_every_alert_escaped(engine, tmp_path):
    config = write_config(
        tmp_path,
        ONE + '\n      quiet_hours: {start: "00:00", end: "06:00", timezone: UTC}',
    )
    night = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    queue(engine, night, "a", title="<script>one</script>", details={"text": "first <b>"})
    queue(engine, night, "b", title="two")
    settings = Settings(VIGIE_DATA_DIR=str(tmp_path))
    deliver_pending(engine, config, settings, night)
    deliver_pending(engine, config, settings, night.replace(hour=6))

    [path] = (tmp_path / "outbox").glob("digest-*.eml")
    msg, plain, html = _eml(tmp_path, path.stem)
    assert msg["Subject"] == "[Vigie] Digest: 2 alerts for Acme"
    assert "<script>one</script>" in plain and "two" in plain
    assert "<script>" not in html and "&lt;script&gt;one" in html
    assert "“first &lt;b&gt;”" in html


@pytest.mark.parametrize("language", sorted(REPLIES))
def test_default_replies_exist_in_every_language_and_name_a_way_to_reach_us(language):
    reply = suggest(BrandAlerts(), "Acme", language)
    statement = suggest(BrandAlerts(), "Acme", language, statement=True)
    assert reply.language == statement.language == language
    assert CONTACTS[language] in reply.text and CONTACTS[language] in statement.text
    assert "{" not in reply.text + statement.text
    assert (
        set(REPLIES)
        == set(STATEMENTS)
        == set(CONTACTS)
        == {"en", "fr", "nl", "de", "es", "it", "pt"}
    )


def test_brand_templates_override_defaults_and_bad_placeholders_are_refused(tmp_path):
    rules = BrandAlerts.model_validate(
        {
            "replies": {"FR": "Bonjour {author}, {brand} s'en occupe : écrivez à {contact}."},
            "reply_contact": {"fr": "aide@acme.test"},
        }
    )
    reply = suggest(rules, "Acme", "fr-BE", author="léa")
    assert reply.text == "Bonjour léa, Acme s'en occupe : écrivez à aide@acme.test."
    assert (
        suggest(rules, "Acme", "fr").text == "Bonjour, Acme s'en occupe : écrivez à aide@acme.test."
    )
    with pytest.raises(ConfigError, match=r"unknown placeholder.*customer"):
        write_config(tmp_path, '      replies: {en: "Hi {customer}"}')
    with pytest.raises(ConfigError, match=r"quiet_hours\.timezone"):
        write_config(tmp_path, '      quiet_hours: {start: "22:00", end: "07:00", timezone: Mars}')


ETAS = (20, 2400, 7800, 40000, 300000)


def test_forecast_and_durations_read_naturally():
    details = {"forecast_final": 4812.4, "forecast_horizon_hours": 6, "threshold_earliest_s": 0}
    assert forecast_sentence(details) == "≈ 4,812 reshares within 6 h, crossing your threshold now"
    assert forecast_sentence({}) is None
    etas = [
        forecast_sentence(
            {"forecast_final": 900, "threshold_earliest_s": s, "threshold_latest_s": s}
        )
        for s in ETAS
    ]
    assert [e.split("threshold ")[1] for e in etas if e] == [
        "within a minute",
        "in ~40 min",
        "in ~2 h 10",
        "in ~11 h 07",
        "in ~3 d 11 h",
    ]
