"""The run-failure sensor and the write-back reject-rate sensor, on an ephemeral Dagster instance."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pytest

from aeglobal_pipeline.operations import (
    REJECT_ALERTS_FILE,
    RUN_FAILURES_FILE,
    record_failed_runs,
    writeback_reject_rate,
)
from aeglobal_pipeline.writeback.assets import DEFAULT_MAX_REJECT_RATE, WRITEBACK_KEY


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AEGLOBAL_HOME", str(tmp_path))
    return tmp_path


@dg.op
def extract_that_breaks() -> None:
    raise RuntimeError("crm_emea: INVALID_SESSION_ID")


@dg.job
def failing_job() -> None:
    extract_that_breaks()


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_a_failed_run_is_recorded_with_its_failed_step(home):
    with dg.DagsterInstance.ephemeral() as instance:
        result = failing_job.execute_in_process(instance=instance, raise_on_error=False)
        assert not result.success
        context = dg.build_run_status_sensor_context(
            sensor_name="record_failed_runs", dagster_instance=instance,
            dagster_run=result.dagster_run, dagster_event=result.get_run_failure_event(),
        ).for_run_failure()
        record_failed_runs(context)
    [entry] = _lines(home / "reports" / RUN_FAILURES_FILE)
    assert entry["run_id"] == result.run_id
    assert entry["job"] == "failing_job"
    assert entry["failed_steps"] == ["extract_that_breaks"]
    assert entry["message"]


def _report_writeback(instance: dg.DagsterInstance, reject_rate: float) -> None:
    instance.report_runless_asset_event(
        dg.AssetMaterialization(asset_key=WRITEBACK_KEY, metadata={"reject_rate": reject_rate}))


def _evaluate(instance: dg.DagsterInstance) -> list:
    """What the sensor yields for the newest writeback materialisation."""
    return list(writeback_reject_rate(dg.build_sensor_context(instance=instance)))


def test_a_reject_rate_over_the_threshold_raises_an_alert(home):
    alerts = home / "reports" / REJECT_ALERTS_FILE
    with dg.DagsterInstance.ephemeral() as instance:
        _report_writeback(instance, DEFAULT_MAX_REJECT_RATE / 2)
        [quiet] = _evaluate(instance)
        assert isinstance(quiet, dg.SkipReason) and "ALERT" not in quiet.skip_message
        assert not alerts.exists()

        _report_writeback(instance, 0.25)
        [loud] = _evaluate(instance)
    assert isinstance(loud, dg.SkipReason) and loud.skip_message.startswith("ALERT")
    assert "25.00%" in loud.skip_message
    [entry] = _lines(alerts)
    assert entry["reject_rate"] == 0.25 and entry["max_reject_rate"] == DEFAULT_MAX_REJECT_RATE
