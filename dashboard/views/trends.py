"""Trends: volume and net sentiment over time, topics, share of voice, response times."""

from __future__ import annotations

from datetime import datetime, timedelta

import altair as alt
import pandas as pd
import streamlit as st

from dashboard import components, context, queries, style, topics
from monitor.config import VigieConfig
from monitor.display import duration
from monitor.reports.figures import delay_stats, nearest_rank

PERIODS = {"24 h": 1, "7 d": 7, "30 d": 30, "90 d": 90, "1 year": 365}
SPLITS = {"source": "Source", "language": "Language"}
LABEL_FORMATS = {"hour": "%a %H:%M", "day": "%a %d %b", "week": "%d %b %Y"}


def options() -> None:
    with st.sidebar:
        st.subheader("Show")
        st.segmented_control(
            "Period",
            list(PERIODS),
            default="7 d",
            key="trends-period",
            required=True,
            persist_state="session",
        )
        st.segmented_control(
            "Split by",
            list(SPLITS),
            format_func=SPLITS.get,
            default="source",
            key="trends-split",
            required=True,
            persist_state="session",
        )


def grain_for(days: int) -> queries.Grain:
    """Buckets small enough to show the shape, few enough to read."""
    if days <= 2:
        return "hour"
    return "day" if days <= 90 else "week"


