"""Write-back against a real org's limits: the daily allowance and Bulk jobs failing part-way."""

from __future__ import annotations

import re

import pytest
from snapshot_helpers import lead_id
from writeback_helpers import desired_changes, lead_numbers, write_calls


@pytest.fixture
def limited(world):
    yield world
    world.sandbox.control.clear_limits()


def test_a_plan_over_the_remaining_allowance_is_refused_before_any_write(limited):
    world = limited
    wanted = desired_changes(leads=450)
    world.make_plan(wanted)
    before = world.state(wanted)
    # What the org has used so far; then leave it 1,004 calls today, within the 1,000 reserve
    # plus far fewer than the ~14 calls the crm_emea plan needs.
    daily = world.sandbox.sf("crm_emea").limits()["DailyApiRequests"]
    used = daily["Max"] - daily["Remaining"]
    world.sandbox.control.set_limits("crm_emea", sf_daily_requests=used + 1 + 1_004)
    world.sandbox.control.reset_stats()

    run = world.run()

    stats = world.sandbox.control.stats()
    assert write_calls(stats, "crm_emea", "composite") == 0
    assert write_calls(stats, "crm_emea", "bulk_ingest") == 0
    after = world.state(wanted)
    assert {k: v for k, v in after.items() if k[0] == "crm_emea"} == \
        {k: v for k, v in before.items() if k[0] == "crm_emea"}
    # The business unit is not refused: its prospects were written.
    assert {k: v for k, v in after.items() if k[0] == "ae_emea"} == \
        {k: v for k, v in wanted.items() if k[0] == "ae_emea"}
    crm_rows = [r for r in world.log(run.run_id) if r[1] == "crm_emea"]
    assert crm_rows and {r[8] for r in crm_rows} == {"skipped"}
    message = crm_rows[0][9]
    numbers = re.search(r"has (\d+) of (\d+) daily API calls left and keeps (\d+) in reserve .* "
                        r"needs about (\d+)", message)
    assert numbers, message
    left, _, reserve, needed = map(int, numbers.groups())
    assert (left, reserve) == (1_004, 1_000) and needed > left - reserve


def test_a_bulk_job_failing_part_way_logs_each_rows_true_outcome_and_rolls_back_exactly(limited):
    world = limited
    wanted = {k: v for k, v in desired_changes(leads=450).items()
              if k[1] == "Lead" and k[3] == "FirstName"}
    world.make_plan(wanted)
    before = world.state(wanted)
    world.sandbox.control.set_limits("crm_emea", bulk_fail_after=150)

    run = world.run(bulk_threshold=100)

    after = world.state(wanted)
    written = {k[2] for k in wanted if after[k] == wanted[k]}
    untouched = {k[2] for k in wanted if after[k] == before[k]}
    assert len(written) == 150 and len(untouched) == 300
    log = world.log(run.run_id)
    applied = {r[3] for r in log if r[8] == "applied"}
    not_written = {r[3] for r in log if r[8] != "applied"}
    assert applied == written and not_written == untouched
    assert all("BULK_JOB_FAILED" in (r[9] or "") for r in log if r[8] != "applied")

    world.sandbox.control.clear_limits()
    back = world.rollback(run.run_id)
    assert world.state(wanted) == before
    # Exactly the rows the failed job wrote are written back to their old values.
    rolled = [r for r in world.log(back.run_id) if r[8] == "rolled_back"]
    assert {r[3] for r in rolled} == written and len(rolled) == len(written)
    assert lead_id(lead_numbers(450)[-1]) in untouched
