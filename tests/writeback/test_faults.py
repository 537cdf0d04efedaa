"""Transient and per-record failures, edits after extraction: the sandbox's end state decides."""

from __future__ import annotations

from snapshot_helpers import lead_id
from writeback_helpers import batches, desired_changes, lead_numbers, write_calls

from aeglobal_pipeline.warehouse import connect
from aeglobal_pipeline.writeback.retry import RetryPolicy


def test_bursts_of_503_and_request_limit_are_retried_to_the_fault_free_end_state(world):
    wanted = desired_changes()
    planned = world.make_plan(wanted)
    control = world.sandbox.control
    control.fail_requests(503, count=2, source="crm_emea", path="/composite/sobjects",
                          method="PATCH", retry_after=1)
    control.fail_requests(403, count=1, source="crm_emea", path="/query",
                          error_code="REQUEST_LIMIT_EXCEEDED")
    control.fail_requests(503, count=2, source="ae_emea", method="PATCH")
    control.fail_requests(429, count=1, source="ae_emea", method="GET", ae_code=66)

    result = world.run()

    assert world.state(wanted) == wanted  # what a fault-free run ends with
    assert result.totals() == {"applied": planned}
    retried = result.health.retried
    assert retried["crm_emea.Lead"]["SERVER_UNAVAILABLE"] + retried["crm_emea.Contact"].get(
        "SERVER_UNAVAILABLE", 0) == 2
    assert sum(r.get("REQUEST_LIMIT_EXCEEDED", 0) for r in retried.values()) == 1
    assert retried["ae_emea.Prospect"]["AE_183"] == 2
    assert retried["ae_emea.Prospect"]["AE_66"] == 1
    stats = control.stats()
    # Budget: one call per 200 records per object, plus one per retry.
    assert write_calls(stats, "crm_emea", "composite") <= batches(450) + batches(1) + 2
    assert write_calls(stats, "ae_emea", "ae_patch") <= 5 + 2
    assert world.pending() == 0


def test_per_record_errors_others_applied_failed_ones_logged_and_planned_again(world):
    wanted = desired_changes(leads=50)
    world.make_plan(wanted)
    locked, invalid = lead_id(lead_numbers(50)[10]), lead_id(lead_numbers(50)[20])
    control = world.sandbox.control
    control.fail_record(locked, "UNABLE_TO_LOCK_ROW", times=1, source="crm_emea")
    control.fail_record(invalid, "FIELD_CUSTOM_VALIDATION_EXCEPTION", times=1, source="crm_emea")
    control.fail_record(1003, "FIELD_CUSTOM_VALIDATION_EXCEPTION", times=1, source="ae_emea")

    first = world.run()

    state = world.state(wanted)
    failed = {k for k in wanted if k[2] in (invalid, "1003")}
    assert {k: v for k, v in state.items() if k not in failed} == {
        k: v for k, v in wanted.items() if k not in failed}
    assert state[("crm_emea", "Lead", invalid, "FirstName")] != wanted[
        ("crm_emea", "Lead", invalid, "FirstName")]
    log = world.log(first.run_id)
    rejected = {(row[3], row[9].split(":")[0]) for row in log if row[8] == "rejected"}
    assert rejected == {(invalid, "FIELD_CUSTOM_VALIDATION_EXCEPTION"), ("1003", "AE_85")}
    # Logged once, not retried in a loop; the lock was retried and then applied.
    assert sum(1 for row in log if row[3] == invalid) == 1
    assert ("UNABLE_TO_LOCK_ROW" in first.health.retried["crm_emea.Lead"])
    assert first.health.errors["crm_emea.Lead"] == {"FIELD_CUSTOM_VALIDATION_EXCEPTION": 1}

    # Next run: the rejected rows are planned again and now succeed.
    world.extract()
    replanned = world.make_plan(wanted)
    assert replanned == 1 + 2  # the lead's FirstName, the prospect's firstName and optedOut
    second = world.run()
    assert second.totals() == {"applied": replanned}
    assert world.state(wanted) == wanted


