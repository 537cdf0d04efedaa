"""A birthdate that cannot be the person's is missing, not evidence (issue 18, real exports).

Legacy imports leave 1900-01-01 or the Unix epoch where the birthdate was unknown; a date picker
leaves the day the record was keyed in. Hand-made Contacts go the whole real way: raw tables,
the dbt models up to int_person_records, identity resolution with the module's trained model,
then the governance marts on the same warehouse:
    household  at one home with one landline, all "born" 1900-01-01: sisters Emma and Ella
               Berger (one keystroke apart), a mother and daughter Maria Huber / Maria Koch,
               flatmates Paul Weber / Jonas Fischer: each two persons
    one person Jonas Keller, 1900-01-01 on one record and 1984-05-06 on another, one mobile; Lena
               Vogt, the epoch on one record and 1979-11-23 on another, joined through a third
               record (mobile on one side, private e-mail on the other); Petra Lang, the
               creation date as birthdate on one record: each one person (no birthdate veto,
               no chain cut)
    write-back Sofia Brandt, 1900-01-01 on one record and none on another: the placeholder
               never wins (golden_person) nor is written (writeback_plan, with birthdate
               unprotected in precedence.yaml so the plan could write it), and is a finding;
               the blocking plan check refuses such a date on its own
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import duckdb
import pytest
import yaml
from identity_reads import global_ids
from snapshot_helpers import write_snapshot

from aeglobal_pipeline import warehouse
from aeglobal_pipeline.governance.plan_checks import find_invalid_new_values
from aeglobal_pipeline.governance.rules import load_rules
from aeglobal_pipeline.governance.tables import write_rules
from aeglobal_pipeline.identity.resolve import resolve_identities

sys.path.insert(0, str(Path(__file__).parents[1] / "governance"))  # the governed-warehouse helpers

from warehouse_helpers import copy_rules, dbt, load_raw, rows, run_dbt

SOURCES = [{"name": "crm_emea", "kind": "salesforce", "region": "EMEA",
            "legal_entity": "Northwind Europe GmbH", "brands": ["northwind"], "countries": ["DE"]}]
HOME = {"MailingStreet": "Lindenweg 4", "MailingPostalCode": "80331", "MailingCity": "München",
        "Phone": "+49 89 1234567"}  # fmt: skip
HOME_2 = {**HOME, "MailingStreet": "Lindenweg 6", "Phone": "+49 89 7654321"}
HOME_3 = {**HOME, "MailingStreet": "Lindenweg 8", "Phone": "+49 89 5550001"}
PLACEHOLDERS = ("1900-01-01", "1970-01-01")


def contact(n: int, first: str, last: str, birthdate: str = "", created: str = "2024-02-01",
            **fields) -> dict:
    return {"Id": f"003{n:012d}AAA", "FirstName": first, "LastName": last, "MailingCountry": "DE",
            "Birthdate": birthdate, "CreatedDate": f"{created}T09:00:00.000+0000",
            "LastModifiedDate": f"{created}T09:00:00.000+0000", "IsDeleted": "false", **fields}


CONTACTS = [
    contact(1, "Emma", "Berger", "1900-01-01", **HOME),
    contact(2, "Ella", "Berger", "1900-01-01", **HOME),
    # a mother and her married daughter of one given name; two flatmates
    contact(3, "Maria", "Huber", "1900-01-01", **HOME_2),
    contact(4, "Maria", "Koch", "1900-01-01", **HOME_2),
    contact(5, "Paul", "Weber", "1900-01-01", **HOME_3),
    contact(6, "Jonas", "Fischer", "1900-01-01", **HOME_3),
    contact(10, "Jonas", "Keller", "1900-01-01", MobilePhone="+49 151 23456789"),
    contact(11, "Jonas", "Keller", "1984-05-06", MobilePhone="+49 151 23456789"),
    contact(20, "Lena", "Vogt", "1970-01-01", MobilePhone="+49 160 5556667"),
    contact(21, "Lena", "Vogt", MobilePhone="+49 160 5556667", Email="lena.vogt@web.de"),
    contact(22, "Lena", "Vogt", "1979-11-23", Email="lena.vogt@web.de"),
    contact(30, "Petra", "Lang", "2024-02-01", MobilePhone="+49 170 9998887"),  # the day it was keyed in
    contact(31, "Petra", "Lang", "1975-03-03", MobilePhone="+49 170 9998887"),
    contact(40, "Sofia", "Brandt", "1900-01-01", MobilePhone="+49 171 4443332"),
    contact(41, "Sofia", "Brandt", MobilePhone="+49 171 4443332"),
]


def key(n: int) -> str:
    return f"crm_emea:Contact:003{n:012d}AAA"


@pytest.fixture(scope="module")
def resolved(identity_home):
    """The hand-made Contacts through dbt (int_person_records) and identity, then the marts."""
    snapshot = write_snapshot(identity_home.home / "dob_snapshot", {"crm_emea": {"Contact": CONTACTS}},
                              SOURCES)
    rules = copy_rules(identity_home.home / "governance_rules")
    precedence = yaml.safe_load((rules / "precedence.yaml").read_text())
    precedence["protected_fields"] = [p for p in precedence["protected_fields"] if p["field"] != "birthdate"]
    (rules / "precedence.yaml").write_text(yaml.safe_dump(precedence, sort_keys=False))
    path = identity_home.home / "warehouse.duckdb"
    with warehouse.connect() as con:
        con.execute("DROP SCHEMA IF EXISTS identity CASCADE")
        con.execute("CREATE SCHEMA identity")
        con.execute("DROP TABLE IF EXISTS intermediate.int_person_records")  # the module's stand-in
        load_raw(con, snapshot)
        write_rules(con, load_rules(rules))
    dbt(path, ["build", "--select", "+int_person_records", "resource_type:seed",
               "--exclude", "resource_type:test", "resource_type:unit_test"])
    resolve_identities(run_id="dob1")
    run_dbt(path, upstream=False)
    return path


def test_placeholder_birthdates_at_one_home_do_not_make_relatives_and_neighbours_one_person(resolved):
    ids = global_ids()
    assert ids[key(1)] != ids[key(2)]  # sisters, one keystroke apart (twins, were the date real)
    assert ids[key(3)] != ids[key(4)]  # one given name, two family names
    assert ids[key(5)] != ids[key(6)]  # two names


def test_a_placeholder_birthdate_does_not_split_one_person(resolved):
    ids = global_ids()
    assert ids[key(10)] == ids[key(11)]  # the same name and mobile: no birthdate veto
    assert ids[key(20)] == ids[key(21)] == ids[key(22)]  # no chain cut on the epoch
    assert ids[key(30)] == ids[key(31)]  # the creation date is no birthdate either


def test_identity_reads_a_placeholder_as_missing_and_keeps_the_date_as_typed(resolved):
    found = {r["record_key"]: r for r in rows(resolved, """
        select record_key, birthdate::varchar as birthdate, birthdate_raw::varchar as birthdate_raw,
               birthdate_problem from intermediate.int_person_records""")}
    assert found[key(1)] == {"record_key": key(1), "birthdate": None, "birthdate_raw": "1900-01-01",
                             "birthdate_problem": "placeholder"}
    assert found[key(30)]["birthdate"] is None
    assert found[key(30)]["birthdate_problem"] == "not before the record was created"
    assert found[key(11)]["birthdate"] == "1984-05-06" and found[key(11)]["birthdate_problem"] is None


def test_a_placeholder_birthdate_never_wins_nor_is_written_and_is_a_finding(resolved):
    ids = global_ids()
    golden = {r["global_person_id"]: r["birthdate"] for r in rows(
        resolved, "select global_person_id, birthdate::varchar as birthdate from marts.golden_person")}
    assert golden[ids[key(40)]] is None  # 1900-01-01 was its only birthdate
    assert golden[ids[key(10)]] == "1984-05-06"
    assert not set(golden.values()) & {*PLACEHOLDERS, "2024-02-01"}
    plan = rows(resolved, "select record_id, new_value from marts.writeback_plan where field = 'Birthdate'")
    assert not {p["new_value"] for p in plan} & {*PLACEHOLDERS, "2024-02-01"}
    # the real birthdate fills the record that held the placeholder (birthdate unprotected here)
    assert {"record_id": key(10).split(":")[2], "new_value": "1984-05-06"} in plan
    findings = {r["subject"]: r["detail"] for r in rows(
        resolved,
        "select subject, detail from marts.governance_findings where finding_type = 'invalid_value'")}
    assert findings[f"{key(40)} birthdate"].startswith('birthdate: placeholder — "1900-01-01"')
    assert findings[f"{key(30)} birthdate"].startswith('birthdate: not before the record was created')
    assert f"{key(11)} birthdate" not in findings


def test_the_plan_check_refuses_a_placeholder_or_implausible_birthdate(resolved, tmp_path):
    """Independent of the models: the blocking plan check re-judges every date the plan writes."""
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(resolved, copy)
    with duckdb.connect(str(copy)) as con:
        assert find_invalid_new_values(con) == []  # the plan as built writes 1984-05-06
        bad = ["1900-01-01", "1970-01-01", "1850-06-01", "2999-01-01"]
        con.executemany(
            "insert into marts.writeback_plan"
            " values ('crm_emea', 'Contact', ?, 'Birthdate', null, ?, 'x', 'test', 'P9')",
            [(f"BAD{i}", value) for i, value in enumerate(bad)])
        caught = {row["record_id"]: row["problem"] for row in find_invalid_new_values(con)}
    assert caught == {"BAD0": "placeholder date", "BAD1": "placeholder date",
                      "BAD2": "implausible date", "BAD3": "implausible date"}
