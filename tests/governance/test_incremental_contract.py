"""The incremental governance contract holds for a person-keyed model added later, with no
declaration anywhere (macros/governance/incremental_governance.sql).

A copy of the dbt project gets one more person-keyed model, placed where the old design failed
it: downstream of int_governance__build_state, whose post-hook used to clear the persons to redo
before such a model ran. The project's dbt, on a two-person warehouse, must still redo the
person a change touched in that model, clear the list only after a build that built every model
reading it, and keep the list when the build fails.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from manifest_helpers import load_manifest, person_keyed_models
from snapshot_helpers import DEFAULT_SOURCES, lead_id, write_snapshot
from warehouse_helpers import DBT_DIR, build_warehouse, copy_rules, dbt, rows

from aeglobal_pipeline.transform.assets import GOVERNANCE_SELECT

LATE_READER = "int_governance__late_reader"
LATE_READER_SQL = """{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ delete_changed_persons() }}",
) }}
-- depends_on: {{ ref('int_governance__build_state') }}
{% if env_var('LATE_READER_READS_STATE', '') %}
-- Read from downstream of the table, which this build has already replaced: refused.
-- {{ previous_build('int_governance__build_state') if execute else '' }}
{% endif %}
select global_person_id, {{ build_stamp() }} as built_at
from {{ ref('int_governance__persons') }}
where {{ for_changed_persons('global_person_id') }}
"""
LEAD, CONTACT, PROSPECT = lead_id(1), "003000000000001AAA", "7001"
OBJECTS = {
    "crm_emea": {"Lead": [{"Id": LEAD, "FirstName": "Anna", "LastName": "Schmidt",
                           "Email": "anna@example.de", "Country": "DE",
                           "LastModifiedDate": "2025-01-10T10:00:00.000+0000", "IsDeleted": "false"}]},
    "ae_emea": {"Prospect": [{"id": PROSPECT, "email": "anna@example.de", "firstName": "Anna",
                              "lastName": "Schmidt", "country": "DE", "salesforceLeadId": LEAD,
                              "updatedAt": "2025-01-15T08:30:00+00:00", "isDeleted": "false"}]},
    "crm_na": {"Contact": [{"Id": CONTACT, "FirstName": "Bob", "LastName": "Lee",
                            "Email": "bob@example.com", "MailingCountry": "US",
                            "LastModifiedDate": "2025-03-01T12:00:00.000+0000", "IsDeleted": "false"}]},
}
PERSONS = {f"crm_emea:Lead:{LEAD}": "P1", f"ae_emea:Prospect:{PROSPECT}": "P1",
           f"crm_na:Contact:{CONTACT}": "P2"}
# Data tests are left out for speed (tests/test_incremental_pipeline.py builds with them).
BUILD = ["build", "--exclude", "resource_type:test", "resource_type:unit_test"]


def _echo(warehouse: Path, record_key: str) -> None:
    """A write-back echo on one record: the next governance build redoes its person."""
    with duckdb.connect(str(warehouse)) as con:
        con.execute("insert into writeback.echo_stamps values (?, ?, ?, now(), now(), 'test', now())",
                    record_key.split(":"))


def _state(warehouse: Path) -> dict:
    return {
        "late": {r["global_person_id"]: r["built_at"]
                 for r in rows(warehouse, f"select * from intermediate.{LATE_READER}")},  # noqa: S608
        "to_redo": {r["global_person_id"] for r in
                    rows(warehouse, "select * from intermediate.int_governance__changed_persons")},
    }


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory, monkeypatch_module) -> dict:
    base = tmp_path_factory.mktemp("contract")
    project = base / "dbt_project"
    shutil.copytree(DBT_DIR, project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages", ".*"))
    (project / "models" / "intermediate" / "governance" / f"{LATE_READER}.sql").write_text(
        LATE_READER_SQL, encoding="utf-8")
    snapshot = write_snapshot(base / "snap", OBJECTS, DEFAULT_SOURCES)
    warehouse = build_warehouse(base / "home", snapshot, PERSONS, copy_rules(base / "identity_rules"))
    governance = [*BUILD, "--select", *GOVERNANCE_SELECT.split()]

    seen = {}
    dbt(warehouse, BUILD, project)  # a first build: everyone
    seen["first"] = _state(warehouse)
    _echo(warehouse, f"crm_na:Contact:{CONTACT}")
    dbt(warehouse, governance, project)  # the pipeline's governance step: P2 only
    seen["incremental"] = _state(warehouse)
    _echo(warehouse, f"crm_emea:Lead:{LEAD}")
    monkeypatch_module.setenv("LATE_READER_READS_STATE", "1")
    with pytest.raises(AssertionError) as failed:
        dbt(warehouse, governance, project)
    monkeypatch_module.delenv("LATE_READER_READS_STATE")
    seen["failure"] = str(failed.value)
    seen["failed"] = _state(warehouse)
    dbt(warehouse, governance, project)
    seen["after failure"] = _state(warehouse)
    seen["manifest"] = load_manifest(warehouse.parent / "dbt_target" / "manifest.json")
    return seen


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_a_new_model_is_person_keyed_by_what_it_reads(builds):
    assert LATE_READER in person_keyed_models(builds["manifest"])


def test_a_person_keyed_model_after_the_build_state_is_redone_for_the_changed_persons(builds):
    first, incremental = builds["first"], builds["incremental"]
    assert set(first["late"]) == {"P1", "P2"} and first["to_redo"] == set()
    # P2 was redone by the incremental build, P1 kept the row of the first build.
    assert incremental["late"]["P2"] > first["late"]["P2"]
    assert incremental["late"]["P1"] == first["late"]["P1"]
    assert incremental["to_redo"] == set()


def test_reading_a_previous_build_from_downstream_of_it_fails_the_model(builds):
    assert (f"{LATE_READER} reads the previous build of int_governance__build_state but is not "
            "upstream of it") in builds["failure"]


def test_a_failed_build_keeps_the_persons_to_redo_for_the_next_build(builds):
    failed, after = builds["failed"], builds["after failure"]
    assert failed["to_redo"] == {"P1"}
    assert failed["late"] == builds["incremental"]["late"]
    assert after["late"]["P1"] > failed["late"]["P1"]
    assert after["late"]["P2"] == failed["late"]["P2"]
    assert after["to_redo"] == set()
