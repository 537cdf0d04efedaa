"""Rolling back a write-back run: write its old values back where its new value still stands.

A rollback is a run of its own (kind `rollback`, its own run id, rows with status `rolled_back`),
guarded by value, field by field, instead of by stamp: a field is restored only while the target
still holds what the rolled-back run wrote, so later edits survive (status `stale`) without
costing the record's other fields their restore. Rolling back twice changes nothing the second
time: every field already holds its old value (status `skipped`).

Rollback never lowers consent: an opt-out the run wrote to a consent field (a consent.yaml
channel field, or any field precedence.yaml resolves most_restrictive) stays; its row is logged
`skipped` with `CONSENT_KEPT` (DESIGN rule 1: an opt-in never overwrites an opt-out).
"""

from __future__ import annotations

import uuid

from aeglobal_pipeline.config import SourcesFile, load_sources
from aeglobal_pipeline.governance.rules import GovernanceRules, load_rules
from aeglobal_pipeline.warehouse import connect
from aeglobal_pipeline.writeback import audit
from aeglobal_pipeline.writeback.audit import Outcome
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
from aeglobal_pipeline.writeback.values import canonical


def _known_run(run_id: str) -> bool:
    with connect() as con:
        audit.ensure_tables(con)
        return bool(con.execute(
            f"""select (select count(*) from {audit.RUNS} where run_id = ?)
                     + (select count(*) from {audit.CHANGES_LOG} where run_id = ?)""",  # noqa: S608
            [run_id, run_id],
        ).fetchone()[0])


def consent_fields(rules: GovernanceRules | None = None) -> dict[tuple[str, str], str]:
    """(object, lower-case API field) -> canonical field, for every most-restrictive field."""
    rules = rules or load_rules()
    precedence = rules.precedence
    canonical_fields = {channel.field for channel in rules.consent.channels.values()}
    canonical_fields |= {name for name in rules.field_dictionary.central_fields
                         if precedence.resolve(name)[0] == "most_restrictive"}
    canonical_fields |= {name for overrides in precedence.region_overrides.values()
                         for name, rule in overrides.items() if rule.strategy == "most_restrictive"}
    found = {}
    for name in canonical_fields:
        spec = rules.field_dictionary.central_fields.get(name)
        for object_name, api_name in (spec.api_names.items() if spec else ()):
            found[(object_name, api_name.lower())] = name
    return found


def _lowers_consent(row: PlanRow, consent: dict[tuple[str, str], str]) -> bool:
    """Restoring `row` would turn an opt-out (true) back into an opt-in."""
    return ((row.object, row.field.lower()) in consent and canonical(row.current_value) == "true"
            and canonical(row.new_value) != "true")


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
    consent = consent_fields()  # a bad rules file stops the rollback before any API call
    inverse = rollback_rows(run_id)
    rows = [r for r in inverse if not _lowers_consent(r, consent)]
    kept = [Outcome(r, "skipped", f"CONSENT_KEPT: rollback never turns an opt-out into an opt-in "
                                  f"({consent[(r.object, r.field.lower())]} is most_restrictive)")
            for r in inverse if _lowers_consent(r, consent)]
    result = WritebackResult(rollback_id, "rollback", preview(rows))
    audit.start_run(rollback_id, "rollback", None, rollback_of=run_id)
    meter = ApiMeter()
    pool = TargetPool(sources or load_sources(), clients, options or WritebackOptions(), meter,
                      result.health, log)
    with writer_lock():
        result.reconciled = reconcile_interrupted(pool, log)
        audit.log_outcomes(rollback_id, kept)
        result.health.add(kept)
        if kept:
            log(f"rollback of {run_id}: kept {len(kept)} opt-outs the run wrote (consent)")
        apply_rows(rollback_id, rows, pool, log, applied_status="rolled_back")
    result.api_calls = meter.by_target()
    audit.finish_run(rollback_id, result.summary(), result.preview)
    log(f"rollback of {run_id} as {rollback_id}: {dict(result.totals())}")
    return result
