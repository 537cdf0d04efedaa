"""Dry run, apply, idempotency and API-call budgets against the sandbox."""

from __future__ import annotations

from writeback_helpers import batches, desired_changes, write_calls


def test_dry_run_previews_and_writes_nothing(world):
    wanted = desired_changes()
    planned = world.make_plan(wanted)
    before = world.state(wanted)
    world.sandbox.control.reset_stats()

    result = world.run(apply=False)

    groups = {(g.target_source, g.object): g for g in result.preview}
    assert groups[("crm_emea", "Lead")].records == 450
    assert groups[("crm_emea", "Lead")].rules == {"precedence": 450, "consent": 3}
    assert groups[("ae_emea", "Prospect")].field_changes == sum(
        1 for k in wanted if k[1] == "Prospect") - 1  # prospect 1004 is opted out already
    assert sum(g.field_changes for g in result.preview) == planned
    assert groups[("crm_emea", "Lead")].sample
    assert world.sandbox.control.stats() == {}  # a dry run makes no API call
    assert world.state(wanted) == before
    assert world.log() == []


def test_apply_writes_plan_then_second_run_writes_nothing(world):
    wanted = desired_changes()
    planned = world.make_plan(wanted)

    first = world.run()

    assert world.state(wanted) == wanted
    assert first.totals() == {"applied": planned}
    stats = world.sandbox.control.stats()
    # One sObject Collections call per 200 records per object; AE: one PATCH per prospect.
    assert write_calls(stats, "crm_emea", "composite") == batches(450) + batches(1)
    assert write_calls(stats, "crm_emea", "bulk_ingest") == 0
    assert write_calls(stats, "ae_emea", "ae_patch") == 5
    # Our own counters agree with the sandbox's.
    assert first.api_calls["crm_emea"]["composite"] == batches(450) + batches(1)
    assert first.api_calls["ae_emea"]["ae_patch"] == 5
    logged = world.log(first.run_id)
    assert len(logged) == planned and {row[8] for row in logged} == {"applied"}
    assert world.pending() == 0

    # Unchanged sources: re-extract, re-plan -> nothing planned, nothing written.
    world.sandbox.control.reset_stats()
    world.extract()
    assert world.make_plan(wanted) == 0
    second = world.run()
    assert second.totals() == {}
    stats = world.sandbox.control.stats()
    assert write_calls(stats, "crm_emea", "composite") == 0
    assert write_calls(stats, "ae_emea", "ae_patch") == 0


def test_rerunning_an_old_plan_skips_what_targets_already_hold(world):
    wanted = desired_changes(leads=30)
    planned = world.make_plan(wanted)
    world.run()
    world.sandbox.control.reset_stats()

    again = world.run()  # same plan, raw not re-extracted: the targets already hold every value

    assert again.totals() == {"skipped": planned}
    stats = world.sandbox.control.stats()
    assert write_calls(stats, "crm_emea", "composite") == 0
    assert write_calls(stats, "ae_emea", "ae_patch") == 0
    assert world.state(wanted) == wanted


def test_bulk_api_is_used_above_the_threshold(world):
    wanted = desired_changes(leads=450)
    world.make_plan(wanted)
    world.sandbox.control.fail_record(
        "00Q000000000007AAA", "FIELD_CUSTOM_VALIDATION_EXCEPTION", source="crm_emea"
    )

    result = world.run(bulk_threshold=100)

    assert result.health.write_mode["crm_emea.Lead"] == "bulk2"
    assert result.health.write_mode["crm_emea.Contact"] == "composite"
    stats = world.sandbox.control.stats()
    assert write_calls(stats, "crm_emea", "bulk_ingest") > 0
    assert write_calls(stats, "crm_emea", "composite") == 1  # the one Contact
    rejected = {k for k in wanted if k[2] == "00Q000000000007AAA"}
    state = world.state(wanted)
    assert {k: v for k, v in state.items() if k not in rejected} == {
        k: v for k, v in wanted.items() if k not in rejected}
    assert state[("crm_emea", "Lead", "00Q000000000007AAA", "FirstName")] == "First7"
    errors = {row[9].split(":")[0] for row in world.log(result.run_id) if row[8] == "rejected"}
    assert errors == {"FIELD_CUSTOM_VALIDATION_EXCEPTION"}
