"""Pure pieces: value comparison, backoff, plan validation."""

from __future__ import annotations

import duckdb
import pytest

from aeglobal_pipeline.config import SourcesFile
from aeglobal_pipeline.writeback.engine import decide
from aeglobal_pipeline.writeback.plan import (
    PlanRow,
    PreviewGroup,
    preview,
    preview_plan,
    quote_relation,
    read_plan,
)
from aeglobal_pipeline.writeback.retry import RetryPolicy
from aeglobal_pipeline.writeback.run import WritebackResult, validate
from aeglobal_pipeline.writeback.targets import Current
from aeglobal_pipeline.writeback.values import same_stamp, same_value, to_csv_value, to_json_value


def test_values_compare_across_api_types():
    assert same_value(True, "true") and same_value(None, "") and same_value(12, "12")
    assert not same_value("Anna", "anna")
    assert to_json_value("true", False) is True and to_json_value("", "x") is None
    assert to_json_value("7", 3) == 7 and to_json_value("Bob", None) == "Bob"
    assert to_csv_value(None) == "#N/A" and to_csv_value("TRUE") == "true"
    assert same_stamp("2026-03-04T10:15:00.000+0000", "2026-03-04T10:15:00.000Z")
    assert same_stamp("2026-03-04T10:15:00+00:00", "2026-03-04T10:15:00.000Z")
    assert not same_stamp(None, None)


def test_backoff_is_exponential_bounded_and_honours_retry_after():
    policy = RetryPolicy(base_delay=0.5, max_delay=4, max_retry_after=30)
    assert [policy.delay(a) for a in range(5)] == [0.5, 1, 2, 4, 4]
    assert policy.delay(0, retry_after=10) == 10
    assert policy.delay(0, retry_after=600) == 30


def _row(field="FirstName", new="B", current="A", stamp="2026-03-04T10:00:00.000Z"):
    return PlanRow("crm_emea", "Lead", "00Q1", field, current, new, "precedence",
                   extracted_stamp=stamp)


def test_decide_skips_equal_values_marks_edits_stale_and_writes_the_rest():
    same = Current("2026-03-04T10:00:00.000+0000", {"FirstName": "A"})
    moved = Current("2026-03-05T09:00:00.000+0000", {"FirstName": "Edited"})
    assert decide([_row()], same, False).write.values == {"FirstName": "B"}
    assert [o.status for o in decide([_row()], moved, False).settled] == ["stale"]
    done = Current("2026-03-05T09:00:00.000+0000", {"FirstName": "B"})
    assert [o.status for o in decide([_row()], done, False).settled] == ["skipped"]
    assert [o.status for o in decide([_row()], done, True).settled] == ["applied"]
    guarded = _row(stamp=None)  # rollback rows guard on the value the run wrote
    assert decide([guarded], same, False).write is not None
    assert [o.status for o in decide([guarded], moved, False).settled] == ["stale"]


def test_validation_names_what_is_wrong():
    sources = SourcesFile.model_validate({"sources": [
        {"name": "crm_emea", "kind": "salesforce", "region": "EMEA", "legal_entity": "X"}]})
    rows = [_row(), _row(field="Id"), _row(field="Email; DROP"),
            PlanRow("crm_xx", "Lead", "1", "FirstName", None, "x", "r"),
            PlanRow("crm_emea", "Prospect", "1", "firstName", None, "x", "r"),
            _row(field="LastName", new="X"), _row(field="LastName", new="Y")]
    valid, invalid = validate(rows, sources)
    assert valid == [rows[0]]
    assert sorted({o.error.split(":")[0] for o in invalid}) == [
        "CONFLICTING_PLAN_ROWS", "INVALID_FIELD_NAME", "INVALID_OBJECT", "UNKNOWN_SOURCE"]


def test_plan_relation_must_be_a_plain_name():
    assert quote_relation("marts.writeback_plan") == '"marts"."writeback_plan"'
    with pytest.raises(ValueError):
        quote_relation("marts.plan; drop table x")


def test_the_dry_run_preview_computed_in_sql_equals_the_one_from_the_rows():
    con = duckdb.connect()
    con.execute("create schema marts")
    con.execute(
        "create table marts.writeback_plan (target_source varchar, object varchar, record_id varchar, "
        "field varchar, current_value varchar, new_value varchar, value_source varchar, rule varchar, "
        "global_person_id varchar)"
    )
    rows = [
        ("crm_na", "Lead", f"00Q{n % 7:03d}", field, None if n % 3 else "old value " * 6,
         "true" if n % 2 else "new", "crm_na:Lead:1", rule, "P1")
        for n, (field, rule) in enumerate(
            [("Email", "precedence.email: most_recent")] * 4
            + [("HasOptedOutOfEmail", "consent.email: most_restrictive, opted out in x (modified y)")] * 5
            + [("Global_Person_Id__c", "identity.global_person_id")] * 3
        )
    ] + [("ae_na", "Prospect", "42", "email", "a@x", "b@x", "ae_na:Prospect:42", "precedence.email: x", "P2")]
    con.executemany("insert into marts.writeback_plan values (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    expected = preview(read_plan(con))
    assert [g.field_changes for g in expected] == [1, 12]
    assert expected[1].rules["consent.email: most_restrictive"] == 5
    assert preview_plan(con) == expected


def test_a_dry_run_says_what_it_would_write_not_nothing_to_do():
    group = PreviewGroup("crm_na", "Lead", 2, 3, {"Email": 3}, {"precedence": 3}, [])
    first_line = WritebackResult("run-1", "dry_run", [group, group]).text().splitlines()[0]
    assert first_line == "write-back dry_run run-1: would write 6 field changes to 4 records; nothing written"
    applied = WritebackResult("run-2", "apply", []).text().splitlines()[0]
    assert applied == "write-back apply run-2: nothing to do"


def test_the_value_guard_is_per_field():
    """Rollback rows: a field a user changed is kept, the record's other field is still written."""
    first = _row(field="FirstName", new="Old", current="RunValue", stamp=None)
    last = _row(field="LastName", new="OldLast", current="RunLast", stamp=None)
    now = Current("2026-03-06T09:00:00.000+0000", {"FirstName": "UserEdit", "LastName": "RunLast"})
    decision = decide([first, last], now, False)
    assert [(o.row.field, o.status) for o in decision.settled] == [("FirstName", "stale")]
    assert decision.write.values == {"LastName": "OldLast"}
