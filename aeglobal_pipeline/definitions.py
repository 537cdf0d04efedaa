"""Dagster definitions: gathers the assets, checks, jobs, schedules and resources of each domain."""

from __future__ import annotations

import dagster as dg

from aeglobal_pipeline.config import ConfigError, load_sources
from aeglobal_pipeline.governance import governance_assets, governance_checks
from aeglobal_pipeline.identity.assets import identity_assets, identity_checks
from aeglobal_pipeline.sources.assets import build_extract_assets
from aeglobal_pipeline.sources.resources import SourceSystems
from aeglobal_pipeline.transform.assets import build_dbt_assets
from aeglobal_pipeline.transform.project import dbt_resource
from aeglobal_pipeline.writeback.assets import writeback_assets, writeback_checks, writeback_jobs

logger = dg.get_dagster_logger()


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
            *extract_assets, *build_dbt_assets(), *identity_assets, *governance_assets,
            *writeback_assets,
        ],
        asset_checks=[*identity_checks, *governance_checks, *writeback_checks],
        jobs=[
            dg.define_asset_job("extract_job", selection=dg.AssetSelection.groups("extract")),
            *writeback_jobs,
        ],
        resources={"source_systems": SourceSystems(), "dbt": dbt_resource()},
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions()
