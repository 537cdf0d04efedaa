"""Extract assets: one per source × object in sources.yaml, with a freshness check beside each."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

from aeglobal_pipeline.config import Source, SourcesFile
from aeglobal_pipeline.sources.extract import (
    ExtractResult,
    extract_prospects,
    extract_salesforce_object,
)
from aeglobal_pipeline.sources.resources import SourceSystems
from aeglobal_pipeline.warehouse import connect

EXTRACT_GROUP = "extract"
WAREHOUSE_POOL = "warehouse"
# Transient API trouble (timeouts, 5xx after the client's own retries) is worth another go.
EXTRACT_RETRY = dg.RetryPolicy(max_retries=2, delay=10, backoff=dg.Backoff.EXPONENTIAL)


class ExtractConfig(dg.Config):
    full_refresh: bool = False


def extract_asset_key(source: str, object_name: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", f"{source}__{object_name.lower()}"])


def _preview(result: ExtractResult) -> str:
    """Counts and the newest change stamps only: raw rows carry personal data."""
    id_column, stamp_column = (
        ("id", "updatedAt") if result.object == "Prospect" else ("Id", "SystemModstamp")
    )
    with connect() as con:
        rows = con.execute(
            f'select "{id_column}", "{stamp_column}", _is_deleted, _run_id from {result.table} '  # noqa: S608 - identifiers from constants
            f'order by try_cast("{stamp_column}" as timestamptz) desc nulls last limit 5'
        ).fetchall()
    lines = [f"| {id_column} | {stamp_column} | deleted | run |", "|---|---|---|---|"]
    lines += [f"| {r[0]} | {r[1]} | {r[2]} | {r[3][:8]} |" for r in rows]
    return "\n".join(lines)


def _materialize_result(result: ExtractResult) -> dg.MaterializeResult:
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": result.total_rows,
            "table": result.table,
            "mode": result.mode,
            "fetched": result.fetched,
            "new": result.new,
            "updated": result.updated,
            "deleted": result.deleted,
            "unchanged": result.unchanged,
            "high_water_mark": result.high_water_mark or "",
            "columns": len(result.columns),
            "latest_changes": dg.MetadataValue.md(_preview(result)),
        }
    )


def build_extract_asset(source: Source, object_name: str) -> dg.AssetsDefinition:
    kind = "salesforce" if source.kind == "salesforce" else "account_engagement"
    system = "Salesforce org" if source.kind == "salesforce" else "Account Engagement business unit"

    @dg.asset(
        key=extract_asset_key(source.name, object_name),
        description=(
            f"{object_name} records of the {source.region} {system} `{source.name}` "
            f"({source.legal_entity}), extracted incrementally."
        ),
        group_name=EXTRACT_GROUP,
        kinds={kind, "duckdb"},
        owners=["team:data-engineering"],
        tags={"region": source.region.lower(), "source": source.name},
        metadata={"source": source.name, "legal_entity": source.legal_entity, "object": object_name},
        retry_policy=EXTRACT_RETRY,
        pool=WAREHOUSE_POOL,
    )
    def _extract(
        context: dg.AssetExecutionContext, config: ExtractConfig, source_systems: SourceSystems
    ) -> dg.MaterializeResult:
        log = context.log.info
        if source.kind == "salesforce":
            result = extract_salesforce_object(
                source_systems.salesforce(source.name), source, object_name, context.run_id,
                log=log, full_refresh=config.full_refresh,
            )
        else:
            result = extract_prospects(
                source_systems.account_engagement(source.name), source, context.run_id,
                log=log, full_refresh=config.full_refresh,
            )
        log(
            f"{result.table}: {result.new} new, {result.updated} updated, "
            f"{result.deleted} deleted ({result.fetched} fetched, mode {result.mode})"
        )
        return _materialize_result(result)

    return _extract


def build_extract_assets(sources: SourcesFile) -> list[dg.AssetsDefinition]:
    return [
        build_extract_asset(source, object_name)
        for source in sources.sources
        for object_name in source.objects
    ]


def build_extract_freshness_checks(assets: list[dg.AssetsDefinition]) -> list[dg.AssetChecksDefinition]:
    """Warn when an extract has not been refreshed for a day (the sync is falling behind)."""
    if not assets:
        return []
    return list(
        dg.build_last_update_freshness_checks(
            assets=assets, lower_bound_delta=timedelta(hours=26)
        )
    )
