"""Reports: the weekly trends reports for marketing, to read, download or generate.

A page script run by the app's ``st.navigation``. It lists the reports indexed in the database,
shows one in the page (the report is Vigie's own HTML, with every mention text escaped when it
was rendered), and offers its HTML, PDF and CSV for download.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from monitor.config import Settings, VigieConfig, default_config_path, load_config
from monitor.display import duration
from monitor.reports import format as fmt
from monitor.reports import registry
from monitor.reports.period import Week, last_complete
from monitor.storage.db import make_engine, upgrade

FILES = (
    ("report.pdf", "PDF", "application/pdf"),
    ("report.html", "HTML", "text/html"),
    ("data.csv", "CSV (numbers)", "text/csv"),
)
WEEKS_OFFERED = 12


@st.cache_resource(show_spinner=False)
def _engine(url: str) -> Engine:
    engine = make_engine(url)
    upgrade(engine)
    return engine


def _config(settings: Settings) -> VigieConfig:
    return load_config(default_config_path(settings))


def _schedule_caption(config: VigieConfig) -> str:
    r = config.reports
    if not r.enabled:
        return "Scheduled sending is off (reports.enabled in the config)."
    return (
        f"Each week's report goes out on {r.day.capitalize()} at {r.time} ({r.timezone}) "
        f"to the recipients set under reports.recipients; complaints are measured against a "
        f"{duration(r.sla_minutes)} response target."
    )


def _generate_form(engine: Engine, config: VigieConfig, settings: Settings, brand: str) -> None:
    zone = config.zone(brand)
    latest = last_complete(datetime.now(UTC), zone)
    weeks = [latest.shift(1 - n) for n in range(WEEKS_OFFERED + 1)]
    with st.expander("Generate a report"), st.form("generate-report"):
        week = st.selectbox(
            "Week",
            weeks,
            index=1,
            format_func=lambda w: (
                f"{w.label} · {w.span()}" + (" (in progress)" if w == weeks[0] else "")
            ),
        )
        send = st.checkbox(
            "Also e-mail it to " + (", ".join(config.reports.recipients_for(brand)) or "nobody")
        )
        if st.form_submit_button("Generate", type="primary"):
            _generate(engine, config, settings, brand, week, send)


def _generate(
    engine: Engine,
    config: VigieConfig,
    settings: Settings,
    brand: str,
    week: Week,
    send: bool,
) -> None:
    # Imported here: matplotlib, scikit-learn and fpdf2 cost seconds, paid only when generating.
    from monitor.reports.weekly import default_dir, deliver, describe, generate

    now = datetime.now(UTC)
    with st.spinner(f"Generating {brand}'s report for {week.label}…"):
        report = generate(engine, config, brand, week, default_dir(settings, brand, week), now)
    st.session_state["report-week"] = week.label
    if not send:
        st.success(f"Report for {week.label} generated.")
        return
    try:
        delivery = deliver(engine, report, config, settings, now)
    except Exception as exc:  # shown to the user, who can retry; nothing is lost
        st.error(f"The report was generated but not sent: {describe(exc)}")
        return
    if delivery.eml is None:
        st.success(f"Report for {week.label} sent to {', '.join(delivery.recipients)}.")
    else:
        st.info(f"No SMTP server or recipient configured: the e-mail was saved as {delivery.eml}.")


def _listing(entries: list[registry.ReportEntry]) -> pd.DataFrame:
    rows = []
    for e in entries:
        s = e.summary or {}
        status = "not sent"
        if e.sent_at:
            status = f"sent {e.sent_at:%Y-%m-%d %H:%M} UTC"
        elif e.last_error:
            status = f"failed ×{e.attempts}: {e.last_error}"
        rows.append(
            {
                "Week": e.week,
                "Mentions": s.get("mentions"),
                "Net sentiment": fmt.net(s.get("net_sentiment")),
                "Share of voice": fmt.percent(s.get("share_of_voice")),
                "Complaints": s.get("complaints"),
                "Unanswered": s.get("unanswered"),
                "Generated": e.generated_at.strftime("%Y-%m-%d %H:%M") if e.generated_at else "",
                "E-mail": status,
            }
        )
    return pd.DataFrame(rows)


def _show(entry: registry.ReportEntry) -> None:
    folder = Path(entry.path or "")
    present = {name: folder / name for name, _, _ in FILES if (folder / name).is_file()}
    if "report.html" not in present:
        st.warning(
            f"The files of {entry.week} are not on this machine ({folder}). "
            "Generate the report again to get them."
        )
        return
    columns = st.columns(len(FILES))
    for column, (name, label, mime) in zip(columns, FILES, strict=True):
        if name in present:
            column.download_button(
                f"Download {label}",
                present[name].read_bytes(),
                file_name=f"{entry.brand}-{entry.week}-{name}",
                mime=mime,
                key=f"download-{entry.week}-{name}",
                width="stretch",
            )
    # Not an iframe: components.html sandboxes with scripts *and* same-origin, which leaves the
    # report's escaping as the only barrier. st.html sanitises (DOMPurify) and runs no script.
    st.html(present["report.html"].read_text(encoding="utf-8"))


def main() -> None:
    st.title("Reports")
    settings = Settings()
    config = _config(settings)
    engine = _engine(settings.db_url)
    st.caption(_schedule_caption(config))
    brand = st.selectbox("Brand", config.brand_names, key="report-brand")
    _generate_form(engine, config, settings, brand)
    entries = registry.entries(engine, brand)
    if not entries:
        st.info(
            f"No report for {brand} yet. The first one is generated when its week is over, "
            "or generate one above."
        )
        return
    st.dataframe(_listing(entries), hide_index=True, width="stretch")
    weeks = [e.week for e in entries]
    wanted = st.session_state.get("report-week")
    chosen = st.selectbox(
        "Report", weeks, index=weeks.index(wanted) if wanted in weeks else 0, key="report-shown"
    )
    _show(next(e for e in entries if e.week == chosen))


main()
