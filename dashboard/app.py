"""Vigie's dashboard: ``streamlit run dashboard/app.py`` (``python -m monitor dashboard`` does it).

It reads the database named by ``DATABASE_URL`` (or the SQLite file in ``VIGIE_DATA_DIR``) and
the config file, never the collectors, so it stays responsive whatever they are doing.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run` puts only dashboard/ on the path
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from dashboard import auth, context  # noqa: E402
from monitor.config import ConfigError  # noqa: E402

HERE = Path(__file__).resolve().parent
# Not "pages/": Streamlit runs the files of a pages/ folder by themselves, skipping this script
# and its login, for the first visitor after a restart.
VIEWS = HERE / "views"


def _pages() -> list[st.Page]:
    return [
        st.Page(VIEWS / "live.py", title="Live", icon=":material/dynamic_feed:", default=True),
        st.Page(VIEWS / "spreading.py", title="Spreading now", icon=":material/trending_up:"),
        st.Page(VIEWS / "incidents.py", title="Incidents", icon=":material/crisis_alert:"),
        st.Page(VIEWS / "inbox.py", title="Inbox", icon=":material/inbox:"),
        st.Page(VIEWS / "trends.py", title="Trends", icon=":material/monitoring:"),
        st.Page(VIEWS / "reports.py", title="Reports", icon=":material/summarize:"),
        st.Page(VIEWS / "settings.py", title="Sources & settings", icon=":material/tune:"),
    ]


def main() -> None:
    # A local icon: a ":material/…:" page icon makes the browser fetch it from fonts.gstatic.com.
    st.set_page_config(page_title="Vigie", page_icon=str(HERE / "icon.png"), layout="wide")
    settings = context.settings()
    if auth.refuse_foreign_host(settings, context.dashboard_url()):
        st.stop()
    if not auth.gate(settings, context.engine):
        st.stop()
    try:
        cfg = context.config()
    except ConfigError as exc:
        st.title("Vigie")
        st.error("The configuration file has a problem:")
        st.code(str(exc), language=None)
        st.stop()
    page = st.navigation(_pages(), position="top")
    context.sidebar(cfg)
    page.run()


main()
