"""Dagster definitions: gathers the assets, checks, jobs, schedules, sensors and resources of each domain."""

from __future__ import annotations

import dagster as dg

from aeglobal_pipeline.config import ConfigError, load_sources
from aeglobal_pipeline.governance import governance_assets, governance_checks
from aeglobal_pipeline.identity.assets import identity_assets, identity_checks
from aeglobal_pipeline.operations import sensors
from aeglobal_pipeline.report.assets import report_assets
from aeglobal_pipeline.rules_check.asset import CONFIGURATION_CHECK_KEY, configuration_check
from aeglobal_pipeline.run_hygiene import release_dead_run_slots
from aeglobal_pipeline.sources.assets import build_extract_assets
from aeglobal_pipeline.sources.resources import SourceSystems
from aeglobal_pipeline.transform.assets import build_dbt_assets
from aeglobal_pipeline.transform.project import dbt_resource
from aeglobal_pipeline.warehouse.maintenance import warehouse_compaction, weekly_compaction
from aeglobal_pipeline.writeback.assets import writeback_assets, writeback_checks, writeback_jobs

logger = dg.get_dagster_logger()

ASSET_GROUPS = ("extract", "person_records", "identity", "governance", "marts", "writeback", "steward")

full_sync_job = dg.define_asset_job(
    "full_sync", selection=dg.AssetSelection.all(), description="Extract, resolve, plan, write back."
)


def group_jobs() -> list[dg.UnresolvedAssetJobDefinition]:
    """One job per asset group, for on-demand runs from the UI; each validates the configuration
    first, so a bad rules or sources file stops it before any call or write."""
    check = dg.AssetSelection.assets(CONFIGURATION_CHECK_KEY)
    return [
        dg.define_asset_job(f"{group}_job", selection=dg.AssetSelection.groups(group) | check)
        for group in ASSET_GROUPS
    ]


def build_definitions() -> dg.Definitions:
    """Everything the project defines, built from the active sources.yaml."""
    try:
        sources = load_sources()
    except ConfigError as error:
        # Still load (without extracts) so the UI can show what is wrong.
        logger.warning(f"No extract assets: {error}")
        extract_assets = []
    else:
        extract_assets = build_extract_assets(sources)
    return dg.Definitions(
        assets=[
            configuration_check, *extract_assets, *build_dbt_assets(), *identity_assets, *governance_assets,
            *writeback_assets, *report_assets,
        ],
        asset_checks=[*identity_checks, *governance_checks, *writeback_checks],
        jobs=[*group_jobs(), full_sync_job, *writeback_jobs, warehouse_compaction],
        schedules=[
            # Write-back stays a dry run on schedule unless the deployment sets apply in run config.
            dg.ScheduleDefinition(
                name="daily_full_sync", job=full_sync_job, cron_schedule="0 3 * * *",
                execution_timezone="UTC", default_status=dg.DefaultScheduleStatus.STOPPED,
            ),
            weekly_compaction,
        ],
        sensors=[*sensors, release_dead_run_slots],
        resources={"source_systems": SourceSystems(), "dbt": dbt_resource()},
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions()
