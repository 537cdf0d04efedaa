"""Incremental extraction from the sandbox into the DuckDB warehouse, through the real clients."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
import pytest
from snapshot_helpers import default_objects, lead_id, write_snapshot

from aeglobal_pipeline.config import load_sources
from aeglobal_pipeline.sources.extract import extract_prospects, extract_salesforce_object
from aeglobal_pipeline.warehouse import connect


def _extract_lead(sandbox, run_id: str):
    source = load_sources().by_name("crm_emea")
    return extract_salesforce_object(
        sandbox.sf("crm_emea"), source, "Lead", run_id, log=lambda _: None, bulk_poll_seconds=0.05
    )


def _extract_prospects(sandbox, run_id: str):
    source = load_sources().by_name("ae_emea")
    return extract_prospects(sandbox.ae("ae_emea"), source, run_id, log=lambda _: None)


def _rows(sql: str, params: list | None = None) -> list[tuple]:
    with connect(read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def test_initial_load_then_incremental_runs_pick_up_exactly_what_changed(sandbox, tmp_path):
    leads = default_objects()["crm_emea"]["Lead"]
    deleted_leads = sum(1 for lead in leads if lead["IsDeleted"] == "true")

    # The first load takes deleted rows too (flagged), so it equals what increments build up.
    first = _extract_lead(sandbox, "run-1")
    assert (first.mode, first.new, first.updated, first.deleted) == (
        "bulk_initial", len(leads) - deleted_leads, 0, deleted_leads,
    )
    assert first.total_rows == len(leads)
    assert _rows("select count(*) from raw.crm_emea__lead where _is_deleted")[0][0] == deleted_leads
    prospects = _extract_prospects(sandbox, "run-1")
    assert (prospects.mode, prospects.new, prospects.deleted) == ("initial", 23, 2)

    # Nothing changed: a rerun fetches the overlap at the high-water mark but writes nothing.
    again = _extract_lead(sandbox, "run-2")
    assert (again.mode, again.new, again.updated, again.deleted) == ("incremental", 0, 0, 0)
    assert _extract_prospects(sandbox, "run-2").updated == 0

    # Edit 2 leads and 1 prospect the way a user would, through the APIs.
    sf = sandbox.sf("crm_emea")
    edited = [lead_id(11), lead_id(12)]
    for record_id in edited:
        sf.Lead.update(record_id, {"FirstName": "Edited"})
    sandbox.ae("ae_emea").update_prospect(1003, {"jobTitle": "Edited Title"})

    lead_run = _extract_lead(sandbox, "run-3")
    prospect_run = _extract_prospects(sandbox, "run-3")
    assert (lead_run.new, lead_run.updated, lead_run.deleted) == (0, 2, 0)
    assert (prospect_run.new, prospect_run.updated, prospect_run.deleted) == (0, 1, 0)
    touched = _rows("select Id, FirstName from raw.crm_emea__lead where _run_id = 'run-3' order by Id")
    assert touched == [(record_id, "Edited") for record_id in sorted(edited)]
    assert _rows("select id, jobTitle from raw.ae_emea__prospect where _run_id = 'run-3'") == [
        ("1003", "Edited Title")
    ]
    assert _rows("select count(*) from raw.crm_emea__lead")[0][0] == len(leads)

    # A record deleted in the org arrives through queryAll and is kept, flagged as deleted.
    objects = default_objects()
    victim = objects["crm_emea"]["Lead"][6]
    # Stamped after the edits above (which the sandbox stamps with the current time), as a
    # deletion in the org would be; a fixed date would fall behind the high-water mark one day.
    after_the_edits = datetime.now(UTC) + timedelta(minutes=5)
    victim.update(IsDeleted="true", SystemModstamp=after_the_edits.strftime("%Y-%m-%dT%H:%M:%S.000+0000"))
    from aeglobal_pipeline.sandbox.snapshot import load_snapshot

    load_snapshot(write_snapshot(tmp_path / "with_delete", objects), sandbox.home)
    deleted_run = _extract_lead(sandbox, "run-4")
    assert (deleted_run.new, deleted_run.deleted) == (0, 1)
    assert _rows("select _is_deleted from raw.crm_emea__lead where Id = ?", [victim["Id"]]) == [(True,)]


def test_union_view_fills_standard_columns_an_org_lacks(sandbox):
    from aeglobal_pipeline.sources.raw_views import refresh_union_view

    source = load_sources().by_name("crm_na")
    extract_salesforce_object(
        sandbox.sf("crm_na"), source, "Lead", "run-na", log=lambda _: None, bulk_poll_seconds=0.05
    )
    with connect() as con:
        refresh_union_view(con, "Lead")
        row = con.execute(
            "select Email, Company, Status from raw.salesforce_leads where _source = 'crm_na'"
        ).fetchall()
    assert row == [("na@example.com", None, None)]


def test_a_garbage_change_stamp_loses_no_other_record(tmp_path, monkeypatch):
    from aeglobal_pipeline.sources.raw_tables import SALESFORCE_SHAPE, StagedPages, merge_staged_pages

    staged = StagedPages(tmp_path / "pages")
    staged.directory.mkdir()
    staged.add_records([
        {"Id": "00Q1", "LastName": "Good", "SystemModstamp": "2026-03-04T10:00:00.000+0000"},
        {"Id": "00Q2", "LastName": "Garbage", "SystemModstamp": "not a timestamp"},
        {"Id": "00Q3", "LastName": "Good too", "SystemModstamp": "2026-03-05T10:00:00.000+0000"},
    ])
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        con.execute("create schema raw")
        result = merge_staged_pages(
            con, source="crm_x", object_name="Lead", shape=SALESFORCE_SHAPE, staged=staged,
            run_id="r", mode="incremental",
        )
        names = con.execute("select LastName from raw.crm_x__lead order by Id").fetchall()
    assert result.new == 3
    assert names == [("Good",), ("Garbage",), ("Good too",)]
    assert result.high_water_mark.startswith("2026-03-05T10:00:00")


@pytest.mark.parametrize("object_name", ["Lead", "Contact", "Account"])
def test_every_salesforce_object_is_extractable_even_when_the_export_lacks_it(sandbox, object_name):
    source = load_sources().by_name("crm_na")
    result = extract_salesforce_object(
        sandbox.sf("crm_na"), source, object_name, f"run-{object_name}", log=lambda _: None,
        bulk_poll_seconds=0.05,
    )
    assert result.table == f"raw.crm_na__{object_name.lower()}"
    assert "Id" in result.columns and "_record_key" in result.columns
