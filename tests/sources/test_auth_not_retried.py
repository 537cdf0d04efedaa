"""An authentication failure ends the extract at once: Dagster's retry policy is for transient
trouble, and a credential that failed once fails on every retry."""

from __future__ import annotations

import dagster as dg


def _extract_job(key: dg.AssetKey) -> dg.JobDefinition:
    from aeglobal_pipeline.definitions import build_definitions

    return build_definitions().resolve_implicit_global_asset_job_def().get_subset(asset_selection={key})


def test_a_rejected_session_fails_the_extract_without_a_retry(sandbox, tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    control = sandbox.control
    control.reset_stats()
    control.fail_requests(401, count=5, source="crm_emea", error_code="INVALID_SESSION_ID")
    try:
        job = _extract_job(dg.AssetKey(["raw", "crm_emea__lead"]))
        with dg.DagsterInstance.ephemeral() as instance:
            result = job.execute_in_process(instance=instance, raise_on_error=False)
    finally:
        control.clear_faults()
    events = result.all_events
    assert not [e for e in events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    [failure] = [e for e in events if e.is_step_failure]
    error = failure.step_failure_data.user_failure_data
    # Named source and what to configure (no refresh path is set in the test's sources.yaml).
    assert "crm_emea" in (error.description if error else "")
    assert "refresh" in (error.description if error else "")
    assert sum(control.stats().get("crm_emea", {}).values()) == 1  # one call, no retry
