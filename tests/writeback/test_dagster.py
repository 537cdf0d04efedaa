"""The Dagster asset, its reject-rate check and the rollback job, run in-process."""

from __future__ import annotations

import dagster as dg
from snapshot_helpers import lead_id
from writeback_helpers import desired_changes, lead_numbers

from aeglobal_pipeline.runner import _op_config
from aeglobal_pipeline.sources.resources import SourceSystems
from aeglobal_pipeline.writeback.assets import (
    reject_rate_check,
    writeback,
    writeback_rollback_job,
)

RESOURCES = {"source_systems": SourceSystems()}


def _materialize(apply: bool, max_reject_rate: float = 0.05):
    config = {"ops": {"writeback": {"config": {"apply": apply, "max_attempts": 2}},
                      "writeback_reject_rate_below_threshold": {
                          "config": {"max_reject_rate": max_reject_rate}}}}
    return dg.materialize([writeback, reject_rate_check], resources=RESOURCES, run_config=config,
                          raise_on_error=False)


def _check_passed(result) -> bool:
    [evaluation] = result.get_asset_check_evaluations()
    return evaluation.passed


def test_asset_dry_run_then_apply_then_rollback_job(world):
    wanted = desired_changes(leads=12, prospects=(1001,))
    planned = world.make_plan(wanted)
    before = world.state(wanted)

    dry = _materialize(apply=False)
    assert dry.success and _check_passed(dry)
    [materialization] = dry.asset_materializations_for_node("writeback")
    assert materialization.metadata["mode"].value == "dry_run"
    assert "crm_emea" in materialization.metadata["preview"].value
    assert world.state(wanted) == before

    applied = _materialize(apply=True)
    assert applied.success and _check_passed(applied)
    [materialization] = applied.asset_materializations_for_node("writeback")
    assert materialization.metadata["totals"].value == {"applied": planned}
    assert materialization.metadata["api_calls"].value["crm_emea"]["composite"] == 2
    assert world.state(wanted) == wanted

    rollback = writeback_rollback_job.execute_in_process(
        run_config={"ops": {"rollback_writeback": {"config": {"run_id": applied.run_id}}}},
        resources=RESOURCES,
    )
    assert rollback.success
    # Everything restored except the opt-outs the run propagated: rollback never re-subscribes.
    opt_outs = {k: "true" for k in wanted
                if k[3] in ("HasOptedOutOfEmail", "optedOut") and before[k] != wanted[k]}
    assert opt_outs
    assert world.state(wanted) == {**before, **opt_outs}


def test_reject_rate_check_fails_above_the_threshold(world):
    wanted = desired_changes(leads=4, prospects=())
    world.make_plan(wanted)
    for n in lead_numbers(4)[:2]:
        world.sandbox.control.fail_record(lead_id(n), "FIELD_CUSTOM_VALIDATION_EXCEPTION",
                                          source="crm_emea")

    result = _materialize(apply=True, max_reject_rate=0.2)

    assert result.success  # the write-back itself ran; the check flags the rejects
    assert not _check_passed(result)


def test_the_runner_passes_apply_to_the_writeback_asset():
    job = dg.Definitions(assets=[writeback], resources=RESOURCES).resolve_implicit_global_asset_job_def()
    assert _op_config(job, full_refresh=False, apply=True) == {
        "ops": {"writeback": {"config": {"apply": True}}}}
