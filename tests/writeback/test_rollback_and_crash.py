"""Rollback of a run, and a writer killed mid-batch followed by a rerun."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from snapshot_helpers import lead_id
from writeback_helpers import desired_changes, lead_numbers, write_calls


def test_rollback_keeps_every_opt_out_and_restores_the_rest_field_by_field(world):
    wanted = desired_changes(leads=30)
    edited = lead_id(lead_numbers(30)[7])
    for n in lead_numbers(30)[5:10]:  # a second, non-consent field on a few records
        wanted[("crm_emea", "Lead", lead_id(n), "LastName")] = f"Surname{n}"
    world.make_plan(wanted)
    before = world.state(wanted)
    run = world.run()
    assert world.state(wanted) == wanted
    opt_outs = {k for k in wanted if k[3] in ("HasOptedOutOfEmail", "optedOut")
                and before[k] == "false" and wanted[k] == "true"}
    assert len(opt_outs) >= 5, "the run must propagate opt-outs for this test to mean anything"
    # A user edits one field of a record after the run: that field is kept, its other field
    # (LastName, still holding the run's value) is restored.
    world.sandbox.sf("crm_emea").Lead.update(edited, {"FirstName": "UserAfterRun"})
    world.sandbox.control.reset_stats()

    first = world.rollback(run.run_id)

    state = world.state(wanted)
    expected = dict(before)
    expected[("crm_emea", "Lead", edited, "FirstName")] = "UserAfterRun"
    expected.update(dict.fromkeys(opt_outs, "true"))  # rollback never re-subscribes anyone
    assert state == expected
    assert state[("crm_emea", "Lead", edited, "LastName")] == before[("crm_emea", "Lead", edited,
                                                                      "LastName")]
    statuses = first.totals()
    changed = sum(1 for k in wanted if before[k] != wanted[k])
    assert statuses["stale"] == 1
    assert statuses["skipped"] == len(opt_outs)
    assert statuses["rolled_back"] == changed - 1 - len(opt_outs)
    log = world.log(first.run_id)
    assert {row[7] for row in log} == {f"rollback:{run.run_id}"}
    kept = [row for row in log if row[8] == "skipped"]
    assert {(row[1], row[2], row[3], row[4]) for row in kept} == opt_outs
    assert all(row[9].startswith("CONSENT_KEPT") for row in kept)
    assert write_calls(world.sandbox.control.stats(), "crm_emea", "composite") == 2  # Lead, Contact

    world.sandbox.control.reset_stats()
    second = world.rollback(run.run_id)
    assert world.state(wanted) == expected
    assert set(second.totals()) <= {"skipped", "stale"}
    stats = world.sandbox.control.stats()
    assert write_calls(stats, "crm_emea", "composite") == 0
    assert write_calls(stats, "ae_emea", "ae_patch") == 0


WRITER = """
import sys
from aeglobal_pipeline.writeback import RetryPolicy, WritebackOptions, run_writeback
options = WritebackOptions(retry=RetryPolicy(base_delay=0.01, max_delay=0.05), bulk_poll_seconds=0.05)
run_writeback(apply=True, run_id=sys.argv[1], plan_relation="marts.writeback_plan",
              options=options, log=lambda m: print(m, flush=True))
"""


def _wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached")
        time.sleep(0.05)


def test_writer_killed_mid_batch_then_rerun_neither_loses_nor_duplicates(world, tmp_path):
    wanted = {k: v for k, v in desired_changes(leads=450, prospects=()).items() if k[1] == "Lead"}
    planned = world.make_plan(wanted)
    control = world.sandbox.control
    # Slow down the first two batches so the kill lands while batch 2 is at the server.
    control.add_latency(1500, count=2, source="crm_emea", path="/composite/sobjects")
    writer = subprocess.Popen([sys.executable, "-c", WRITER, "killed-run"], env=os.environ.copy(),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(lambda: write_calls(control.stats(), "crm_emea", "composite") >= 2)
        time.sleep(0.3)
        os.kill(writer.pid, signal.SIGKILL)
    finally:
        writer.wait(timeout=30)
    time.sleep(1.5)  # the server finishes batch 2 although its client is gone

    # Batch 1 is logged applied; batch 2 left intents (its outcome never reached the writer).
    killed_log = world.log("killed-run")
    assert {row[8] for row in killed_log} == {"applied"}
    assert len(killed_log) == 200 + 3  # 200 records, 3 of them with an opt-out too
    assert world.pending() > 0

    rerun = world.run()

    assert world.state(wanted) == wanted
    assert world.pending() == 0
    # Batch 2 reconciled as written by the killed run; only batch 3 sent again.
    assert rerun.reconciled == {"killed-run": 200}
    assert write_calls(control.stats(), "crm_emea", "composite") == 3  # as a fault-free run
    applied = [row for row in world.log() if row[8] == "applied"]
    keys = [(row[3], row[4]) for row in applied]
    assert len(keys) == len(set(keys)) == planned  # every change logged applied exactly once
    assert {row[8] for row in world.log(rerun.run_id)} == {"applied", "skipped"}
