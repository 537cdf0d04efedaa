"""The steward report: what the machine could not decide, as an offline HTML page and CSV files.

`queries` ranks each section's items in DuckDB (read-only warehouse, temporary tables) with the
decision a steward can record, `sql` holds the shared SQL pieces (shell quoting, the page cap,
CSV export), `sections` writes each CSV file from DuckDB and turns the rows the page shows into
items, `render` writes the page, `assets` is the Dagster asset.
"""

from aeglobal_pipeline.report.render import ReportFiles, reports_dir, write_report

__all__ = ["ReportFiles", "reports_dir", "write_report"]
