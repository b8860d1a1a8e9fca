"""The built-in detectors as plugins: what each runs and how its alerts read.

Registered through :mod:`monitor.plugins` like a third party's detector would be; the alert
composers (email, chat) read each kind's :class:`~monitor.plugins.AlertKind` instead of testing
kind names.
"""

from __future__ import annotations

from typing import Any

from monitor.alerts.view import fmt_int
from monitor.detection.incidents import detect_incidents
from monitor.detection.spikes import spike_alerts
from monitor.detection.virality import spreading_alerts
from monitor.plugins import AlertKind, DetectorPlugin


def silent_sentence(details: dict[str, Any]) -> str:
    """Why a source looks blind, and what it last said."""
    source = details.get("collector") or details.get("source") or "a source"
    since = details.get("last_new_at") or details.get("last_success_at")
    text = f"No new mention from {source}" + (f" since {since}." if since else ".")
    runs = details.get("runs_without_new")
    if runs:
        text += f" {fmt_int(runs)} runs in a row brought nothing"
        usual = details.get("usual_in_gap")
        text += f", where it usually brings {usual} in that time." if usual else "."
    if details.get("last_error"):
        text += f" Last error: {details.get('last_error')}"
    else:
        text += " No error reported: check the source's query, credentials and quota."
    return text


SPREADING = DetectorPlugin(
    name="spreading",
    summary="a complaint forecast to cross the brand's reshare threshold, or already growing fast",
    kind="spreading",
    alert=AlertKind("Complaint spreading"),
    run=spreading_alerts,
)
INCIDENTS = DetectorPlugin(
    name="incidents",
    summary="many people complaining about the same thing, against that complaint's own past",
    kind="incident",
    alert=AlertKind(
        "Incident: many similar complaints", reply="statement", quote_mention=False, chart="growth"
    ),
    run=detect_incidents,
)
SPIKES = DetectorPlugin(
    name="spikes",
    summary="mentions or complaints of a brand or source far above that stream's own rate",
    kind="volume",
    alert=AlertKind("Mention volume spike", reply=None, chart="volume"),
    run=spike_alerts,
)
SILENT = DetectorPlugin(
    name="silent",
    summary="a source that has brought nothing for improbably long, for its own rate",
    kind="silent",
    alert=AlertKind("Source silent", reply=None, sentence=silent_sentence),
)
