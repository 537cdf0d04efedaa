"""Pool hygiene with real Dagster runs: a run waiting for the `warehouse` slot says on whom it
waits, and when the holder is SIGKILLed the waiter releases the dead run's slot and finishes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import dagster as dg

from aeglobal_pipeline.run_hygiene import describe_wait, pool_users, release_dead_runs
from aeglobal_pipeline.runner import DAGSTER_YAML

RUN = """
import pathlib, sys, time
import dagster as dg
from aeglobal_pipeline.run_hygiene import RunWatch, run_tags
marker, run_id, hold = sys.argv[1], sys.argv[2], float(sys.argv[3])

@dg.op(pool="warehouse")
def write_warehouse():
    pathlib.Path(marker).write_text("claimed")
    time.sleep(hold)

@dg.job
def pool_job():
    write_warehouse()

with dg.DagsterInstance.get() as instance:
    with RunWatch(instance, run_id, log=lambda m: print(m, flush=True), interval=0.5):
        result = pool_job.execute_in_process(instance=instance, run_id=run_id, tags=run_tags())
print("success" if result.success else "failed", flush=True)
"""


def _wait_for(condition, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_a_waiting_run_names_the_holder_and_proceeds_once_the_holder_is_killed(tmp_path, monkeypatch):
    home = tmp_path / "dagster"
    home.mkdir()
    (home / "dagster.yaml").write_text(DAGSTER_YAML, encoding="utf-8")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    env = os.environ.copy()
    holder_id, waiter_id = "11111111-0000-4000-8000-000000000001", "22222222-0000-4000-8000-000000000002"

    holder = subprocess.Popen([sys.executable, "-c", RUN, str(tmp_path / "held"), holder_id, "600"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    waiter = None
    try:
        _wait_for((tmp_path / "held").exists, "the holder's claim")
        waiter = subprocess.Popen([sys.executable, "-c", RUN, str(tmp_path / "waited"), waiter_id, "0"],
                                  env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        with dg.DagsterInstance.get() as instance:
            _wait_for(lambda: describe_wait(instance, waiter_id) is not None, "the waiter to queue")
            waiting = describe_wait(instance, waiter_id)
            assert f"run {holder_id}" in waiting and f"pid {holder.pid} running" in waiting
            assert "warehouse" in waiting
            # The holder is alive: nothing is released.
            assert release_dead_runs(instance, log=lambda _: None) == []

            os.kill(holder.pid, signal.SIGKILL)
            holder.wait(timeout=30)
            output, _ = waiter.communicate(timeout=180)

            assert waiter.returncode == 0 and "success" in output, output
            assert "waits for pool slot(s) warehouse" in output  # said what it waited for
            assert f"released the pool slots of dead run {holder_id}" in output
            assert instance.get_run_by_id(holder_id).status == dg.DagsterRunStatus.FAILURE
            assert instance.get_run_by_id(waiter_id).status == dg.DagsterRunStatus.SUCCESS
            assert pool_users(instance) == {}
    finally:
        for process in (holder, waiter):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(timeout=30)


def test_aeglobal_recover_releases_a_claim_of_a_run_the_instance_does_not_know(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from aeglobal_pipeline.cli import main

    home = tmp_path / "dagster"
    home.mkdir()
    (home / "dagster.yaml").write_text(DAGSTER_YAML, encoding="utf-8")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("AEGLOBAL_HOME", str(tmp_path))
    orphan = "33333333-0000-4000-8000-000000000003"
    with dg.DagsterInstance.get() as instance:
        storage = instance.event_log_storage
        storage.initialize_concurrency_limit_to_default("warehouse")
        # A claim by a run the instance does not know (e.g. its run records were deleted).
        storage.claim_concurrency_slot("warehouse", orphan, "step")
        assert set(pool_users(instance)) == {orphan}

    result = CliRunner().invoke(main, ["recover"])

    assert result.exit_code == 0, result.output
    assert f"released the pool slots of dead run {orphan}" in result.output
    assert "settled 0 left-over write intent(s)" in result.output
    with dg.DagsterInstance.get() as instance:
        assert pool_users(instance) == {}


def test_the_sensor_releases_dead_runs_for_dagster_launched_jobs(tmp_path, monkeypatch):
    from aeglobal_pipeline.run_hygiene import release_dead_run_slots

    home = tmp_path / "dagster"
    home.mkdir()
    (home / "dagster.yaml").write_text(DAGSTER_YAML, encoding="utf-8")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    orphan = "44444444-0000-4000-8000-000000000004"
    with dg.DagsterInstance.get() as instance:
        instance.event_log_storage.initialize_concurrency_limit_to_default("warehouse")
        instance.event_log_storage.claim_concurrency_slot("warehouse", orphan, "step")
        first = release_dead_run_slots(dg.build_sensor_context(instance=instance))
        again = release_dead_run_slots(dg.build_sensor_context(instance=instance))
        assert first.skip_message == "released the slots of 1 dead run(s)"
        assert again.skip_message == "every run holding a pool slot is alive"
        assert pool_users(instance) == {}
