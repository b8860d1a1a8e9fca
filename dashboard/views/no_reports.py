"""Reports, where the weekly report page is not installed: say where the figures are."""

from __future__ import annotations

import streamlit as st

from dashboard import components

st.title("Reports", anchor=False)
components.empty(
    "The reports page is not installed here. Trends shows the same figures live, with CSV "
    "exports of everything it shows."
)
