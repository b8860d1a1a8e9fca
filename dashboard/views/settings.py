"""Sources & settings: collector health, alert delivery, brands and thresholds, data exports, and
every source Vigie can read (built-in or an installed plugin).

Nothing secret is shown: the database URL has its password masked, webhook URLs (which carry
tokens) show only their kind, and API keys live in environment variables the page never reads.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pandas as pd
import streamlit as st

from dashboard import auth, components, config_edit, context
from monitor.collectors.catalog import source_states
from monitor.config import Brand, VigieConfig
from monitor.storage.db import redacted

SILENT_AFTER = timedelta(hours=24)
STATUS_COLOURS = {
    "ok": "#2a9d8f",
    "failing": "#d1495b",
    "stalled": "#e09f3e",
    "silent": "#e09f3e",
    "disabled": "#8d99ae",
    "not started": "#8d99ae",
}


def mask_target(value: Any) -> Any:
    """Webhook URLs carry tokens: keep the kind (``slack://…``), hide the rest."""
    if isinstance(value, str) and "://" in value:
        return value.split("://", 1)[0] + "://…"
    return value


def source_status(row: dict[str, Any], interval: float | None, latest: Any) -> str:
    now = context.now()
    if interval is None:
        return "disabled"
    if row.get("last_run_at") is None or pd.isna(row["last_run_at"]):
        return "not started"
    if row["consecutive_failures"]:
        return "failing"
    if now - row["last_run_at"] > timedelta(seconds=max(3 * interval, 900)):
        return "stalled"
    if latest is None or pd.isna(latest) or now - latest > SILENT_AFTER:
        return "silent"
    return "ok"


def health_table(cfg: VigieConfig) -> pd.DataFrame:
    state = context.collector_health()
    latest = context.latest_mention_by_source(context.since(days=7))
    newest = {(r["source"], r["brand"]): r["latest"] for r in components.records(latest)}
    rows = []
    for row in components.records(state):
        source = cfg.sources.get(row["source"])
        interval = source.interval_seconds if source and source.enabled else None
        last = newest.get((row["source"], row["brand"]))
        rows.append({**row, "status": source_status(row, interval, last), "latest": last})
    known = set(state["source"]) if not state.empty else set()
    for name, source in cfg.sources.items():
        if name not in known:
            status = "not started" if source.enabled else "disabled"
            rows.append({"source": name, "brand": None, "status": status})
    return pd.DataFrame(rows)


def sources_tab(cfg: VigieConfig) -> None:
    table = health_table(cfg)
    if table.empty:
        components.empty(
            "No source configured: add one under `sources` in vigie.yaml, or run the demo with "
            "`python -m monitor demo`."
        )
        return
    problems = table[table["status"].isin(["failing", "stalled", "silent"])]
    if problems.empty:
        st.success("Every enabled source is collecting.", icon=":material/check_circle:")
    else:
        st.warning(
            f"{len(problems)} of {len(table)} sources need a look: failing (errors), stalled "
            "(not run lately: is the monitor running?) or silent (no mention in 24 h).",
            icon=":material/warning:",
        )
    view = pd.DataFrame(
        {
            "status": table["status"],
            "source": table["source"],
            "brand": table.get("brand"),
            "last_success": table.get("last_success_at", pd.Series(dtype=object)).map(
                components.ago
            ),
            "latest": table.get("latest", pd.Series(dtype=object)).map(components.ago),
            "last_items": table.get("last_items"),
            "items_total": table.get("items_total"),
            "failures": table.get("consecutive_failures"),
            "last_error": table.get("last_error", pd.Series(dtype=object)).map(components.plain),
        }
    )
    st.dataframe(
        components.coloured(view, {"status": STATUS_COLOURS}),
        hide_index=True,
        column_config={
            "status": "Status",
            "source": "Source",
            "brand": "Brand",
            "last_success": "Last success",
            "latest": "Newest mention",
            "last_items": st.column_config.NumberColumn("Last run", format="%d"),
            "items_total": st.column_config.NumberColumn("Collected", format="%d"),
            "failures": st.column_config.NumberColumn("Failures in a row", format="%d"),
            "last_error": st.column_config.TextColumn("Last error", width="large"),
        },
    )
    set_aside()


def set_aside() -> None:
    """Items a source sent that could not be read: kept aside so they block nothing, shown so
    someone can see what the service sends (and report it upstream)."""
    items = context.quarantined()
    if items.empty:
        return
    st.markdown(f"**Set aside: {len(items)} item(s) a source sent that could not be read**")
    st.caption(
        "The rest of their page was stored. Each is kept as sent, with why; "
        "`python -m monitor quarantine` lists them too."
    )
    st.dataframe(
        readable(items),
        hide_index=True,
        column_config={
            "source": "Source",
            "brand": "Brand",
            "error": st.column_config.TextColumn("Why", width="medium"),
            "payload": st.column_config.TextColumn("As sent", width="large"),
            "first_seen_at": st.column_config.DatetimeColumn("First seen", format="D MMM HH:mm"),
            "last_seen_at": st.column_config.DatetimeColumn("Last seen", format="D MMM HH:mm"),
            "times_seen": st.column_config.NumberColumn("Times seen", format="%d"),
        },
    )


def catalog(cfg: VigieConfig) -> None:
    """Every source Vigie can read (built-in or an installed plugin), and whether it is on."""
    states = source_states(cfg, credentials=None)
    st.dataframe(
        pd.DataFrame(
            {
                "source": [s.name for s in states],
                "state": [s.state for s in states],
                "reads": [s.summary for s in states],
                "credentials": [", ".join(s.credentials) or "none" for s in states],
                "origin": [s.origin for s in states],
                "link": [s.link for s in states],
            }
        ),
        hide_index=True,
        column_config={
            "source": "Source",
            "state": "In this config",
            "reads": st.column_config.TextColumn("Reads", width="large"),
            "credentials": "Environment variables",
            "origin": "Provided by",
            "link": st.column_config.LinkColumn("Documentation", display_text="docs"),
        },
    )


def alerts_tab() -> None:
    alerts = context.recent_alerts()
    if alerts.empty:
        components.empty("No alert yet. Alerts appear here as detection raises them.")
        return
    pending = int((alerts["status"] == "pending").sum())
    failing = int(((alerts["status"] == "pending") & (alerts["attempts"] > 0)).sum())
    columns = st.columns(3)
    columns[0].metric("Waiting to go out", pending, border=True)
    columns[1].metric("Retrying after an error", failing, border=True)
    columns[2].metric("Sent (latest 100)", int((alerts["status"] == "sent").sum()), border=True)
    st.dataframe(readable(alerts), hide_index=True, column_config=ALERT_COLUMNS)
    deliveries = context.alert_deliveries()
    if deliveries is not None and not deliveries.empty:
        st.markdown("**Deliveries per recipient**")
        deliveries["target"] = deliveries["target"].map(mask_target)
        st.dataframe(readable(deliveries), hide_index=True, column_config=DELIVERY_COLUMNS)


def readable(frame: pd.DataFrame) -> pd.DataFrame:
    """Times in the page's zone, text without controls, and blanks, never a literal None."""
    tz = context.timezone()
    frame = frame.copy()
    for column in frame.columns:
        if column.endswith("_at"):
            frame[column] = pd.to_datetime(frame[column], utc=True).dt.tz_convert(tz)
        elif pd.api.types.is_string_dtype(frame[column]) or frame[column].dtype == object:
            # titles and errors quote what others wrote
            frame[column] = frame[column].map(components.plain).fillna("")
    return frame


def _labels(text: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": None,
        "created_at": st.column_config.DatetimeColumn("Raised", format="D MMM HH:mm"),
        "attempts": st.column_config.NumberColumn("Attempts", format="%d"),
        "next_attempt_at": st.column_config.DatetimeColumn("Next try", format="D MMM HH:mm:ss"),
        "last_error": st.column_config.TextColumn("Last error", width="medium"),
        "sent_at": st.column_config.DatetimeColumn("Sent", format="D MMM HH:mm"),
        **text,
    }


ALERT_COLUMNS = _labels(
    {
        "kind": "Kind",
        "severity": "Severity",
        "brand": "Brand",
        "title": st.column_config.TextColumn("Alert", width="large"),
        "status": "Status",
    }
)
DELIVERY_COLUMNS = _labels(
    {
        "alert_id": st.column_config.NumberColumn("Alert no.", format="%d"),
        "channel": "Channel",
        "target": "Recipient",
        "status": "Status",
    }
)


def _lines(text: str) -> list[str]:
    return [part.strip() for part in text.replace(",", "\n").splitlines() if part.strip()]


def brand_form(cfg: VigieConfig, brand: Brand) -> None:
    rules = brand.alerts
    key = f"cfg-{brand.name}"
    with st.form(key, border=True):
        st.markdown(f"**{components.md(brand.name)}**: what to watch")
        left, right = st.columns(2)
        keywords = left.text_area("Keywords", "\n".join(brand.keywords), key=f"{key}-kw")
        handles = left.text_area("Handles", "\n".join(brand.handles), key=f"{key}-handles")
        exclusions = left.text_area("Exclusions", "\n".join(brand.exclusions), key=f"{key}-ex")
        languages = right.text_input("Languages", ", ".join(brand.languages), key=f"{key}-lang")
        competitors = right.text_area(
            "Competitors", "\n".join(brand.competitors), key=f"{key}-rivals"
        )
        recipients = right.text_area(
            "Alert recipients (emails)", "\n".join(rules.recipients), key=f"{key}-to"
        )
        st.markdown("**Thresholds**")
        a, b, c = st.columns(3)
        spreading = {
            "reshares_per_hour": a.number_input(
                "Spreading: reshares per hour", 0.1, value=float(rules.spreading.reshares_per_hour)
            ),
            "min_reshares": a.number_input(
                "Spreading: at least reshares", 0, value=rules.spreading.min_reshares
            ),
            "negative_only": a.checkbox(
                "Negative mentions only", value=rules.spreading.negative_only
            ),
        }
        volume = {
            "window_minutes": b.number_input(
                "Volume: window (min)", 1, value=rules.volume.window_minutes
            ),
            "baseline_hours": b.number_input(
                "Volume: baseline (h)", 1, value=rules.volume.baseline_hours
            ),
            "factor": b.number_input(
                "Volume: × usual", 1.01, value=float(rules.volume.factor), step=0.5
            ),
            "min_count": c.number_input("Volume: at least", 1, value=rules.volume.min_count),
            "cooldown_minutes": c.number_input(
                "Volume: quiet after (min)", 0, value=rules.volume.cooldown_minutes
            ),
        }
        sla = c.number_input(
            "Response target (min)", 1, value=cfg.reports.sla_minutes, key=f"{key}-sla"
        )
        if rules.webhooks:
            hooks = ", ".join(mask_target(h) for h in rules.webhooks)
            st.caption(f"Chat webhooks: {components.md(hooks)} (edit them in the file).")
        submitted = st.form_submit_button("Save", type="primary", key=f"{key}-save")
    if submitted:
        edit = config_edit.BrandEdit(
            keywords=_lines(keywords),
            handles=_lines(handles),
            exclusions=_lines(exclusions),
            languages=_lines(languages),
            competitors=_lines(competitors),
            recipients=_lines(recipients),
            spreading=spreading,
            volume=volume,
        )
        save(brand.name, edit, int(sla))


def save(brand: str, edit: config_edit.BrandEdit, sla: int) -> None:
    path = context.config_path()
    raw = config_edit.apply(config_edit.read_raw(path), brand, edit, sla)
    problems = config_edit.validate(raw)
    if problems:
        st.error("Not saved:\n\n" + "\n".join(f"- {components.md(p)}" for p in problems))
        return
    written = config_edit.save(path, raw)
    st.success(
        f"Saved to {components.md(str(written))}. The dashboard uses it now; restart the "
        "monitor for collection and alerts to follow.",
        icon=":material/check_circle:",
    )


def brands_tab(cfg: VigieConfig) -> None:
    st.caption(
        f"From {components.md(str(context.config_path()))}. Changes are checked like the file is "
        "at start-up before they are saved."
    )
    names = cfg.brand_names
    chosen = st.selectbox("Brand", names, key="cfg-brand") if len(names) > 1 else names[0]
    brand_form(cfg, cfg.brand(chosen or names[0]))


def access_text() -> str:
    settings = context.settings()
    if auth.oidc_configured():
        return "single sign-on (st.login)"
    if auth.password_hash(settings) is not None:
        return "password"
    return "this machine only (no login)"


def data_tab() -> None:
    facts = context.overview()
    columns = st.columns(3)
    columns[0].metric("Mentions stored", f"{facts['mentions']:,}", border=True)
    columns[1].metric("Last collection", components.ago(facts["last_collected"]), border=True)
    columns[2].metric("Sentiment corrections", f"{facts['corrections']:,}", border=True)
    st.markdown(f"Database: `{redacted(context.settings().db_url)}`")
    st.markdown(f"Dashboard access: {access_text()}")
    st.markdown("**Sentiment corrections**")
    st.caption(
        "Every correction made on the dashboard, with the model's reading and the text: the file "
        "to evaluate or retrain the model with (texts are exported as written)."
    )
    rows = context.corrections()
    st.download_button(
        "Export corrections (CSV)",
        rows.to_csv(index=False).encode("utf-8"),
        file_name=f"vigie-corrections-{context.now():%Y%m%d}.csv",
        mime="text/csv",
        key="cfg-corrections",
        icon=":material/download:",
        disabled=rows.empty,
        on_click="ignore",
    )


def render() -> None:
    cfg = context.config()
    st.title("Sources & settings", anchor=False)
    tabs = ["Sources", "Alerts", "Brands & thresholds", "Data", "Available sources"]
    sources, alerts, brands, data, available = st.tabs(tabs)
    with sources:
        sources_tab(cfg)
    with alerts:
        alerts_tab()
    with brands:
        brands_tab(cfg)
    with data:
        data_tab()
    with available:
        catalog(cfg)


render()
