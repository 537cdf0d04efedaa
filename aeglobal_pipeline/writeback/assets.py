"""Dagster pieces of the write-back: the `writeback` asset, its reject-rate check, rollback job."""

import dagster as dg

from aeglobal_pipeline.rules_check.asset import CONFIGURATION_CHECK_KEY
from aeglobal_pipeline.sources.resources import SourceSystems
from aeglobal_pipeline.writeback import audit
from aeglobal_pipeline.writeback.engine import DEFAULT_BULK_THRESHOLD, WritebackOptions
from aeglobal_pipeline.writeback.plan import DEFAULT_PLAN_RELATION, preview_markdown
from aeglobal_pipeline.writeback.retry import RetryPolicy
from aeglobal_pipeline.writeback.rollback import rollback_run
from aeglobal_pipeline.writeback.run import (
    WritebackBusy,
    WritebackResult,
    reconcile_pending,
    run_writeback,
)

WRITEBACK_GROUP = "writeback"
WRITEBACK_KEY = dg.AssetKey(["writeback"])
# The dbt source writeback.echo_stamps: survivorship (int_governance__records) reads it.
ECHO_STAMPS_KEY = dg.AssetKey(["writeback", "echo_stamps"])
PLAN_KEY = dg.AssetKey(["marts", "writeback_plan"])
WAREHOUSE_POOL = "warehouse"
DEFAULT_MAX_REJECT_RATE = 0.05


class WritebackConfig(dg.Config):
    apply: bool = False  # `aeglobal run --apply` sets this; a dry run previews only
    plan_relation: str = DEFAULT_PLAN_RELATION
    bulk_threshold: int = DEFAULT_BULK_THRESHOLD
    max_attempts: int = 5


def _metadata(result: WritebackResult, plan_relation: str) -> dict:
    health = result.health.as_dict()
    return {
        "mode": result.mode,
        "dagster/row_count": sum(g.field_changes for g in result.preview),
        "preview": dg.MetadataValue.md(preview_markdown(result.preview) if result.preview
                                       else "The plan is empty: nothing to write."),
        "totals": dg.MetadataValue.json(dict(result.totals())),
        "statuses_by_target": dg.MetadataValue.json(health["statuses"]),
        "statuses_by_rule": dg.MetadataValue.json(health["rules"]),
        "errors_by_code": dg.MetadataValue.json(health["errors"]),
        "retried_by_code": dg.MetadataValue.json(health["retried"]),
        "records_written": dg.MetadataValue.json(health["records_written"]),
        "write_mode": dg.MetadataValue.json(health["write_mode"]),
        "api_calls": dg.MetadataValue.json(result.api_calls),
        "reject_rate": float(round(result.reject_rate, 4)),
        "reconciled_interrupted_runs": dg.MetadataValue.json(result.reconciled),
        "plan": plan_relation,
        # Where the audit lives: a table name and a run id, nothing secret.
        "changes_log": f"writeback.changes_log where run_id = '{result.run_id}'",
    }


@dg.asset(
    key=WRITEBACK_KEY,
    deps=[PLAN_KEY, CONFIGURATION_CHECK_KEY],
    group_name=WRITEBACK_GROUP,
    kinds={"salesforce", "account_engagement", "duckdb"},
    owners=["team:data-engineering"],
    pool=WAREHOUSE_POOL,
)
def writeback(
    context: dg.AssetExecutionContext, config: WritebackConfig, source_systems: SourceSystems
) -> dg.MaterializeResult:
    """Resolved values written back to the CRM orgs and Account Engagement (dry run unless apply)."""
    options = WritebackOptions(bulk_threshold=config.bulk_threshold,
                               retry=RetryPolicy(max_attempts=config.max_attempts))
    result = run_writeback(
        apply=config.apply, run_id=context.run.run_id, plan_relation=config.plan_relation,
        options=options, sources=source_systems.sources(), log=context.log.info,
    )
    context.log.info(result.text())
    return dg.MaterializeResult(metadata=_metadata(result, config.plan_relation))


@dg.asset(
    key=ECHO_STAMPS_KEY,
    deps=[CONFIGURATION_CHECK_KEY],  # it re-reads the orgs: a bad rules or sources file stops it first
    group_name=WRITEBACK_GROUP,
    kinds={"salesforce", "account_engagement", "duckdb"},
    owners=["team:data-engineering"],
    pool=WAREHOUSE_POOL,
)
def echo_stamps(context: dg.AssetExecutionContext, source_systems: SourceSystems
                ) -> dg.MaterializeResult:
    """Change stamps our own writes gave records, so survivorship never takes them for a user's
    edit. First settles the intents a stopped (killed) write-back left: re-reads the targets
    (nothing is written), logs what landed as applied and keeps those writes' stamps."""
    try:
        reconciled = reconcile_pending(sources=source_systems.sources(), log=context.log.info) \
            if audit.has_pending_intents() else {}
    except WritebackBusy as busy:  # a live writer owns the intents: it settles them itself
        context.log.info(str(busy))
        reconciled = {}
    counts = audit.echo_and_intent_counts()
    return dg.MaterializeResult(metadata={
        "reconciled_interrupted_runs": dg.MetadataValue.json(reconciled),
        "echo_stamps": counts[0], "pending_intents": counts[1],
    })


class RejectRateConfig(dg.Config):
    max_reject_rate: float = DEFAULT_MAX_REJECT_RATE


@dg.asset_check(asset=WRITEBACK_KEY, name="reject_rate_below_threshold", pool=WAREHOUSE_POOL)
def reject_rate_check(config: RejectRateConfig) -> dg.AssetCheckResult:
    """Fails when the latest write-back rejected more than the allowed share of its writes."""
    latest = audit.latest_run_summary()
    if latest is None:
        return dg.AssetCheckResult(passed=True, metadata={"note": "no write-back run yet"})
    run_id, kind, summary = latest
    rate = float(summary.get("reject_rate", 0.0))
    return dg.AssetCheckResult(
        passed=rate <= config.max_reject_rate,
        severity=dg.AssetCheckSeverity.ERROR,
        description=f"{kind} {run_id}: reject rate {rate:.2%} (limit {config.max_reject_rate:.2%})",
        metadata={"run_id": run_id, "mode": kind, "reject_rate": rate,
                  "max_reject_rate": config.max_reject_rate,
                  "errors_by_code": dg.MetadataValue.json(summary.get("errors", {}))},
    )


class RollbackConfig(dg.Config):
    run_id: str  # the write-back run to undo (a Dagster run id or a CLI run id)


@dg.op(pool=WAREHOUSE_POOL)
def rollback_writeback(
    context: dg.OpExecutionContext, config: RollbackConfig, source_systems: SourceSystems
) -> dict:
    """Write back the old values of a run where its new values still stand."""
    result = rollback_run(config.run_id, rollback_id=context.run.run_id,
                          sources=source_systems.sources(), log=context.log.info)
    context.log.info(result.text())
    return result.summary()


@dg.job(name="writeback_rollback", tags={"aeglobal/kind": "rollback"})
def writeback_rollback_job() -> None:
    rollback_writeback()


writeback_assets = [echo_stamps, writeback]
writeback_checks = [reject_rate_check]
writeback_jobs = [writeback_rollback_job]
