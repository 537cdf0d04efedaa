"""The steward report: what the machine could not decide, as an offline HTML page and CSV files.

`queries` reads the warehouse (read-only), `sections` ranks items and writes the decision a
steward can record, `render` writes the files, `assets` is the Dagster asset.
"""

from aeglobal_pipeline.report.render import ReportFiles, reports_dir, write_report

__all__ = ["ReportFiles", "reports_dir", "write_report"]
