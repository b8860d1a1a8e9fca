"""Pieces the pages share: safe text, the mention table and card, charts, actions, exports.

Mention text, author names and URLs come from strangers. They are shown as data (tables) or as
Markdown with every special character escaped, never as HTML; links open only http(s) URLs.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, tzinfo
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st
from pandas.io.formats.style import Styler

from dashboard import auth, context, queries, style
from dashboard.safe import csv_bytes, md, plain, typed
from monitor.alerts.examples import stars
from monitor.display import duration, safe_url


def sentiment_md(label: str) -> str:
    return f"{style.SENTIMENT_MD.get(label, '')} {label}"


def state_md(state: str) -> str:
    return f"{style.STATE_MD.get(state, '')} {state}"


def coloured(frame: pd.DataFrame, colours: dict[str, dict[str, str]]) -> Styler:
    """Table cells whose text colour follows their value (``{column: {value: colour}}``)."""
    styler = frame.style
    for column, palette in colours.items():
        styler = styler.map(
            lambda v, p=palette: f"color: {p[v]}; font-weight: 600" if v in p else "",
            subset=[column],
        )
    return styler


def local(moment: Any, tz: tzinfo) -> Any:
    return pd.Timestamp(moment).tz_convert(tz) if moment is not None else None


def ago(moment: datetime | pd.Timestamp | None) -> str:
    """'5 min ago', '3 h ago', '2 d ago': how far back a time is, at a glance."""
    if moment is None or pd.isna(moment):
        return "never"
    minutes = (context.now() - pd.Timestamp(moment).to_pydatetime()).total_seconds() / 60
    return "just now" if minutes < 1 else f"{duration(minutes)} ago"


def _missing(value: Any) -> bool:
    if value is None:
        return True
    return not isinstance(value, str | Mapping | list | tuple) and bool(pd.isna(value))


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts, with None where pandas says NaN or NaT."""
    return [
        {key: None if _missing(value) else value for key, value in row.items()}
        for row in frame.to_dict("records")
    ]


def empty(message: str) -> None:
    """An empty state that says what to do next."""
    st.info(message, icon=":material/info:")


def download(frame: pd.DataFrame, name: str, key: str, label: str = "Export CSV") -> None:
    st.download_button(
        label,
        csv_bytes(frame),
        file_name=f"vigie-{name}-{context.now():%Y%m%d-%H%M}.csv",
        mime="text/csv",
        key=key,
        icon=":material/download:",
        disabled=frame.empty,
        on_click="ignore",
    )


# --- mentions ----------------------------------------------------------------------------------


def rating_stars(value: Any) -> str:
    """A DataFrame's rating (a float, NaN where none) as stars."""
    return stars(int(value)) if pd.notna(value) else ""


def mention_table(frame: pd.DataFrame, tz: tzinfo, key: str, height: int | str = "auto") -> None:
    """Mentions as a table: text as plain data, sentiment coloured, link to the original."""
    view = pd.DataFrame(
        {
            "time": frame["created_at"].map(lambda t: local(t, tz)),
            "sentiment": frame["label"],
            "complaint": frame["complaint"].astype(bool),
            "stars": frame["rating"].map(rating_stars) if "rating" in frame else None,
            "state": frame["state"],
            "source": frame["source"],
            "brand": frame["brand"],
            "author": frame["author"].map(plain),
            "text": frame["text"].map(plain),
            "lang": frame["language"],
            "reshares": frame.get("reshares"),
            "link": frame["url"].map(safe_url),
        }
    )
    styled = coloured(view, {"sentiment": style.SENTIMENT_COLOURS, "state": style.STATE_COLOURS})
    st.dataframe(
        styled,
        key=key,
        hide_index=True,
        height=height,
        column_config={
            "time": st.column_config.DatetimeColumn("When", format="D MMM HH:mm", width="small"),
            "sentiment": st.column_config.TextColumn("Sentiment", width="small"),
            "complaint": st.column_config.CheckboxColumn("Complaint", width="small"),
            "stars": st.column_config.TextColumn("Rating", width="small"),
            "state": st.column_config.TextColumn("Response", width="small"),
            "source": st.column_config.TextColumn("Source", width="small"),
            "brand": st.column_config.TextColumn("Brand", width="small"),
            "author": st.column_config.TextColumn("Author", width="small"),
            "text": st.column_config.TextColumn("Mention", width="large"),
            "lang": st.column_config.TextColumn("Lang", width=40),
            "reshares": st.column_config.NumberColumn("Reshares", format="%d", width="small"),
            "link": st.column_config.LinkColumn("Link", display_text="open ↗", width="small"),
        },
    )


