"""Backtest: replay a recorded history through the pipeline, and the export it reads."""