def test_transient_errors_are_bounded(world):
    wanted = desired_changes(leads=5, prospects=())
    world.make_plan(wanted)
    stuck = lead_id(lead_numbers(5)[0])
    world.sandbox.control.fail_record(stuck, "UNABLE_TO_LOCK_ROW", times=50, source="crm_emea")

    result = world.run(retry=RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.02))

    rows = [row for row in world.log(result.run_id) if row[3] == stuck]
    assert {row[8] for row in rows} == {"rejected"}
    assert rows[0][9].startswith("UNABLE_TO_LOCK_ROW")
    assert result.health.retried["crm_emea.Lead"]["UNABLE_TO_LOCK_ROW"] == 2
    assert write_calls(world.sandbox.control.stats(), "crm_emea", "composite") == 3 + 1


def test_a_record_edited_after_extraction_keeps_the_users_edit(world):
    wanted = desired_changes(leads=20)
    world.make_plan(wanted)
    edited = lead_id(lead_numbers(20)[4])
    world.sandbox.sf("crm_emea").Lead.update(edited, {"FirstName": "UserEdit"})
    world.sandbox.ae("ae_emea").update_prospect(1002, {"jobTitle": "Changed by a user"})

    result = world.run()

    state = world.state(wanted)
    assert state[("crm_emea", "Lead", edited, "FirstName")] == "UserEdit"
    assert state[("ae_emea", "Prospect", "1002", "firstName")] == "First2"
    stale = {(row[3], row[4]) for row in world.log(result.run_id) if row[8] == "stale"}
    assert (edited, "FirstName") in stale and ("1002", "firstName") in stale
    others = {k: v for k, v in wanted.items() if k[2] not in (edited, "1002")}
    assert {k: v for k, v in state.items() if k in others} == others

    # The next run (after extraction) picks the stale records up again.
    world.extract()
    world.make_plan(wanted)
    world.run()
    assert world.state(wanted) == wanted


def test_account_engagement_daily_limit_stops_that_business_unit_only(world):
    wanted = desired_changes(leads=5, prospects=(1001, 1002, 1003))
    planned_leads = sum(1 for k in wanted if k[1] == "Lead")
    world.make_plan(wanted)
    world.sandbox.control.fail_requests(429, count=10, source="ae_emea", method="PATCH", ae_code=122)

    result = world.run()

    prospect = result.health.statuses["ae_emea.Prospect"]
    assert set(prospect) == {"skipped"}  # code 122 is not retried within a run
    assert result.health.retried.get("ae_emea.Prospect", {}) == {}
    assert write_calls(world.sandbox.control.stats(), "ae_emea", "ae_patch") <= 5
    assert result.health.statuses["crm_emea.Lead"] == {"applied": planned_leads}


def test_a_request_failing_for_good_is_read_back_before_it_is_called_rejected(world):
    wanted = desired_changes(leads=3, prospects=())
    planned = world.make_plan(wanted)
    world.sandbox.control.fail_requests(503, count=50, source="crm_emea", path="/composite/sobjects")

    result = world.run(retry=RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.02))

    assert result.totals() == {"rejected": planned}
    assert {row[9].split(":")[0] for row in world.log(result.run_id)} == {"SERVER_UNAVAILABLE"}
    assert world.pending() == 0  # settled, not left for a reconcile
    world.sandbox.control.clear_faults()
    assert world.run().totals() == {"applied": planned}  # the next run writes them
    assert world.state(wanted) == wanted


def test_a_field_the_org_lacks_is_rejected_without_costing_other_fields(world):
    wanted = desired_changes(leads=3, prospects=())
    planned = world.make_plan(wanted)
    with connect() as con:  # the producer plans a custom field this org never deployed
        con.execute("""insert into marts.writeback_plan
                       select target_source, object, record_id, 'Global_Person_Id__c', null,
                              'gp-42', value_source, 'identity.global_person_id', 'gp-42'
                       from marts.writeback_plan where object = 'Lead'""")

    result = world.run()

    assert world.state(wanted) == wanted
    assert result.totals() == {"applied": planned, "rejected": 3}
    assert result.health.errors["crm_emea.Lead"] == {"INVALID_FIELD": 3}
