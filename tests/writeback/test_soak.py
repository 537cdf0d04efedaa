"""The write-back fault soak (`make soak`; skipped unless $AEGLOBAL_SOAK is set).

Each case kills a writer (SIGKILL) at one moment, or lets a user edit or a slow commit race it,
then runs the write-back again and checks the end state against the fault-free one (the plan's
values, plus any user edit), that no field was written twice, that no intent is left and that no
opt-out was lowered. The Must-show cases run in the default suite (test_kill_recovery_*.py,
test_slow_server.py, test_rollback_and_crash.py); these add the other kill points.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
from snapshot_helpers import lead_id
from writeback_helpers import desired_changes, lead_numbers

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not os.environ.get("AEGLOBAL_SOAK"), reason="the soak runs with `make soak`"),
]

WRITER = """
import json, sys
from aeglobal_pipeline.writeback import RetryPolicy, WritebackOptions, run_writeback
extra = json.loads(sys.argv[2])
policy = RetryPolicy(base_delay=0.01, max_delay=0.05, unknown_outcome_wait=8.0,
                     unknown_outcome_poll=0.2)
options = WritebackOptions(retry=policy, bulk_poll_seconds=0.05, **extra)
run_writeback(apply=True, run_id=sys.argv[1], plan_relation="marts.writeback_plan",
              options=options, log=lambda m: print(m, flush=True))
"""
CONSENT = ("HasOptedOutOfEmail", "optedOut")


def _faults_taken(control) -> bool:
    return not control.faults()["request_faults"]


def _kill_writer(world, fault: dict, options: dict | None = None) -> None:
    """Start a writer, wait until `fault` (a held request) is at the server, SIGKILL the writer."""
    control = world.sandbox.control
    control.inject(fault)
    writer = subprocess.Popen([sys.executable, "-c", WRITER, "killed-run", json.dumps(options or {})],
                              env=os.environ.copy(), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not _faults_taken(control):
            assert writer.poll() is None and time.monotonic() < deadline, "kill point not reached"
            time.sleep(0.02)
        time.sleep(0.2)  # the request is held at the server now
    finally:
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait(timeout=30)


def _check(world, wanted: dict, before: dict, expected: dict | None = None) -> None:
    expected = expected or wanted
    state = world.state(wanted)
    assert state == expected
    assert world.pending() == 0, "intents left"
    applied = Counter((r[1], r[2], r[3], r[4]) for r in world.log() if r[8] == "applied")
    assert not [k for k, n in applied.items() if n > 1], "a field logged applied twice"
    lowered = [k for k in wanted if k[3] in CONSENT and before[k] == "true" and state[k] != "true"]
    assert not lowered, f"consent lowered: {lowered}"


def test_kill_during_an_in_flight_bulk_upload_complete(world):
    wanted = {k: v for k, v in desired_changes(leads=300, prospects=()).items() if k[1] == "Lead"}
    world.make_plan(wanted)
    before = world.state(wanted)
    # Closing the job (PATCH state=UploadComplete) is held 3 s; the job still runs after the kill.
    _kill_writer(world, {"latency_ms": 3000, "count": 1, "source": "crm_emea", "method": "PATCH",
                         "path": "/jobs/ingest/"}, {"bulk_threshold": 100})
    time.sleep(4)
    rerun = world.run(bulk_threshold=100)
    _check(world, wanted, before)
    assert rerun.reconciled.get("killed-run", 0) > 0


def test_kill_during_in_flight_account_engagement_patches(world):
    live = tuple(p for p in range(1001, 1026) if p % 10)  # every 10th prospect is deleted
    wanted = desired_changes(leads=0, prospects=live)
    world.make_plan(wanted)
    before = world.state(wanted)
    _kill_writer(world, {"latency_ms": 2000, "count": 3, "source": "ae_emea", "method": "PATCH"})
    time.sleep(2.5)
    world.run()
    _check(world, wanted, before)


def test_kill_while_a_slow_commit_is_pending_then_rerun_inside_its_window(world):
    wanted = {k: v for k, v in desired_changes(leads=60, prospects=()).items() if k[1] == "Lead"}
    world.make_plan(wanted)
    before = world.state(wanted)
    control = world.sandbox.control
    _kill_writer(world, {"latency_ms": 3000, "count": 1, "source": "crm_emea",
                         "path": "/composite/sobjects"})
    control.reset_stats()
    # The rerun starts while the killed request is still held: reconciliation waits for it.
    world.run()
    _check(world, wanted, before)
    assert control.stats().get("crm_emea", {}).get("composite", 0) == 0  # nothing re-sent


def test_a_user_edit_mid_run_is_kept_and_the_rest_written(world):
    wanted = {k: v for k, v in desired_changes(leads=450, prospects=()).items() if k[1] == "Lead"}
    world.make_plan(wanted)
    before = world.state(wanted)
    control = world.sandbox.control
    # Batch 1 is held at the server; meanwhile a user edits a record of batch 3.
    edited = lead_id(lead_numbers(450)[420])
    control.add_latency(2000, count=1, source="crm_emea", path="/composite/sobjects")
    writer = subprocess.Popen([sys.executable, "-c", WRITER, "user-race", "{}"], env=os.environ.copy(),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not _faults_taken(control):
        time.sleep(0.02)
    world.sandbox.sf("crm_emea").Lead.update(edited, {"FirstName": "EditedByUser"})
    assert writer.wait(timeout=120) == 0
    expected = dict(wanted)
    for key in wanted:
        if key[2] == edited:
            expected[key] = "EditedByUser" if key[3] == "FirstName" else before[key]
    _check(world, wanted, before, expected)
    statuses = {(r[3], r[4]): r[8] for r in world.log("user-race")}
    assert statuses[(edited, "FirstName")] == "stale"
