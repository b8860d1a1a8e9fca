"""What an incident email says: its people's words and stars, statements in their languages, what
changed since the last email, and a follow-up only when the incident escalates."""

from __future__ import annotations

import email
from datetime import timedelta
from email.policy import default as default_policy

from sqlalchemy import select, update

from monitor.alerts.deliver import deliver_pending
from monitor.alerts.replies import STATEMENTS, statement_languages
from monitor.config import Settings
from monitor.storage.tables import Alert, Incident, IncidentMention, Mention
from monitor.timebins import bin_width, binned
from tests.alerts_fixtures import add_mention, alert_id, queue, write_config

ONE = "      recipients: [lead@acme.test]"


def _mail(tmp_path, name):
    raw = (tmp_path / "outbox" / f"{name}.eml").read_bytes()
    msg = email.message_from_bytes(raw, policy=default_policy)
    return msg.get_body(("plain",)).get_content(), msg.get_body(("html",)).get_content()


def _incident(engine, now, members):
    with engine.begin() as conn:
        incident = conn.execute(Incident.__table__.insert().returning(Incident.id), {
            "brand": "Acme", "title": "storing", "terms": {}, "size": len(members),
            "authors": len(members), "languages": {}, "risk": 0.5, "reasons": {},
            "first_seen": now - timedelta(hours=1), "last_seen": now, "status": "open",
        }).scalar_one()
        conn.execute(IncidentMention.__table__.insert(),
                     [{"incident_id": incident, "mention_id": m} for m in members])
    return incident


def _members(engine, now, languages, start=0):
    ids = []
    for n, lang in enumerate(languages, start):
        text = {"nl": f"Storing, app doet niks {n}", "fr": f"Panne, l'appli plante {n}",
                "en": f"App does not work {n}"}[lang]
        if n == start:
            text = "<script>alert('x')</script> Zoveelste storing"
        mention = add_mention(engine, now, text=text, language=lang, author=f"u{n}",
                              external_id=f"r{n}")
        with engine.begin() as conn:
            conn.execute(update(Mention).where(Mention.id == mention).values(rating=1 + n % 2))
        ids.append(mention)
    return ids


def _raise(engine, now, incident, size):
    details = {"incident_id": incident, "similar_count": size}
    return queue(engine, now, f"incident:{incident}", kind="incident", details=details,
                 metric=float(size), title="People complain about Acme")


def _send(engine, config, tmp_path, now):
    deliver_pending(engine, config, Settings(VIGIE_DATA_DIR=str(tmp_path)), now)


def test_statements_go_to_every_language_with_a_fifth_of_the_mentions():
    assert statement_languages({"nl": 9, "fr": 3, "en": 2}) == ["nl", "fr"]
    assert statement_languages({"fr-BE": 20, "nl": 6, "en": 3, "?": 1}) == ["fr", "nl"]
    assert statement_languages({"en": 1, "de": 1, "es": 1, "it": 1, "pt": 1, "fr": 1}) == []
    assert statement_languages({}) == []


def test_incident_email_quotes_people_with_stars_and_has_both_statements(
    engine, tmp_path, now
):
    config = write_config(tmp_path, ONE)
    incident = _incident(engine, now, _members(engine, now, ["nl"] * 6 + ["fr"] * 3 + ["en"]))
    _raise(engine, now, incident, 10)
    _send(engine, config, tmp_path, now)
    plain, html = _mail(tmp_path, f"alert-{alert_id(engine, f'incident:{incident}'):08d}-r1")
    quotes = [line for line in plain.splitlines() if line.startswith("> ")]
    assert 3 <= len(quotes) <= 5
    assert "★☆☆☆☆" in plain and "★★☆☆☆" in plain
    assert {"nl", "fr", "en"} <= {w for line in plain.splitlines() if line.startswith("  — ")
                                  for w in line.split(" · ")}
    assert "Languages: nl 6 · fr 3 · en 1" in plain
    for lang in ("nl", "fr"):
        assert f"Suggested statement ({lang})" in plain
        assert STATEMENTS[lang].split("{")[0].strip()[:40] in plain
    assert "Suggested statement (en)" not in plain
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'lang="nl"' in html and 'lang="fr"' in html


def test_follow_up_only_on_escalation_and_it_says_what_changed(engine, tmp_path, now):
    config = write_config(tmp_path, ONE)
    first = _members(engine, now, ["fr"] * 8)
    incident = _incident(engine, now, first)
    assert _raise(engine, now, incident, 8)
    _send(engine, config, tmp_path, now)

    # Growing by a quarter, in the same language and source: no follow-up.
    more_fr = _members(engine, now, ["fr"] * 2, start=100)
    with engine.begin() as conn:
        conn.execute(IncidentMention.__table__.insert(),
                     [{"incident_id": incident, "mention_id": m} for m in more_fr])
    assert not _raise(engine, now + timedelta(hours=1), incident, 10)

    # Dutch now holds more than a fifth of it: a follow-up, in both languages.
    dutch = _members(engine, now, ["nl"] * 4, start=200)
    with engine.begin() as conn:
        conn.execute(IncidentMention.__table__.insert(),
                     [{"incident_id": incident, "mention_id": m} for m in dutch])
    assert _raise(engine, now + timedelta(hours=2), incident, 14)
    _send(engine, config, tmp_path, now + timedelta(hours=2))
    plain, html = _mail(tmp_path, f"alert-{alert_id(engine, f'incident:{incident}'):08d}-r2")
    assert "What changed since the last email:" in plain
    assert "- nl now holds 29% of it" in plain
    assert "Suggested statement (nl)" in plain and "Suggested statement (fr)" in plain
    assert "What changed since the last email" in html

    # Doubling the count is an escalation too, and says so.
    assert _raise(engine, now + timedelta(hours=3), incident, 28)
    with engine.connect() as conn:
        changes = conn.execute(select(Alert.details)).scalar_one()["changes"]
    assert changes == ["14 → 28 (×2.0)"]


def test_bins_fit_the_incidents_length():
    assert bin_width(timedelta(minutes=90)) == timedelta(minutes=10)
    assert bin_width(timedelta(hours=7)) == timedelta(hours=1)
    assert bin_width(timedelta(days=30)) == timedelta(days=7)
    from datetime import UTC, datetime

    start = datetime(2026, 3, 2, 9, 3, tzinfo=UTC)
    width, bins = binned([start + timedelta(minutes=7 * i) for i in range(14)])
    assert width == timedelta(minutes=10) and sum(n for _, n in bins) == 14
    assert bins[0][0] == datetime(2026, 3, 2, 9, 0, tzinfo=UTC) and len(bins) <= 12
