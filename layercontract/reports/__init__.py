"""Run records and reports."""
