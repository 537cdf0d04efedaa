"""Dagster sensors that surface trouble: failed runs and a write-back reject rate over threshold.

Both append one JSON line per event under `$AEGLOBAL_HOME/reports/` (beside the steward report)
and log it, so an operator sees it in the UI's sensor ticks, in the logs and on disk. Lines hold
run ids, job names, rates and error messages only: no record values, no credentials.
"""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg

from aeglobal_pipeline.config import aeglobal_home
from aeglobal_pipeline.writeback.assets import DEFAULT_MAX_REJECT_RATE, WRITEBACK_KEY

RUN_FAILURES_FILE = "run_failures.jsonl"
REJECT_ALERTS_FILE = "writeback_reject_alerts.jsonl"
MAX_MESSAGE_CHARS = 2000


def _append(name: str, entry: dict[str, Any]) -> Path:
    path = aeglobal_home() / "reports" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry, default=str, ensure_ascii=False) + "\n")
    return path


@dg.run_failure_sensor(
    name="record_failed_runs",
    description="Logs every failed run and appends it to $AEGLOBAL_HOME/reports/run_failures.jsonl.",
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def record_failed_runs(context: dg.RunFailureSensorContext) -> None:
    run = context.dagster_run
    message = (context.failure_event.message or "run failed")[:MAX_MESSAGE_CHARS]
    failed_steps = sorted({event.step_key for event in context.get_step_failure_events() if event.step_key})
    entry = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "run_id": run.run_id,
        "job": run.job_name,
        "failed_steps": failed_steps,
        "message": message,
    }
    path = _append(RUN_FAILURES_FILE, entry)
    context.log.error(f"run {run.run_id} of {run.job_name} failed ({', '.join(failed_steps) or 'no step'}): "
                      f"{message} — recorded in {path}")


def reject_rate_of(event: dg.EventLogEntry) -> float | None:
    """The `reject_rate` metadata of a writeback materialisation (None: not recorded)."""
    materialization = event.asset_materialization
    value = materialization.metadata.get("reject_rate") if materialization else None
    return None if value is None else float(value.value)


@dg.asset_sensor(
    asset_key=WRITEBACK_KEY,
    name="writeback_reject_rate",
    description=(f"Alerts when a write-back rejects more than {DEFAULT_MAX_REJECT_RATE:.0%} of its "
                 "writes (the reject_rate_below_threshold check's default limit)."),
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def writeback_reject_rate(context: dg.SensorEvaluationContext, asset_event: dg.EventLogEntry):
    rate = reject_rate_of(asset_event)
    if rate is None or rate <= DEFAULT_MAX_REJECT_RATE:
        shown = "not recorded" if rate is None else f"{rate:.2%}"
        return dg.SkipReason(f"write-back of run {asset_event.run_id}: reject rate {shown}")
    entry = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "run_id": asset_event.run_id,
        "reject_rate": rate,
        "max_reject_rate": DEFAULT_MAX_REJECT_RATE,
    }
    path = _append(REJECT_ALERTS_FILE, entry)
    message = (f"write-back of run {asset_event.run_id} rejected {rate:.2%} of its writes (limit "
               f"{DEFAULT_MAX_REJECT_RATE:.0%}): see the steward report's write-back rejects; "
               f"recorded in {path}")
    context.log.warning(message)
    # No run to start: the alert is the tick itself (shown in the UI) and the line on disk.
    return dg.SkipReason(f"ALERT: {message}")


sensors = [record_failed_runs, writeback_reject_rate]