def mention_caption(row: Mapping[str, Any]) -> str:
    """'source · author (followers) · lang · 5 min ago', escaped."""
    followers = row.get("author_followers")
    who = md(row.get("author") or "unknown author")
    if followers is not None and not pd.isna(followers):
        who += f" ({int(followers):,} followers)"
    parts = [md(row["source"]), who, md(row.get("language") or "?"), ago(row["created_at"])]
    return " · ".join(parts)


def mention_card(row: Mapping[str, Any]) -> None:
    """A mention as people read it: badges, who and when, the text, a link to the original."""
    with st.container(horizontal=True, gap="small"):
        label = row["label"]
        st.badge(label, color=style.SENTIMENT_BADGES.get(label, "gray"))
        if row.get("complaint"):
            st.badge("complaint", color="violet", icon=":material/report:")
        state = row.get("state") or "new"
        st.badge(state, color=style.STATE_BADGES.get(state, "gray"))
        if row.get("assignee"):
            st.badge(f"→ {md(row['assignee'])}", color="gray")
    st.caption(mention_caption(row))
    st.markdown(md(row["text"]))
    url = safe_url(row.get("url"))
    if url:
        st.link_button("Open original", url, icon=":material/open_in_new:")


def reasons(value: Any) -> list[str]:
    """Readable lines from a reasons mapping (or list) as the forecaster stores it."""
    if isinstance(value, Mapping):
        return [f"{md(str(k).replace('_', ' '))}: {md(_fmt(v))}" for k, v in value.items()]
    if isinstance(value, list | tuple):
        return [md(_fmt(v)) for v in value]
    return [md(str(value))] if value else []


