"""Spreading now: complaints and incidents ranked by risk, with what to do about each."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import streamlit as st

from dashboard import components, context, style

INCIDENT_WINDOW_HOURS = 48
FIRST = 5  # drawn at once; each item is a chart and two forms, the rest waits for "show more"


def options() -> None:
    with st.sidebar:
        st.subheader("Show")
        st.toggle("Complaints only", value=True, key="spread-complaints", persist_state="session")
        st.toggle("Include answered and dismissed", key="spread-handled", persist_state="session")
        st.select_slider(
            "How many", [5, 10, 20, 50], value=10, key="spread-limit", persist_state="session"
        )


def incidents(brands: tuple[str, ...]) -> None:
    found = context.incidents(brands, context.since(hours=INCIDENT_WINDOW_HOURS), open_only=True)
    if found.empty:
        return
    st.subheader("Incidents", anchor=False)
    columns = st.columns(3)
    for column, row in zip(columns, components.records(found.head(3)), strict=False):
        with column.container(border=True):
            st.badge(f"risk {row['risk']:.0%}", color=style.risk_badge(row["risk"]))
            st.markdown(f"**{components.md(row['title'])}**")
            st.caption(
                f"{row['size']:,} mentions · {row['authors']:,} people · "
                f"since {components.ago(row['first_seen'])}"
            )
    st.page_link("views/incidents.py", label="Open incidents", icon=":material/arrow_forward:")


def forecast_text(row: Mapping[str, Any], basis: str) -> str:
    if basis != "forecast":
        return f"**+{int(row['growth']):,}** reshares in the last hour (no forecast yet)."
    text = (
        f"Forecast: **{row['final']:,.0f}** reshares in the end "
        f"(likely {row['low']:,.0f}–{row['high']:,.0f})"
    )
    return text + "."  # no single time to the threshold: the band above is the honest part


def item(row: Mapping[str, Any], basis: str, series: pd.DataFrame, first: bool) -> None:
    with st.container(border=True):
        left, right = st.columns([3, 2], gap="medium")
        with left:
            if basis == "forecast":
                st.badge(f"risk {row['risk']:.0%}", color=style.risk_badge(row["risk"]))
            components.mention_card(row)
            st.markdown(forecast_text(row, basis))
            lines = components.reasons(row.get("reasons")) if basis == "forecast" else []
            if lines:
                st.markdown("Why: " + " · ".join(lines))
        with right:
            if series.empty:
                st.caption("No engagement recorded yet.")
            else:
                forecast = row if basis == "forecast" else None
                components.engagement_chart(series, context.timezone(), forecast)
                if forecast is not None:
                    st.caption("Band: the forecast's likely final reshares; dashed: expected.")
        with st.expander("Act on it", expanded=first, icon=":material/bolt:"):
            components.actions(row, "spread")


def render() -> None:
    cfg = context.config()
    brands = context.selected_brands(cfg)
    st.title("Spreading now", anchor=False)
    options()
    incidents(brands)
    st.subheader("Mentions", anchor=False)
    ranked, basis = components.spreading_now(
        brands,
        int(st.session_state.get("spread-limit", 10)),
        complaints_only=bool(st.session_state.get("spread-complaints", True)),
        include_handled=bool(st.session_state.get("spread-handled", False)),
    )
    if ranked.empty:
        components.empty(
            "Nothing is spreading right now: no open complaint gained reshares in the last hour. "
            "Turn off 'Complaints only' to see every mention that spreads."
        )
        return
    if basis == "growth":
        st.caption("No forecasts yet: ranked by reshares gained in the last hour.")
    shown = ranked if st.session_state.get("spread-more") else ranked.head(FIRST)
    series = context.engagement(tuple(int(i) for i in shown["id"]))
    by_mention = dict(tuple(series.groupby("mention_id"))) if not series.empty else {}
    for n, row in enumerate(components.records(shown)):
        item(row, basis, by_mention.get(row["id"], pd.DataFrame()), first=n == 0)
    if len(shown) < len(ranked):
        st.button(
            f"Show {len(ranked) - len(shown)} more",
            key="spread-show-more",
            icon=":material/expand_more:",
            on_click=show_more,
        )


def show_more() -> None:
    st.session_state["spread-more"] = True


render()
