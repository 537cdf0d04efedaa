# ruff: noqa: S608 - SQL here interpolates only module constants; values are bound parameters.
"""Our own writes are not evidence (writeback/own_writes.py), on a hand-made warehouse: identity's
view of a record shows what it held before our write while the write stands, and the record's
real value once a user edits it or a rollback restores it."""

from __future__ import annotations

import duckdb
import pytest

from aeglobal_pipeline.writeback import own_writes

KEY = "crm_emea:Lead:00Q000000000001AAA"
COLUMNS = {c: "VARCHAR" for c in own_writes.BEFORE_COLUMNS} | {
    "is_free_mail": "BOOLEAN", "is_role_mailbox": "BOOLEAN", "phone_is_valid": "BOOLEAN",
    "mobile_is_valid": "BOOLEAN", "birthdate": "DATE"}


@pytest.fixture
def con():
    with duckdb.connect() as con:
        con.execute("create schema intermediate; create schema rules; create schema identity")
        columns = ", ".join(f"{c} {t}" for c, t in COLUMNS.items())
        con.execute(f"create table {own_writes.RECORDS_TABLE} (record_key varchar, {columns})")
        con.execute(f"""insert into {own_writes.RECORDS_TABLE} (record_key, given_name, given_name_norm,
                        phone_raw, phone_e164, written_global_person_id)
                        values (?, 'A.', 'a', null, null, null)""", [KEY])
        con.execute(f"""create table {own_writes.FIELD_DICTIONARY} as
                        select * from (values ('central', 'Lead', 'FirstName', 'given_name'),
                                              ('central', 'Lead', 'Phone', 'phone'),
                                              ('central', 'Lead', 'Global_Person_Id__c', 'global_person_id'),
                                              ('central', 'Lead', 'Status', 'status'))
                        as t(kind, object, api_name, field)""")
        yield con


def _write(con, field: str, value: str, run_id: str = "run-1") -> int:
    applied = [{"source": "crm_emea", "object": "Lead", "record_id": "00Q000000000001AAA",
                "field": field, "new_value": value}]
    return own_writes.store_in(con, run_id, applied)


def _extract(con, **values) -> None:
    """The record as the next extraction finds it."""
    assignments = ", ".join(f"{c} = ?" for c in values)
    con.execute(f"update {own_writes.RECORDS_TABLE} set {assignments} where record_key = ?",
                [*values.values(), KEY])


def _evidence(con) -> dict:
    own_writes.refresh_evidence(con)
    cursor = con.execute(f"select * from {own_writes.EVIDENCE_VIEW} where record_key = ?", [KEY])
    return dict(zip([d[0] for d in cursor.description], cursor.fetchall()[0], strict=True))


def test_a_standing_write_reads_as_before_and_a_user_edit_or_rollback_as_itself(con):
    assert _write(con, "FirstName", "Alexa") == 1
    assert _write(con, "Phone", "+14152562970;ext=7872") == 1
    assert _write(con, "Global_Person_Id__c", "gp-1") == 1
    assert _write(con, "Status", "Working") == 0  # identity never reads it: nothing to keep
    _extract(con, given_name="alexa ", given_name_norm="alexa", phone_raw="+1 415-256-2970 ;ext=7872",
             phone_e164="+14152562970", written_global_person_id="gp-1")
    assert own_writes.refresh_evidence(con) == 1  # one record holds writes of ours
    seen = _evidence(con)  # our writes still stand (compared normalised): the record as before
    assert (seen["given_name"], seen["given_name_norm"], seen["phone_e164"]) == ("A.", "a", None)
    assert seen["written_global_person_id"] is None

    _extract(con, given_name="Alexandra", given_name_norm="alexandra")  # a user's edit
    seen = _evidence(con)
    assert (seen["given_name"], seen["given_name_norm"]) == ("Alexandra", "alexandra")
    assert seen["phone_e164"] is None  # the phone is still ours

    _extract(con, phone_raw=None, phone_e164=None)  # rolled back: the old (empty) value
    assert _evidence(con)["phone_e164"] is None


def test_a_second_write_over_a_standing_first_one_keeps_the_first_before(con):
    _write(con, "FirstName", "Alexa", "run-1")
    _extract(con, given_name="Alexa", given_name_norm="alexa")
    _write(con, "FirstName", "Alexandra", "run-2")  # the record still held our run-1 value
    _extract(con, given_name="Alexandra", given_name_norm="alexandra")
    assert _evidence(con)["given_name_norm"] == "a"

    _extract(con, given_name="Al", given_name_norm="al")  # a user's edit, then our write over it
    _write(con, "FirstName", "Alexa", "run-3")
    _extract(con, given_name="Alexa", given_name_norm="alexa")
    assert _evidence(con)["given_name_norm"] == "al"  # the user's value is what we wrote over


def test_nothing_is_kept_before_the_models_exist():
    with duckdb.connect() as con:
        assert _write(con, "FirstName", "Alexa") == 0
