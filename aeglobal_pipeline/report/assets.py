"""The `steward_report` asset: the HTML page and CSV files under $AEGLOBAL_HOME/reports/."""

import dagster as dg

from aeglobal_pipeline.identity.assets import LINKS_KEY, MAP_KEY
from aeglobal_pipeline.report.render import summary_markdown, write_report
from aeglobal_pipeline.rules_check.asset import CONFIGURATION_CHECK_KEY
from aeglobal_pipeline.writeback.assets import WRITEBACK_KEY

STEWARD_GROUP = "steward"
REPORT_KEY = dg.AssetKey(["steward_report"])
WAREHOUSE_POOL = "warehouse"
# Every table report.queries reads, so the report runs after them and shows as their downstream.
READS = [
    dg.AssetKey(["raw", "source_systems"]),
    dg.AssetKey(["intermediate", "int_person_records"]),
    dg.AssetKey(["rules", "identity_thresholds"]),
    LINKS_KEY,
    MAP_KEY,
    dg.AssetKey(["marts", "identity_conflicts"]),
    dg.AssetKey(["marts", "governance_findings"]),
    WRITEBACK_KEY,
]


@dg.asset(
    key=REPORT_KEY,
    deps=[*READS, CONFIGURATION_CHECK_KEY],
    group_name=STEWARD_GROUP,
    kinds={"html", "csv", "duckdb"},
    owners=["team:data-governance"],
    pool=WAREHOUSE_POOL,
)
def steward_report(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """What stewards must decide, as an offline HTML page plus CSV files, ordered by impact."""
    files = write_report()
    context.log.info(f"steward report: {files.html}")
    counts = {section.key: dg.MetadataValue.int(section.total) for section in files.sections}
    missing = {s.key: s.missing for s in files.sections if s.missing}
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": sum(section.total for section in files.sections),
            "report": dg.MetadataValue.path(str(files.html)),
            "report_url": dg.MetadataValue.url(files.html.as_uri()),
            "csv_dir": dg.MetadataValue.path(str(files.html.parent)),
            **counts,
            "sections_without_data": dg.MetadataValue.json(missing),
            "summary": dg.MetadataValue.md(summary_markdown(files)),
            "model_version": files.model_version or "",
        }
    )


report_assets = [steward_report]
