"""A slow server: a write whose client timed out commits later. It must be written once and its
late landing recognised as ours (logged applied, its stamp kept as an echo), not sent again."""

from __future__ import annotations

from writeback_helpers import desired_changes, write_calls

from aeglobal_pipeline.warehouse import connect
from aeglobal_pipeline.writeback import RetryPolicy

# The client gives up after 1 s; the server commits after 2.5 s; the writer waits up to 8 s.
SLOW = {"request_timeout": 1.0,
        "retry": RetryPolicy(max_attempts=5, base_delay=0.01, max_delay=0.05, max_retry_after=0.2,
                             unknown_outcome_wait=8.0, unknown_outcome_poll=0.2)}


def _applied_once(world, run_id: str, planned: int) -> None:
    log = world.log(run_id)
    applied = [(row[1], row[3], row[4]) for row in log if row[8] == "applied"]
    assert len(applied) == len(set(applied)) == planned, {row[8] for row in log}
    assert world.pending() == 0


def _echo_stamps(source: str, object_name: str) -> dict[str, object]:
    with connect() as con:
        return dict(con.execute(
            """select record_id, stamp_after_write from writeback.echo_stamps
               where source = ? and object = ?""", [source, object_name]).fetchall())


def test_timed_out_prospect_patches_that_land_late_are_written_once(world):
    wanted = desired_changes(leads=0, prospects=(1001, 1002, 1003, 1005, 1006))
    planned = world.make_plan(wanted)
    control = world.sandbox.control
    control.inject({"latency_ms": 2500, "count": 3, "source": "ae_emea", "method": "PATCH"})

    result = world.run(**SLOW)

    assert world.state(wanted) == wanted
    assert write_calls(control.stats(), "ae_emea", "ae_patch") == 5  # one PATCH per prospect
    _applied_once(world, result.run_id, planned)
    # The late landings' stamps are echoes: survivorship will not rank them as user edits.
    echoes = _echo_stamps("ae_emea", "Prospect")
    ae = world.sandbox.ae("ae_emea")
    for pid in ("1001", "1002", "1003", "1005", "1006"):
        updated = ae.get_prospect(pid, ["id", "updatedAt"])["updatedAt"]
        assert echoes[pid] is not None
        assert echoes[pid].isoformat(timespec="seconds")[:19] == updated[:19]


def test_a_timed_out_composite_request_that_lands_late_is_not_sent_again(world):
    wanted = {k: v for k, v in desired_changes(leads=40, prospects=()).items() if k[1] == "Lead"}
    planned = world.make_plan(wanted)
    control = world.sandbox.control
    control.add_latency(2500, count=1, source="crm_emea", path="/composite/sobjects")

    result = world.run(**SLOW)

    assert world.state(wanted) == wanted
    assert write_calls(control.stats(), "crm_emea", "composite") == 1  # never re-sent
    _applied_once(world, result.run_id, planned)
    assert len(_echo_stamps("crm_emea", "Lead")) == len({k[2] for k in wanted})
