"""The `aeglobal` command: generate and load; and the Dagster definitions. `aeglobal run` twice
and `aeglobal evaluate` are shown on test_incremental_pipeline.py's home (one pipeline home
for both)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from click.testing import CliRunner
from snapshot_helpers import private_home

from aeglobal_pipeline.cli import main


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with private_home(tmp_path_factory.mktemp("home")) as home:
        result = CliRunner().invoke(
            main, ["sandbox", "generate", "--persons", "150", "--seed", "3", "--out", str(home / "snap")]
        )
        assert result.exit_code == 0, result.output
        yield home


def test_generate_writes_truth_beside_the_snapshot_and_loads_it(demo_home):
    assert (demo_home / "snap.truth.csv").exists()
    assert not (demo_home / "snap" / "snap.truth.csv").exists()
    assert "sandbox: true" in (demo_home / "sources.yaml").read_text()


def test_definitions_list_every_extract_asset_with_group_and_kinds(demo_home):
    from aeglobal_pipeline.definitions import build_definitions

    definitions = build_definitions()
    graph = definitions.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    for source, objects in {
        "crm_emea": ("lead", "contact", "account"), "crm_na": ("lead", "contact", "account"),
        "crm_apac": ("lead", "contact", "account"), "ae_emea": ("prospect",), "ae_na": ("prospect",),
    }.items():
        for object_name in objects:
            key = f"raw/{source}__{object_name}"
            assert key in keys
            node = graph.get(dg.AssetKey.from_user_string(key))
            assert node.group_name == "extract"
            kind = "salesforce" if source.startswith("crm") else "account_engagement"
            assert node.kinds >= {"duckdb", kind}
            assert node.description
    for job in ("extract_job", "identity_job", "writeback_job", "full_sync", "writeback_rollback"):
        assert definitions.resolve_job_def(job) is not None
    assert definitions.resolve_schedule_def("daily_full_sync").cron_schedule == "0 3 * * *"
    # Every asset the project materializes carries a group, kinds and a description (what the UI shows).
    for key in graph.materializable_asset_keys:
        node = graph.get(key)
        assert node.group_name != "default" and node.kinds and node.description, key


def test_definitions_load_every_asset_check_job_schedule_and_sensor(demo_home):
    from aeglobal_pipeline.definitions import ASSET_GROUPS, build_definitions

    definitions = build_definitions()
    dg.Definitions.validate_loadable(definitions)
    graph = definitions.resolve_asset_graph()
    assets = set(graph.get_all_asset_keys())
    groups = {graph.get(key).group_name for key in graph.materializable_asset_keys}
    assert set(ASSET_GROUPS) <= groups, groups  # every group named for a job has assets
    unowned = [key.to_user_string() for key in graph.materializable_asset_keys if not graph.get(key).owners]
    assert not unowned, unowned

    # Asset checks: every one hangs off an asset that exists; the write-back's and identity's are there.
    check_keys = {key.to_user_string() for key in graph.asset_check_keys}
    assert all(key.asset_key in assets for key in graph.asset_check_keys)
    assert {"writeback:reject_rate_below_threshold",
            "identity/global_person_map:cannot_links_respected"} <= check_keys
    # The plan's value checks are read in one step but stay four blocking checks in the UI.
    from aeglobal_pipeline.governance.plan_checks import plan_value_checks

    value_checks = {spec.name: spec.blocking for spec in plan_value_checks.check_specs}
    assert value_checks == dict.fromkeys(["no_invalid_new_value", "no_contact_point_replaced",
                                          "no_value_over_target_length", "no_formula_leading_text"], True)
    assert {f"marts/writeback_plan:{name}" for name in value_checks} <= check_keys

    # Jobs: one per asset group (each selects assets), the full sync and the rollback job.
    jobs = {job.name: job for job in definitions.resolve_all_job_defs()}
    for group in ASSET_GROUPS:
        assert f"{group}_job" in jobs and dg.AssetSelection.groups(group).resolve(graph), group
    assert {"full_sync", "writeback_rollback"} <= set(jobs)
    schedule = definitions.resolve_schedule_def("daily_full_sync")
    assert schedule.job_name == "full_sync" and schedule.cron_schedule == "0 3 * * *"

    # Sensors: failed runs, the write-back reject rate, and releasing dead runs' pool slots.
    sensors = {sensor.name for sensor in definitions.sensors}
    assert sensors == {"record_failed_runs", "writeback_reject_rate", "release_dead_run_slots"}
    for name in sensors:
        assert definitions.resolve_sensor_def(name).name == name

    # The steward report: its own group (and job), reads what the identity and governance steps wrote.
    report = graph.get(dg.AssetKey("steward_report"))
    assert report.group_name == "steward" and report.kinds == {"html", "csv", "duckdb"}
    assert report.owners and report.description
    assert {dg.AssetKey(["marts", "identity_conflicts"]), dg.AssetKey("writeback"),
            dg.AssetKey(["identity", "person_links"])} <= set(report.parent_keys)

    # Extracts retry transient failures with backoff and jitter.
    extract = definitions.resolve_assets_def(dg.AssetKey(["raw", "crm_emea__lead"]))
    policy = extract.op.retry_policy
    assert policy.max_retries == 2 and policy.backoff == dg.Backoff.EXPONENTIAL and policy.jitter
