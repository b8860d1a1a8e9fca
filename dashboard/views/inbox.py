"""Inbox: every complaint and where its answer stands. No answer is the worst answer."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import components, context, queries, style
from monitor.display import duration

PERIODS = {"24 h": 1, "7 d": 7, "30 d": 30, "90 d": 90}


def options(sla: int) -> None:
    people = context.assignees()
    with st.sidebar:
        st.subheader("Show")
        st.segmented_control(
            "Published in the last",
            list(PERIODS),
            default="7 d",
            key="inbox-period",
            required=True,
            persist_state="session",
        )
        st.pills(
            "State",
            queries.STATES,
            selection_mode="multi",
            default=list(queries.OPEN_STATES),
            key="inbox-states",
            format_func=components.state_md,
            persist_state="session",
        )
        st.selectbox(
            "Assignee",
            ["", *people],
            format_func=lambda name: name or "Anyone",
            key="inbox-assignee",
            persist_state="session",
        )
        st.toggle(f"Past the {sla} min target only", key="inbox-late", persist_state="session")


def current_filter(brands: tuple[str, ...], sla: int) -> queries.InboxFilter:
    days = PERIODS[st.session_state.get("inbox-period") or "7 d"]
    return queries.InboxFilter(
        brands=brands,
        states=tuple(st.session_state.get("inbox-states") or queries.STATES),
        assignee=st.session_state.get("inbox-assignee") or "",
        start=context.since(days=days),
        sla_minutes=sla,
        breached_only=bool(st.session_state.get("inbox-late")),
    )


def summary(f: queries.InboxFilter) -> None:
    stats = context.inbox_summary(f, context.minute(context.now()))
    counts = stats["counts"]
    columns = st.columns(4)
    columns[0].metric(
        "Waiting for an answer",
        f"{counts['new'] + counts['assigned']:,}",
        f"{counts['new']:,} not assigned",
        delta_color="off",
        delta_arrow="off",
        border=True,
    )
    columns[1].metric(
        "Past the target",
        f"{stats['open_overdue']:,}",
        f"target {f.sla_minutes} min",
        delta_color="inverse" if stats["open_overdue"] else "off",
        delta_arrow="off",
        border=True,
    )
    responses = stats["responses"]
    columns[2].metric(
        "Median first response",
        duration(responses.median_minutes),
        f"p90 {duration(responses.p90_minutes)}",
        delta_color="off",
        delta_arrow="off",
        border=True,
    )
    within = responses.answered_in_time
    columns[3].metric(
        "Answered within target",
        "–" if within is None else f"{within:.0%}",
        f"{responses.answered:,} answered",
        delta_color="off",
        delta_arrow="off",
        border=True,
    )


def _minutes_where(rows: pd.DataFrame, mask: pd.Series) -> pd.Series:
    """The rows' minutes as a duration where ``mask`` holds, blank elsewhere."""
    return rows["minutes"].where(mask).map(lambda m: "" if pd.isna(m) else duration(m))


def table(rows: pd.DataFrame) -> None:
    """Most urgent first (risk, reach, wait: see ``queries.inbox``)."""
    tz = context.timezone()
    view = pd.DataFrame(
        {
            "late": rows["breached"],
            "time": rows["created_at"].map(lambda t: components.local(t, tz)),
            "state": rows["state"],
            "assignee": rows["assignee"].fillna(""),
            "waiting": _minutes_where(rows, rows["answered_at"].isna()),
            "answered_after": _minutes_where(rows, rows["answered_at"].notna()),
            "risk": rows["risk"],
            "reshares": rows["reshares"],
            "kind": rows["complaint"].map(lambda c: "complaint" if c else "question"),
            "stars": rows["rating"].map(components.rating_stars),
            "source": rows["source"],
            "author": rows["author"].map(components.plain),
            "text": rows["text"].map(components.plain),
            "link": rows["url"].map(components.safe_url),
        }
    )
    late = rows["breached"].to_numpy()
    styled = components.coloured(view, {"state": style.STATE_COLOURS}).apply(
        lambda column: [style.BREACH_BACKGROUND if flag else "" for flag in late], axis=0
    )
    st.dataframe(
        styled,
        hide_index=True,
        key="inbox-table",
        height=min(560, 38 + 35 * len(view)),
        column_config={
            "late": st.column_config.CheckboxColumn("Late", width=50),
            "time": st.column_config.DatetimeColumn("Published", format="D MMM HH:mm"),
            "state": st.column_config.TextColumn("State", width="small"),
            "assignee": st.column_config.TextColumn("Assignee", width="small"),
            "waiting": st.column_config.TextColumn(
                "Waiting for", help="Not answered yet: time since it was published"
            ),
            "answered_after": st.column_config.TextColumn(
                "Answered after", help="Time from publication to the first public answer"
            ),
            "risk": st.column_config.ProgressColumn(
                "Risk",
                help="How likely it is to spread unanswered (0 to 1)",
                min_value=0,
                max_value=1,
                format="%.2f",
                width="small",
            ),
            "reshares": st.column_config.NumberColumn("Reshares", format="%d", width="small"),
            "kind": st.column_config.TextColumn(
                "Kind", width="small", help="A question or request needs an answer, no fix"
            ),
            "stars": st.column_config.TextColumn("Rating", width="small"),
            "source": st.column_config.TextColumn("Source", width="small"),
            "author": st.column_config.TextColumn("Author", width="small"),
            "text": st.column_config.TextColumn("Mention", width="large"),
            "link": st.column_config.LinkColumn("Link", display_text="open ↗", width="small"),
        },
    )


def _choice_label(row: dict) -> str:
    text = " ".join(components.plain(str(row["text"])).split())
    flag = "LATE · " if row["breached"] else ""
    return f"{flag}{row['state']} · {components.plain(row.get('author') or '?')} · {text[:70]}"


def work_on(rows: pd.DataFrame) -> None:
    records = components.records(rows)
    st.subheader("Work on a complaint", anchor=False)
    chosen = st.selectbox(
        "Complaint",
        range(len(records)),
        format_func=lambda i: _choice_label(records[i]),
        key="inbox-chosen",
    )
    row = records[chosen or 0] if chosen is not None and chosen < len(records) else records[0]
    with st.container(border=True):
        components.mention_card(row)
        components.actions(row, "inbox")


def render() -> None:
    cfg = context.config()
    sla = cfg.reports.sla_minutes
    st.title("Inbox", anchor=False)
    st.caption(
        f"Every complaint and where its answer stands. Target: a public answer within {sla} min "
        "(reports.sla_minutes in vigie.yaml)."
    )
    options(sla)
    f = current_filter(context.selected_brands(cfg), sla)
    summary(f)
    rows = context.inbox(f, context.minute(context.now()))
    if rows.empty:
        components.empty(
            "No complaint in this view. Widen the period or the states; new complaints land here "
            "as soon as the scorer flags them."
        )
        return
    table(rows)
    components.download(rows.drop(columns=["complaint"]), "inbox", key="inbox-export")
    work_on(rows)


render()
