"""`aeglobal run`: materialize the whole pipeline in-process, recorded in the Dagster instance.

Runs land in `$DAGSTER_HOME` (default `$AEGLOBAL_HOME/dagster`), so `make ui` shows the
runs made from the command line next to those made in the UI.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from aeglobal_pipeline.config import aeglobal_home
from aeglobal_pipeline.run_hygiene import RunWatch, release_dead_runs, run_tags

DAGSTER_YAML = """\
# Written by aeglobal: assets that write the DuckDB warehouse share one pool of size 1.
concurrency:
  pools:
    default_limit: 1
# Under `dagster dev` the daemon frees the slots of runs that ended without freeing them; runs
# whose process died are released by aeglobal (run_hygiene.py: `aeglobal recover`, and before
# every `aeglobal run` waits).
run_monitoring:
  enabled: true
  free_slots_after_run_end_seconds: 30
telemetry:
  enabled: false
"""


def dagster_home() -> Path:
    """$DAGSTER_HOME, defaulting to (and creating) $AEGLOBAL_HOME/dagster with a pool limit."""
    path = Path(os.environ.setdefault("DAGSTER_HOME", str(aeglobal_home() / "dagster"))).resolve()
    os.environ["DAGSTER_HOME"] = str(path)
    path.mkdir(parents=True, exist_ok=True)
    config = path / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML, encoding="utf-8")
    return path


@dataclass
class RunSummary:
    run_id: str
    success: bool
    materialized: dict[str, dict] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    checks: dict[str, bool] = field(default_factory=dict)


def _op_config(job: dg.JobDefinition, full_refresh: bool, apply: bool) -> dict:
    ops: dict[str, dict] = {}
    for node in job.graph.node_defs:
        config_field = getattr(node, "config_field", None)
        if config_field is None:
            continue
        fields = getattr(config_field.config_type, "fields", {}) or {}
        wanted = {}
        if "full_refresh" in fields and full_refresh:
            wanted["full_refresh"] = True
        if "apply" in fields and apply:
            wanted["apply"] = True
        if wanted:
            ops[node.name] = {"config": wanted}
    return {"ops": ops} if ops else {}


def run_pipeline(
    *,
    apply: bool = False,
    full_refresh: bool = False,
    selection: str | None = None,
    echo: Callable[[str], None] = print,
) -> RunSummary:
    """Materialize every asset (or a selection) and summarise what happened.

    A bad rules or sources file raises ConfigurationError before anything runs."""
    from aeglobal_pipeline.definitions import build_definitions
    from aeglobal_pipeline.rules_check import validate_configuration
    from aeglobal_pipeline.transform.project import ensure_manifest

    validate_configuration(log=echo)  # first: a bad file moves nothing (no call, no write)
    dagster_home()
    ensure_manifest(refresh=True)
    definitions = build_definitions()
    job = definitions.resolve_implicit_global_asset_job_def()
    if selection:
        job = job.get_subset(
            asset_selection=dg.AssetSelection.from_string(selection).resolve(
                definitions.resolve_asset_graph()
            )
        )
    run_config = _op_config(job, full_refresh, apply)
    run_config["loggers"] = {"console": {"config": {"log_level": "INFO"}}}
    with dg.DagsterInstance.get() as instance:
        # A killed earlier run still holds its pool slot: release it instead of waiting forever.
        release_dead_runs(instance, log=echo)
        run_id = str(uuid.uuid4())
        with RunWatch(instance, run_id, log=echo):
            result = job.execute_in_process(
                instance=instance, run_config=run_config, raise_on_error=False, run_id=run_id,
                tags={"aeglobal/trigger": "cli", "aeglobal/apply": str(apply).lower(), **run_tags()},
            )
    summary = RunSummary(run_id=result.run_id, success=result.success)
    for event in result.all_events:
        if event.is_step_materialization:
            materialization = event.step_materialization_data.materialization
            summary.materialized[materialization.asset_key.to_user_string()] = {
                key: value.value for key, value in materialization.metadata.items()
            }
        elif event.is_step_failure:
            error = event.step_failure_data.error
            # The cause is the asset's own error (Dagster wraps it in "Error occurred while ...").
            error = (error.cause or error) if error else None
            summary.failures[event.step_key or "?"] = error.message.strip() if error else "failed"
        elif event.event_type_value == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            summary.checks[evaluation.asset_check_key.to_user_string()] = evaluation.passed
    return summary


MART_TABLES = (
    "golden_person", "identity_conflicts", "writeback_plan", "kpi_lifecycle_by_region",
    "governance_findings",
)


def mart_figures() -> dict[str, object]:
    """Row counts of the marts and the plan / conflicts broken down, for the end of a run."""
    from aeglobal_pipeline.warehouse import connect

    figures: dict[str, object] = {}
    try:
        with connect(read_only=True) as con:
            existing = {
                r[0]
                for r in con.execute(
                    "select table_name from information_schema.tables where table_schema = 'marts'"
                ).fetchall()
            }
            for table in MART_TABLES:
                if table in existing:
                    figures[table] = con.execute(
                        f"select count(*) from marts.{table}"  # noqa: S608 - constant names
                    ).fetchone()[0]
            if "writeback_plan" in existing:
                figures["plan_by_field"] = dict(con.execute(
                    "select field, count(*) from marts.writeback_plan group by field order by 2 desc"
                ).fetchall())
            if "identity_conflicts" in existing:
                figures["conflicts_by_type"] = dict(con.execute(
                    "select conflict_type, count(*) from marts.identity_conflicts "
                    "group by conflict_type order by 2 desc"
                ).fetchall())
    except FileNotFoundError:
        pass
    return figures
