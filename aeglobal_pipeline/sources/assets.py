"""Extract assets: one per source × object in sources.yaml, with a freshness check beside each."""

from datetime import timedelta

import dagster as dg

from aeglobal_pipeline.config import Source, SourcesFile
from aeglobal_pipeline.report.safe_text import markdown_cell as cell
from aeglobal_pipeline.rules_check.asset import CONFIGURATION_CHECK_KEY
from aeglobal_pipeline.sources.auth import SourceAuthError
from aeglobal_pipeline.sources.auth_errors import is_authentication_error
from aeglobal_pipeline.sources.extract import ExtractResult, extract_object
from aeglobal_pipeline.sources.kinds import KINDS, all_objects, descriptor
from aeglobal_pipeline.sources.limits import daily_limit_message, is_daily_limit
from aeglobal_pipeline.sources.raw_tables import ensure_object_table, raw_table_name
from aeglobal_pipeline.sources.raw_views import UNION_VIEWS, refresh_union_view, write_source_systems
from aeglobal_pipeline.sources.resources import SourceSystems
from aeglobal_pipeline.warehouse import connect

EXTRACT_GROUP = "extract"
WAREHOUSE_POOL = "warehouse"
# Transient API trouble (timeouts, 5xx after the client's own retries) is worth another go.
# Jitter spreads the retries of parallel extracts so they do not hit one org at the same moment.
EXTRACT_RETRY = dg.RetryPolicy(
    max_retries=2, delay=10, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)

class ExtractConfig(dg.Config):
    full_refresh: bool = False

def extract_asset_key(source: str, object_name: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", f"{source}__{object_name.lower()}"])

def _preview(result: ExtractResult) -> str:
    """Counts and the newest change stamps only: raw rows carry personal data."""
    object_descriptor = descriptor(result.object)
    id_column, stamp_column = object_descriptor.id_column, object_descriptor.stamp_column
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

def _stopped_result(source: Source, object_name: str, message: str) -> dg.MaterializeResult:
    table = raw_table_name(source.name, object_name)
    with connect() as con:
        ensure_object_table(con, table, descriptor(object_name).shape)
        rows = con.execute(f"select count(*) from {table}").fetchone()[0]  # noqa: S608 - our name
    return dg.MaterializeResult(metadata={
        "dagster/row_count": rows, "table": table, "mode": "stopped", "stopped": message,
    })


def build_extract_asset(source: Source, object_name: str) -> dg.AssetsDefinition:
    kind = source.kind
    system = KINDS[source.kind].label

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
        # A daily sync: warn when an extract is a day old, fail when it is two days behind.
        freshness_policy=dg.FreshnessPolicy.time_window(
            fail_window=timedelta(hours=48), warn_window=timedelta(hours=26)
        ),
        pool=WAREHOUSE_POOL,
        deps=[CONFIGURATION_CHECK_KEY],  # a bad rules or sources file stops the run before any call
    )
    def _extract(
        context: dg.AssetExecutionContext, config: ExtractConfig, source_systems: SourceSystems
    ) -> dg.MaterializeResult:
        log = context.log.info
        try:
            result = extract_object(
                source_systems, source, object_name, context.run.run_id,
                log=log, full_refresh=config.full_refresh,
            )
        except SourceAuthError as error:
            # An expired token without a refresh path: retrying the step cannot help.
            raise dg.Failure(description=str(error), allow_retries=False) from error
        except Exception as error:
            if is_authentication_error(error):
                raise dg.Failure(  # no retry: a credential that failed once fails every time
                    description=f"{source.name}: authentication failed ({type(error).__name__}: {error}); "
                    "check the connection's credentials in sources.yaml",
                    allow_retries=False,
                ) from error
            if not is_daily_limit(error):
                raise
            # Stop this source cleanly: its table and mark stay as they were, the run goes on
            # with the other sources, and no retry spends calls the org no longer has.
            message = daily_limit_message(source.name, object_name, error)
            context.log.warning(message)
            return _stopped_result(source, object_name, message)
        log(
            f"{result.table}: {result.new} new, {result.updated} updated, "
            f"{result.deleted} deleted ({result.fetched} fetched, mode {result.mode})"
        )
        return _materialize_result(result)

    return _extract

def build_source_systems_asset(sources: SourcesFile) -> dg.AssetsDefinition:
    @dg.asset(
        key=dg.AssetKey(["raw", "source_systems"]),
        group_name=EXTRACT_GROUP,
        kinds={"yaml", "duckdb"},
        owners=["team:data-engineering"],
        pool=WAREHOUSE_POOL,
        deps=[CONFIGURATION_CHECK_KEY],
    )
    def source_systems(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        """The systems of sources.yaml (region, legal entity, countries) as a warehouse table."""
        with connect() as con:
            count = write_source_systems(con, sources)
        table = "\n".join(
            ["| source | kind | region | legal entity |", "|---|---|---|---|"]
            + [f"| {s.name} | {s.kind} | {cell(s.region)} | {cell(s.legal_entity)} |"
               for s in sources.sources]
        )
        return dg.MaterializeResult(
            metadata={"dagster/row_count": count, "sources": dg.MetadataValue.md(table)}
        )

    return source_systems

def build_union_view_asset(object_name: str, sources: SourcesFile) -> dg.AssetsDefinition:
    view = UNION_VIEWS[object_name]
    upstream = [
        extract_asset_key(s.name, object_name) for s in sources.sources if object_name in s.objects
    ]

    @dg.asset(
        key=dg.AssetKey(view.split(".")),
        description=f"Every source's {object_name} rows in one view, for the dbt staging models.",
        group_name=EXTRACT_GROUP,
        kinds={"duckdb"},
        owners=["team:data-engineering"],
        deps=upstream,
        pool=WAREHOUSE_POOL,
    )
    def _union_view() -> dg.MaterializeResult:
        with connect() as con:
            refresh_union_view(con, object_name)
            by_source = con.execute(
                f"select _source, count(*) from {view} group by _source order by _source"  # noqa: S608 - constant view name
            ).fetchall()
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": sum(n for _, n in by_source),
                "rows_by_source": dg.MetadataValue.json(dict(by_source)),
            }
        )

    return _union_view

def build_extract_assets(sources: SourcesFile) -> list[dg.AssetsDefinition]:
    """Source systems table, one extract per source × object, and the union views over them."""
    extracts = [
        build_extract_asset(source, object_name)
        for source in sources.sources
        for object_name in source.objects
    ]
    # Every union view, whichever kinds this deployment has: dbt reads them all (empty is fine).
    views = [build_union_view_asset(o, sources) for o in all_objects()]
    return [build_source_systems_asset(sources), *extracts, *views]
