"""Hostile text: the normaliser and the storage layer, under property-based tests."""

from __future__ import annotations

import itertools
import unicodedata

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from monitor.mentions import MentionIn
from monitor.storage.ingest import store_mentions
from monitor.storage.normalise import clean_text
from monitor.storage.tables import Mention

NASTY = [
    "<script>alert(document.cookie)</script>",
    "<img src=x onerror=alert(1)>",
    "[click](javascript:alert(1)) **bold** `code` # heading",
    "Robert'); DROP TABLE mentions;--",
    "\u202eevil\u202c \u200b\u200d\ufeff",
    "x" * 100_000,
    "nul\x00byte",
    "lone \ud83d surrogate",
    "👩🏽‍🚒🏳️‍🌈 family 👨‍👩‍👧‍👦",
]
_ids = itertools.count()


@given(st.text())
def test_clean_text_is_storable_and_idempotent(value):
    cleaned = clean_text(value)
    cleaned.encode("utf-8")  # no lone surrogates left
    assert "\x00" not in cleaned
    assert clean_text(cleaned) == cleaned
    assert unicodedata.is_normalized("NFC", cleaned)


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1))
def test_clean_text_keeps_ordinary_text(value):
    if "\x00" not in value:
        assert clean_text(value) == unicodedata.normalize("NFC", value)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.one_of(st.text(), st.sampled_from(NASTY)), author=st.text(max_size=300))
def test_storage_round_trips_any_text(engine, now, text, author):
    external_id = f"h{next(_ids)}"
    mention = MentionIn(source="x", external_id=external_id, brand="Parkeo", text=text,
                        created_at=now, author=author)
    with engine.begin() as conn:
        store_mentions(conn, [mention], now)
    with engine.connect() as conn:
        row = conn.execute(
            select(Mention.text, Mention.author).where(Mention.external_id == external_id)
        ).one()
    assert row.text == clean_text(text)
    assert (row.author or "") == clean_text(author, 256)
