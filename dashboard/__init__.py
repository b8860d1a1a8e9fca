"""The Streamlit dashboard: reads the database, writes only people's actions back to it."""