def net_sentiment(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """(positive − negative) / all, in points from −100 to +100, with the mention count."""
    wide = frame.pivot_table(
        index=keys, columns="sentiment", values="mentions", aggfunc="sum", fill_value=0
    )
    for label in (*queries.LABELS, queries.UNSCORED):
        if label not in wide:
            wide[label] = 0
    total = wide[[*queries.LABELS, queries.UNSCORED]].sum(axis=1)
    scored = wide[list(queries.LABELS)].sum(axis=1).where(lambda s: s > 0)
    out = pd.DataFrame(
        {"mentions": total, "net": 100 * (wide["positive"] - wide["negative"]) / scored}
    )
    return out.reset_index()


def volume_section(
    brands: tuple[str, ...], start: datetime, end: datetime, grain: queries.Grain, by: str
) -> None:
    frame = context.volume(brands, start, end, grain, by)
    st.subheader(f"Volume and net sentiment by {SPLITS[by].lower()}", anchor=False)
    if frame.empty:
        components.empty("No mention in this period: pick a longer period.")
        return
    series = net_sentiment(frame, ["bucket", "dim"]).sort_values("bucket")
    series["period"] = series["bucket"].dt.strftime(LABEL_FORMATS[grain])
    x = alt.X("period:O", sort=None, title=None, axis=alt.Axis(labelAngle=0))
    colour = alt.Color("dim:N", title=SPLITS[by], legend=alt.Legend(orient="top"))
    left, right = st.columns(2, gap="medium")
    volume = (
        alt.Chart(series)
        .mark_bar(opacity=0.85)
        .encode(x=x, y=alt.Y("mentions:Q", stack=True, title=f"mentions per {grain}"), color=colour)
    )
    left.altair_chart(volume.properties(height=260), width="stretch")
    net = (
        alt.Chart(series.dropna(subset=["net"]))
        .mark_line(point=len(series) <= 200)
        .encode(
            x=x,
            y=alt.Y("net:Q", title="net sentiment", scale=alt.Scale(domain=[-100, 100])),
            color=colour,
            tooltip=["period:O", "dim:N", alt.Tooltip("net:Q", format=".0f"), "mentions:Q"],
        )
    )
    zero = alt.Chart(pd.DataFrame({"y": [0]})).mark_rule(color="#999").encode(y="y:Q")
    right.altair_chart(alt.layer(zero, net).properties(height=260), width="stretch")
    totals = net_sentiment(frame, ["dim"]).sort_values("mentions", ascending=False)
    negative = frame[frame["sentiment"] == "negative"].groupby("dim")["mentions"].sum()
    totals["negative"] = totals["dim"].map(negative).fillna(0) / totals["mentions"]
    st.dataframe(
        totals,
        hide_index=True,
        column_config={
            "dim": SPLITS[by],
            "mentions": st.column_config.NumberColumn("Mentions", format="%d"),
            "net": st.column_config.NumberColumn("Net sentiment", format="%+.0f"),
            "negative": st.column_config.ProgressColumn(
                "Negative", format="percent", color=style.SENTIMENT_COLOURS["negative"]
            ),
        },
    )
    export = series.drop(columns="period").rename(columns={"dim": by, "bucket": "utc_start"})
    components.download(export, f"volume-by-{by}", key="trends-export-volume")


def share_of_voice(
    cfg: VigieConfig, brands: tuple[str, ...], start: datetime, end: datetime, grain: queries.Grain
) -> None:
    st.subheader("Share of voice", anchor=False)
    own = {b.casefold() for b in brands}
    rivals = [c for b in cfg.brands if b.name.casefold() in own for c in b.competitors]
    if not rivals:
        components.empty("No competitor configured: list them under `competitors` in vigie.yaml.")
        return
    frame = context.volume((*brands, *rivals), start, end, grain, "brand")
    if frame.empty:
        components.empty("No mention of the brand or its competitors in this period.")
        return
    totals = net_sentiment(frame, ["dim"]).rename(columns={"dim": "brand"})
    totals["share"] = totals["mentions"] / totals["mentions"].sum()
    left, right = st.columns([1, 2], gap="medium")
    pie = (
        alt.Chart(totals)
        .mark_arc(innerRadius=50)
        .encode(
            theta="mentions:Q",
            color=alt.Color("brand:N", legend=alt.Legend(orient="bottom")),
            tooltip=["brand:N", "mentions:Q", alt.Tooltip("share:Q", format=".0%")],
        )
    )
    left.altair_chart(pie.properties(height=240), width="stretch")
    over_time, bin_grain = share_over_time(frame, (*brands, *rivals), start, end, grain)
    over_time["bucket"] = over_time["bucket"].dt.tz_convert(context.timezone())
    chart = alt.Chart(over_time)
    # An area needs two points: with few bins, bars show the same shares without a blank chart.
    share = (
        (chart.mark_area() if over_time["bucket"].nunique() >= 3 else chart.mark_bar())
        .encode(
            x=alt.X("bucket:T", title=None),
            y=alt.Y(
                "mentions:Q", stack="normalize", title="share of voice", axis=alt.Axis(format="%")
            ),
            color=alt.Color("dim:N", title="brand", legend=None),
        )
    )
    right.altair_chart(share.properties(height=240), width="stretch")
    if bin_grain != grain:
        right.caption(f"Over time per {bin_grain}: the period's mentions all fall on one {grain}.")
    st.dataframe(
        totals,
        hide_index=True,
        column_config={
            "brand": "Brand",
            "mentions": st.column_config.NumberColumn("Mentions", format="%d"),
            "net": st.column_config.NumberColumn("Net sentiment", format="%+.0f"),
            "share": st.column_config.ProgressColumn("Share of voice", format="percent"),
        },
    )
    components.download(totals, "share-of-voice", key="trends-export-sov")


def share_over_time(
    frame: pd.DataFrame,
    names: tuple[str, ...],
    start: datetime,
    end: datetime,
    grain: queries.Grain,
) -> tuple[pd.DataFrame, queries.Grain]:
    """Mentions per brand and bin, in bins fine enough to draw a change: when the period's
    mentions all fall in one ``grain`` (a fresh install, the demo), hours instead."""
    if frame["bucket"].nunique() < 2 and grain != "hour":
        finer = context.volume(names, start, end, "hour", "brand")
        if finer["bucket"].nunique() >= 2:
            return net_sentiment(finer, ["bucket", "dim"]), "hour"
    return net_sentiment(frame, ["bucket", "dim"]), grain


@st.cache_data(ttl=context.SLOW_TTL, show_spinner=False, max_entries=64)
def top_topics(
    url: str, brands: tuple[str, ...], names: tuple[str, ...], start: datetime, end: datetime
) -> tuple[pd.DataFrame, int]:
    """Topics of the latest mentions and how many were read: cached with the sample, so a
    filter change elsewhere on the page does not tokenise thousands of texts again."""
    sample = queries.recent_texts(context.engine_for(url), brands, start, end)
    found = topics.top_topics(sample["text"].tolist(), sample["label"].tolist(), list(names),
                              languages=sample["language"].tolist())
    return found, len(sample)


def topics_section(
    cfg: VigieConfig, brands: tuple[str, ...], start: datetime, end: datetime
) -> None:
    st.subheader("Top topics", anchor=False)
    names = tuple(t for b in cfg.brands for t in (b.name, *b.keywords, *b.handles))
    found, read = top_topics(context.settings().db_url, brands, names, start, end)
    if found.empty:
        components.empty("Too few mentions in this period to tell topics apart.")
        return
    st.caption(f"Words and pairs most mentions share, from the latest {read:,} mentions.")
    st.dataframe(
        found,
        hide_index=True,
        column_config={
            "topic": "Topic",
            "mentions": st.column_config.NumberColumn("Mentions", format="%d"),
            "negative_share": st.column_config.ProgressColumn(
                "Negative", format="percent", color=style.SENTIMENT_COLOURS["negative"]
            ),
        },
    )
    components.download(found, "topics", key="trends-export-topics")


def response_section(
    brands: tuple[str, ...], start: datetime, end: datetime, grain: queries.Grain, sla: int
) -> None:
    st.subheader("Response times", anchor=False)
    frame = context.response_times(brands, start, end, grain)
    if frame.empty:
        components.empty(
            "No complaint was marked as answered in this period. Mark answers in the Inbox to "
            "measure response times."
        )
        return
    stats = delay_stats(frame["minutes"].tolist(), sla)
    columns = st.columns(3)
    columns[0].metric(
        "Median first response", duration(stats.median_minutes), border=True
    )
    columns[1].metric(
        "90% answered within", duration(stats.p90_minutes), border=True
    )
    columns[2].metric(f"Within {sla} min", f"{stats.answered_in_time:.0%}", border=True)
    per = (
        frame.groupby("bucket")["minutes"]
        .agg(answered="count", median="median", p90=lambda m: nearest_rank(m, 0.9))
        .reset_index()
    )
    per["within_target"] = (
        frame.groupby("bucket")["minutes"].apply(lambda m: (m <= sla).mean()).values
    )
    per["bucket"] = per["bucket"].dt.tz_convert(context.timezone())
    long = per.melt(id_vars=["bucket"], value_vars=["median", "p90"], var_name="measure")
    chart = (
        alt.Chart(long)
        .mark_line(point=True)
        .encode(
            x=alt.X("bucket:T", title=None),
            y=alt.Y("value:Q", title="minutes to first response"),
            color=alt.Color("measure:N", legend=alt.Legend(orient="top", title=None)),
        )
    )
    target = (
        alt.Chart(pd.DataFrame({"y": [sla]}))
        .mark_rule(strokeDash=[4, 4], color=style.SENTIMENT_COLOURS["negative"])
        .encode(y="y:Q")
    )
    st.altair_chart(alt.layer(chart, target).properties(height=240), width="stretch")
    components.download(per, "response-times", key="trends-export-responses")


def render() -> None:
    cfg = context.config()
    brands = context.selected_brands(cfg)
    st.title("Trends", anchor=False)
    options()
    days = PERIODS[st.session_state.get("trends-period") or "7 d"]
    grain = grain_for(days)
    end = context.since(hours=0)
    start = end - timedelta(days=days)
    start = start.replace(minute=0) if grain == "hour" else start.replace(hour=0, minute=0)
    st.caption(
        f"{', '.join(brands)} · per {grain} (UTC {'hours' if grain == 'hour' else grain + 's'})"
    )
    volume_section(brands, start, end, grain, st.session_state.get("trends-split") or "source")
    share_of_voice(cfg, brands, start, end, grain)
    left, right = st.columns(2, gap="large")
    with left:
        topics_section(cfg, brands, start, end)
    with right:
        response_section(brands, start, end, grain, cfg.reports.sla_minutes)


render()
