"""Warehouse compaction as a Dagster job with a weekly schedule (`aeglobal compact` runs the same)."""

import dagster as dg

from aeglobal_pipeline import warehouse
from aeglobal_pipeline.warehouse.compact import DEFAULT_MIN_DEAD_SHARE, compact


class CompactConfig(dg.Config):
    # Rewrite a table once this share of its stored rows is deleted.
    min_dead_share: float = DEFAULT_MIN_DEAD_SHARE


@dg.op(pool="warehouse")
def compact_warehouse(context: dg.OpExecutionContext, config: CompactConfig) -> dg.Output[int]:
    """Rewrite the warehouse tables where rows deleted by incremental runs have piled up."""
    with warehouse.connect() as con:
        compacted = compact(con, min_dead_share=config.min_dead_share, progress=context.log.info)
    dropped = sum(rows.dead for rows in compacted)
    return dg.Output(
        len(compacted),
        metadata={
            "tables_compacted": len(compacted),
            "deleted_rows_dropped": dropped,
            "tables": ", ".join(rows.name for rows in compacted) or "none",
        },
    )


@dg.job(description="Drop the rows incremental runs deleted from the warehouse (see warehouse/compact.py).")
def warehouse_compaction() -> None:
    compact_warehouse()


weekly_compaction = dg.ScheduleDefinition(
    name="weekly_warehouse_compaction", job=warehouse_compaction, cron_schedule="0 4 * * 0",
    execution_timezone="UTC", default_status=dg.DefaultScheduleStatus.STOPPED,
)
