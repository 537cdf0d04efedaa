"""Rolling back a write-back run: write its old values back where its new value still stands.

A rollback is a run of its own (kind `rollback`, its own run id, rows with status `rolled_back`),
guarded by value instead of stamp: a field is restored only while the target still holds what
the rolled-back run wrote, so later edits survive (status `stale`). Rolling back twice changes
nothing the second time: every field already holds its old value (status `skipped`).
"""

from __future__ import annotations

import uuid

from aeglobal_pipeline.config import SourcesFile, load_sources
from aeglobal_pipeline.warehouse import connect
from aeglobal_pipeline.writeback import audit
from aeglobal_pipeline.writeback.engine import WritebackOptions
from aeglobal_pipeline.writeback.plan import PlanRow, preview
from aeglobal_pipeline.writeback.retry import ApiMeter
from aeglobal_pipeline.writeback.run import (
    ROLLBACK_RULE_PREFIX,
    ClientFactory,
    Log,
    TargetPool,
    WritebackResult,
    apply_rows,
    default_client,
    reconcile_interrupted,
    writer_lock,
)


def _known_run(run_id: str) -> bool:
    with connect() as con:
        audit.ensure_tables(con)
        return bool(con.execute(
            f"""select (select count(*) from {audit.RUNS} where run_id = ?)
                     + (select count(*) from {audit.CHANGES_LOG} where run_id = ?)""",  # noqa: S608
            [run_id, run_id],
        ).fetchone()[0])


def rollback_rows(run_id: str) -> list[PlanRow]:
    """The inverse of every field write of `run_id` (the last write wins per field)."""
    inverse: dict[tuple, PlanRow] = {}
    for change in audit.applied_changes(run_id):
        key = (change.target_source, change.object, change.record_id, change.field)
        inverse[key] = PlanRow(
            change.target_source, change.object, change.record_id, change.field,
            current_value=change.new_value, new_value=change.current_value,
            rule=f"{ROLLBACK_RULE_PREFIX}{run_id}", extracted_stamp=None,
        )
    return list(inverse.values())


def rollback_run(
    run_id: str,
    *,
    rollback_id: str | None = None,
    options: WritebackOptions | None = None,
    sources: SourcesFile | None = None,
    clients: ClientFactory = default_client,
    log: Log = print,
) -> WritebackResult:
    """Restore the values `run_id` overwrote; logged as run `rollback_id` (status rolled_back)."""
    if not _known_run(run_id):
        raise LookupError(f"no write-back run {run_id!r} in writeback.runs or writeback.changes_log")
    rollback_id = rollback_id or f"rb-{uuid.uuid4()}"
    rows = rollback_rows(run_id)
    result = WritebackResult(rollback_id, "rollback", preview(rows))
    audit.start_run(rollback_id, "rollback", None, rollback_of=run_id)
    meter = ApiMeter()
    pool = TargetPool(sources or load_sources(), clients, options or WritebackOptions(), meter,
                      result.health)
    with writer_lock():
        result.reconciled = reconcile_interrupted(pool, log)
        apply_rows(rollback_id, rows, pool, log, applied_status="rolled_back")
    result.api_calls = meter.by_target()
    audit.finish_run(rollback_id, result.summary(), result.preview)
    log(f"rollback of {run_id} as {rollback_id}: {dict(result.totals())}")
    return result
