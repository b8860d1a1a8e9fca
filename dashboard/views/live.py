"""Live: the newest mentions, filtered, refreshed on its own while the page stays open."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pandas as pd
import streamlit as st

from dashboard import components, context, queries
from dashboard.safe import typed
from dashboard.style import SENTIMENT_MD
from monitor.config import VigieConfig

PERIODS = {"1 h": timedelta(hours=1), "24 h": timedelta(days=1), "7 d": timedelta(days=7)}
PERIODS |= {"30 d": timedelta(days=30)}
CUSTOM = "Custom"
REFRESH_SECONDS = 30
PAGE_ROWS = 200


def filter_widgets(cfg: VigieConfig) -> None:
    """The filters, in the sidebar; their values are read back from session state."""
    facets = context.facet_values(tuple(context.watched_brands(cfg)), context.since(days=30))
    with st.sidebar:
        st.subheader("Filters")
        st.segmented_control(
            "Period",
            [*PERIODS, CUSTOM],
            default="24 h",
            key="live-period",
            required=True,
            persist_state="session",
        )
        if st.session_state.get("live-period") == CUSTOM:
            today = context.now().astimezone(context.timezone()).date()
            st.date_input(
                "Dates",
                value=(today - timedelta(days=7), today),
                key="live-dates",
                persist_state="session",
            )
        st.text_input("Search", key="live-search", type="search", persist_state="session")
        st.pills(
            "Sentiment",
            queries.LABELS,
            selection_mode="multi",
            key="live-sentiment",
            format_func=components.sentiment_md,
            persist_state="session",
        )
        st.multiselect(
            "Source",
            facets["source"],
            key="live-source",
            placeholder="All sources",
            persist_state="session",
        )
        st.multiselect(
            "Language",
            facets["language"],
            key="live-language",
            placeholder="All languages",
            persist_state="session",
        )
        st.toggle("Complaints only", key="live-complaints", persist_state="session")
        st.toggle("Unanswered only", key="live-unanswered", persist_state="session")
        competitors = context.watched_brands(cfg) != cfg.brand_names
        if competitors:
            st.toggle("Include competitors", key="live-competitors", persist_state="session")
        st.toggle(
            f"Auto-refresh every {REFRESH_SECONDS} s",
            value=True,
            key="live-refresh",
            persist_state="session",
        )


def _period() -> tuple[datetime | None, datetime | None]:
    choice = st.session_state.get("live-period") or "24 h"
    if choice != CUSTOM:
        return context.since() - PERIODS[choice], None
    dates = st.session_state.get("live-dates") or ()
    if len(dates) != 2:
        return None, None
    tz = context.timezone()
    start, end = (datetime.combine(d, time(), tz).astimezone(UTC) for d in dates)
    return start, end + timedelta(days=1)


def current_filter(cfg: VigieConfig) -> queries.MentionFilter:
    brands = context.selected_brands(cfg)
    if st.session_state.get("live-competitors"):
        own = {b.casefold() for b in brands}
        brands += tuple(c for b in cfg.brands if b.name.casefold() in own for c in b.competitors)
    start, end = _period()
    return queries.MentionFilter(
        brands=brands,
        sources=tuple(st.session_state.get("live-source") or ()),
        languages=tuple(st.session_state.get("live-language") or ()),
        sentiments=tuple(st.session_state.get("live-sentiment") or ()),
        complaints_only=bool(st.session_state.get("live-complaints")),
        unanswered_only=bool(st.session_state.get("live-unanswered")),
        start=start,
        end=end,
        search=typed(st.session_state.get("live-search")),
    )


def counts(f: queries.MentionFilter) -> None:
    found = context.sentiment_counts(f)
    total = sum(found.values())
    columns = st.columns(4)
    columns[0].metric("Mentions", f"{total:,}", border=True)
    for column, label in zip(columns[1:], queries.LABELS, strict=True):
        share = f"{found[label] / total:.0%} of all" if total else None
        column.metric(
            f"{SENTIMENT_MD[label]} {label.capitalize()}",
            f"{found[label]:,}",
            share,
            delta_color="off",
            delta_arrow="off",
            border=True,
        )
    if found[queries.UNSCORED]:
        st.caption(f"{found[queries.UNSCORED]:,} not scored yet (the scorer is catching up).")


def spreading_list(brands: tuple[str, ...]) -> None:
    st.subheader("Spreading now", anchor=False)
    ranked, basis = components.spreading_now(brands, 5)
    if ranked.empty:
        components.empty("Nothing is spreading: no complaint gained reshares in the last hour.")
        return
    for row in components.records(ranked):
        with st.container(border=True):
            st.markdown(components.spreading_line(row, basis))
            st.caption(components.md(" ".join(str(row["text"]).split())[:160]))
            url = components.safe_url(row.get("url"))
            if url:
                st.link_button("Open", url, icon=":material/open_in_new:", type="tertiary")
    st.page_link(
        "views/spreading.py", label="All that is spreading", icon=":material/arrow_forward:"
    )


def feed(cfg: VigieConfig) -> None:
    """Counts, feed and spreading list; rerun on a timer without rerunning the whole page."""
    f = current_filter(cfg)
    st.caption(f"Updated {context.now().astimezone(context.timezone()):%H:%M:%S} · newest first")
    stale_notice(f)
    counts(f)
    main, side = st.columns([3, 1], gap="medium")
    with main:
        limit = st.session_state.get("live-limit", PAGE_ROWS)
        rows = context.feed(f, limit)
        if rows.empty:
            components.empty(
                "No mention matches these filters: widen the period or clear a filter."
            )
        else:
            components.mention_table(rows, context.timezone(), key="live-feed", height=620)
            more, export = st.columns([1, 1])
            if len(rows) == limit:
                more.button("Show more", key="live-more", on_click=_more, args=(limit,))
            with export:
                components.download(rows, "mentions", key="live-export")
    with side:
        spreading_list(f.brands)


def stale_notice(f: queries.MentionFilter) -> None:
    """Say so when the whole period is older than the newest mention (a backfill of last month,
    sources stopped): an empty feed must not read as "nobody talks about you"."""
    newest = context.newest_mention_at(f.brands)
    if f.start is None or newest is None or pd.Timestamp(newest) >= pd.Timestamp(f.start):
        return
    st.info(
        f"The newest mention was published {components.ago(newest)} "
        f"({pd.Timestamp(newest).tz_convert(context.timezone()):%d %b %Y %H:%M}), before this "
        "period: choose a longer one, or check the sources on the Sources page.",
        icon=":material/history:",
    )


def _more(limit: int) -> None:
    st.session_state["live-limit"] = limit + PAGE_ROWS


def render() -> None:
    cfg = context.config()
    st.title("Live", anchor=False)
    if not context.has_mentions():
        components.empty(
            "No mention yet. No source has collected anything: add one under `sources` in "
            "vigie.yaml, or run the demo with `python -m monitor demo`."
        )
        return
    filter_widgets(cfg)
    every = REFRESH_SECONDS if st.session_state.get("live-refresh", True) else None
    st.fragment(run_every=every)(feed)(cfg)


render()
