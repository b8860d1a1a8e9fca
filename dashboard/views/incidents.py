"""Incidents: many people complaining about the same thing, as one story that grows."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from dashboard import components, context, style
from monitor.display import duration

PERIODS = {"48 h": 2, "7 d": 7, "30 d": 30, "90 d": 90}


def options() -> None:
    with st.sidebar:
        st.subheader("Show")
        st.segmented_control(
            "Active in the last",
            list(PERIODS),
            default="7 d",
            key="inc-period",
            required=True,
            persist_state="session",
        )
        st.toggle("Open only", value=True, key="inc-open", persist_state="session")


def _label(row: Mapping[str, Any]) -> str:
    title = " ".join(components.plain(str(row["title"])).split())
    title = title if len(title) <= 70 else title[:69] + "…"
    past = " · historical" if row.get("historical") else ""
    return f"{row['risk']:.0%} · {title} ({row['size']:,}){past}"


def summary(row: Mapping[str, Any]) -> None:
    with st.container(horizontal=True):
        st.badge(f"risk {row['risk']:.0%}", color=style.risk_badge(row["risk"]))
        st.badge(components.md(row["status"]), color="red" if row["status"] == "open" else "gray")
        if row.get("answered_at") is not None and not pd.isna(row["answered_at"]):
            st.badge("answered", color="green")
        if row.get("historical"):
            st.badge("historical", color="blue", help="found in the collected history (first run "
                     "or backfill): recorded, no email was sent")
    columns = st.columns(4)
    columns[0].metric("Mentions", f"{row['size']:,}", border=True)
    columns[1].metric("People", f"{row['authors']:,}", border=True)
    columns[2].metric("Started", components.ago(row["first_seen"]), border=True)
    columns[3].metric("Latest", components.ago(row["last_seen"]), border=True)
    lines = components.reasons(row.get("reasons"))
    if lines:
        st.markdown("Why it matters: " + " · ".join(lines))
    terms = row.get("terms") or {}
    words = list(terms)
    if words:
        st.caption("Words: " + ", ".join(components.md(str(w)) for w in words[:12]))


def growth_chart(incident_id: int, row: Mapping[str, Any]) -> None:
    width, growth = context.incident_growth(incident_id)
    grain = duration(width.total_seconds() / 60)
    if growth.empty:
        st.caption("No mention is linked to this incident yet.")
        return
    growth["total"] = growth["mentions"].cumsum()
    growth["bucket"] = growth["bucket"].dt.tz_convert(context.timezone())
    base = alt.Chart(growth).encode(x=alt.X("bucket:T", title=None))
    bars = base.mark_bar(color=style.SENTIMENT_COLOURS["negative"], opacity=0.55).encode(
        y=alt.Y("mentions:Q", title=f"mentions per {grain}")
    )
    line = base.mark_line(color=style.ACCENT, interpolate="step-after").encode(
        y=alt.Y("total:Q", title="in total")
    )
    chart = alt.layer(bars, line).resolve_scale(y="independent").properties(height=240)
    st.altair_chart(chart, width="stretch")


def languages_table(incident_id: int) -> None:
    langs = context.incident_languages(incident_id)
    if langs.empty:
        return
    langs["share"] = langs["mentions"] / langs["mentions"].sum()
    st.dataframe(
        langs,
        hide_index=True,
        column_config={
            "lang": st.column_config.TextColumn("Lang", width=50),
            "mentions": st.column_config.NumberColumn("Mentions", format="%d", width=70),
            "share": st.column_config.ProgressColumn("Share", format="percent"),
        },
    )


def detail(row: Mapping[str, Any]) -> None:
    incident_id = int(row["id"])
    st.subheader(components.md(row["title"]), anchor=False)
    summary(row)
    left, right = st.columns([3, 1], gap="medium")
    with left:
        st.markdown("**Growth**")
        growth_chart(incident_id, row)
    with right:
        st.markdown("**Languages**")
        languages_table(incident_id)
    members = context.incident_members(incident_id)
    tab_rep, tab_time, tab_all = st.tabs(["Representative", "Timeline", "All mentions"])
    with tab_rep:
        rep = members[members["id"] == row.get("representative_id")]
        top = pd.concat([rep, members[members["id"] != row.get("representative_id")]]).head(3)
        for mention in components.records(top):
            with st.container(border=True):
                components.mention_card(mention)
                with st.expander("Act on it", icon=":material/bolt:"):
                    components.actions(mention, f"inc{incident_id}")
    with tab_time:
        events = context.incident_events(incident_id)
        events["time"] = events["time"].map(lambda t: components.local(t, context.timezone()))
        st.dataframe(
            events,
            hide_index=True,
            column_config={"time": st.column_config.DatetimeColumn("When", format="D MMM HH:mm")},
        )
    with tab_all:
        components.mention_table(members, context.timezone(), key=f"inc-members-{incident_id}")
        components.download(members, f"incident-{incident_id}", key=f"inc-export-{incident_id}")


def render() -> None:
    cfg = context.config()
    st.title("Incidents", anchor=False)
    options()
    days = PERIODS[st.session_state.get("inc-period") or "7 d"]
    found = context.incidents(
        context.selected_brands(cfg),
        context.since(days=days),
        open_only=bool(st.session_state.get("inc-open", True)),
    )
    if found.empty:
        components.empty(
            "No incident in this period. An incident appears when several people complain about "
            "the same thing; detection groups them as mentions come in."
        )
        return
    records = components.records(found)
    chosen = st.selectbox(
        "Incident",
        range(len(records)),
        format_func=lambda i: _label(records[i]),
        key="inc-chosen",
    )
    detail(records[chosen or 0])


render()
