"""`aeglobal run --apply` SIGKILLed (the whole process group), then run again: no hang, and the
sandbox ends exactly where a run without the kill leaves it, field by field.

One snapshot (150 persons; $AEGLOBAL_SOAK_PERSONS for more) is loaded into separate homes:
a fault-free reference, and one home per kill. The rerun must release the dead run's
`warehouse` pool slot (else it waits forever), settle the killed writer's intents with their
echo stamps before survivorship runs (else our own writes rank as the newest user edits and the
plan changes), and write the rest once.

Both kills are in this one file so they share the fault-free reference run (`fault_free`, module
scoped): one pipeline run fewer than a file per kill.
"""

from __future__ import annotations

from kill_helpers import check_recovered, kill_then_rerun, killable_home


def test_a_run_killed_mid_write_back_is_recovered_by_the_next_run(tmp_path_factory, snapshot,
                                                                  fault_free):
    with killable_home(tmp_path_factory, "killed_mid_run", snapshot) as home:
        # Targets are written in order (ae_emea, ae_na, crm_apac, ...): once crm_apac's first write
        # arrives, both business units are written and logged; the kill ends the run there.
        rerun = kill_then_rerun(home, lambda stats: stats.get("crm_apac", {}).get("composite", 0) >= 1)
        check_recovered(rerun, snapshot, fault_free)


def test_a_run_killed_during_an_in_flight_request_is_recovered_by_the_next_run(
        tmp_path_factory, snapshot, fault_free):
    from aeglobal_pipeline.sandbox.control import SandboxControl

    with killable_home(tmp_path_factory, "killed_in_flight", snapshot) as home:
        # crm_emea's sObject Collections PATCH is held 4 s at the server: the kill lands while it
        # is in flight, and the server commits it after its client is gone.
        SandboxControl.for_home(home).add_latency(4000, count=1, source="crm_emea",
                                                  path="/composite/sobjects")
        rerun = kill_then_rerun(home, lambda stats: stats.get("crm_emea", {}).get("composite", 0) >= 1)
        check_recovered(rerun, snapshot, fault_free)