def _fmt(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {_fmt(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_fmt(v) for v in value)
    return str(value)


# --- charts ------------------------------------------------------------------------------------


def engagement_chart(series: pd.DataFrame, tz: tzinfo, forecast: Mapping[str, Any] | None) -> None:
    """Reshares and likes over time; the forecast's final count and interval as a band."""
    long = series.melt(
        id_vars=["observed_at"], value_vars=["reshares", "likes"], var_name="measure"
    ).dropna()
    long["observed_at"] = long["observed_at"].map(lambda t: local(t, tz))
    lines = (
        alt.Chart(long)
        .mark_line(point=True)
        .encode(
            x=alt.X("observed_at:T", title=None),
            y=alt.Y("value:Q", title="count"),
            color=alt.Color(
                "measure:N",
                scale=alt.Scale(domain=["reshares", "likes"], range=[style.ACCENT, "#b8c4d9"]),
                legend=alt.Legend(orient="top", title=None),
            ),
        )
    )
    chart: alt.LayerChart | alt.Chart = lines
    if forecast is not None:
        band = pd.DataFrame([{k: forecast[k] for k in ("low", "high", "final")}])
        area = (
            alt.Chart(band)
            .mark_rect(opacity=0.12, color=style.ACCENT)
            .encode(y="low:Q", y2="high:Q")
        )
        rule = alt.Chart(band).mark_rule(strokeDash=[4, 4], color=style.ACCENT).encode(y="final:Q")
        chart = alt.layer(area, rule, lines)
    st.altair_chart(chart.properties(height=220), width="stretch")


# --- actions -----------------------------------------------------------------------------------


def _done(message: str) -> None:
    st.toast(message, icon=":material/check_circle:")


def _failed(message: str) -> None:
    st.toast(message, icon=":material/error:")


def _assign(mention_id: int, key: str) -> None:
    name = typed(st.session_state.get(f"{key}-assignee"), 128) or auth.user_name() or ""
    try:
        context.act(queries.assign, mention_id, name, context.now())
    except ValueError as exc:
        _failed(str(exc))
    else:
        _done(f"Assigned to {md(name.strip())}")


def _answered(mention_id: int, key: str) -> None:
    try:
        url = typed(st.session_state.get(f"{key}-reply"), 2048)
        context.act(queries.mark_answered, mention_id, url, context.now())
    except ValueError as exc:
        _failed(str(exc))
    else:
        _done("Marked as answered")


def _dismiss(mention_id: int) -> None:
    context.act(queries.dismiss, mention_id, context.now())
    _done("Dismissed as not relevant")


def _reopen(mention_id: int) -> None:
    context.act(queries.reopen, mention_id, context.now())
    _done("Back in the inbox")


def _alert(mention_id: int) -> None:
    queued = context.act(queries.send_alert_now, mention_id, context.now(), auth.user_name())
    if queued:
        _done("Alert queued: it goes out with the next delivery round")
    else:
        _failed("An alert for this mention was just queued")


def _correct(mention_id: int, key: str) -> None:
    label = st.session_state[f"{key}-label"]
    complaint = bool(st.session_state[f"{key}-complaint"])
    context.act(
        queries.correct_sentiment, mention_id, label, complaint, auth.user_name(), context.now()
    )
    _done(f"Correction saved: {label}{', complaint' if complaint else ''}")


def actions(row: Mapping[str, Any], key: str) -> None:
    """Assign, mark answered, alert, dismiss or correct one mention; each writes to the DB."""
    mention_id = int(row["id"])
    key = f"{key}-{mention_id}"
    left, right = st.columns(2, gap="medium")
    with left, st.form(f"{key}-respond", border=False):
        st.text_input(
            "Assignee",
            value=row.get("assignee") or auth.user_name() or "",
            key=f"{key}-assignee",
            max_chars=128,
        )
        st.form_submit_button(
            "Assign", key=f"{key}-assign", on_click=_assign, args=(mention_id, key)
        )
        st.text_input(
            "Reply URL",
            value=row.get("reply_url") or "",
            key=f"{key}-reply",
            placeholder="https://… (the public answer)",
        )
        st.form_submit_button(
            "Mark answered",
            key=f"{key}-answer",
            type="primary",
            on_click=_answered,
            args=(mention_id, key),
        )
    with right:
        with st.container(horizontal=True):
            st.button(
                "Send alert now",
                key=f"{key}-alert",
                icon=":material/campaign:",
                on_click=_alert,
                args=(mention_id,),
            )
            if row.get("state") in queries.OPEN_STATES:
                st.button(
                    "Not relevant",
                    key=f"{key}-dismiss",
                    icon=":material/block:",
                    on_click=_dismiss,
                    args=(mention_id,),
                )
            else:
                st.button(
                    "Reopen",
                    key=f"{key}-reopen",
                    icon=":material/undo:",
                    on_click=_reopen,
                    args=(mention_id,),
                )
        with st.form(f"{key}-correction", border=False):
            current = row["label"] if row["label"] in queries.LABELS else "neutral"
            st.segmented_control(
                "Correct the sentiment",
                queries.LABELS,
                default=current,
                key=f"{key}-label",
                required=True,
            )
            st.checkbox("Complaint", value=bool(row.get("complaint")), key=f"{key}-complaint")
            st.form_submit_button(
                "Save correction", key=f"{key}-correct", on_click=_correct, args=(mention_id, key)
            )


# --- spreading ---------------------------------------------------------------------------------

SPREADING_WINDOW_HOURS = 48


def spreading_now(
    brands: tuple[str, ...],
    limit: int,
    *,
    complaints_only: bool = True,
    include_handled: bool = False,
) -> tuple[pd.DataFrame, str]:
    """What is spreading: ranked by the forecaster's risk, or, where no forecast exists yet, by
    reshares gained in the last hour. Returns the rows and which of the two ranked them."""
    since = context.since(hours=SPREADING_WINDOW_HOURS)
    options = {
        "limit": limit,
        "complaints_only": complaints_only,
        "include_handled": include_handled,
    }
    ranked = context.spreading(brands, since, **options)
    if not ranked.empty:
        return ranked, "forecast"
    return context.reshare_growth(brands, since, context.since(hours=1), **options), "growth"


def spreading_line(row: Mapping[str, Any], basis: str) -> str:
    """One line of the compact 'spreading now' list, escaped."""
    reshares = int(row["reshares"] or 0)
    lead = f"risk {row['risk']:.0%}" if basis == "forecast" else f"+{int(row['growth'])}/h"
    return f"**{lead}** · {reshares:,} reshares · {md(row.get('author') or '?')}"
