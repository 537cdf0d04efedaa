"""The SOQL parser: literals as format_soql writes them, push-down decisions, error codes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from simple_salesforce import format_soql

from aeglobal_pipeline.sandbox.fields import Column, salesforce_field_type
from aeglobal_pipeline.sandbox.soql import SoqlError, parse_query

NAMES = ["Id", "Email", "LastName", "HasOptedOutOfEmail", "IsDeleted", "SystemModstamp", "Birthdate"]
COLUMNS = [Column(n, salesforce_field_type(n)) for n in NAMES]


def lookup(name: str):
    return ("Lead", COLUMNS) if name.lower() == "lead" else None


def values(**given) -> list:
    return [given.get(n) for n in NAMES]


def test_indexed_conditions_become_sql_and_the_rest_python():
    since = datetime(2026, 3, 4, 10, 15, tzinfo=UTC)
    query = parse_query(format_soql(
        "SELECT Id, email FROM lead WHERE SystemModstamp >= {} AND Id IN {} AND IsDeleted = false "
        "AND (Email = {} OR HasOptedOutOfEmail = true) ORDER BY SystemModstamp, Id LIMIT 10",
        since, ["00Q1", "00Q2"], "It's\\me@x.de",
    ), lookup)
    assert query.object_name == "Lead"
    assert query.select == [("Id", 0), ("Email", 1)]
    assert query.filters == [
        ("modstamp >= ?", ("2026-03-04T10:15:00.000Z",)), ("rid IN (?,?)", ["00Q1", "00Q2"]),
        ("is_deleted = ?", (0,)),
    ]
    assert query.order is not None and query.order.by_modstamp and query.limit == 10
    assert query.residual(values(Email="IT'S\\ME@x.de", HasOptedOutOfEmail=False))
    assert query.residual(values(Email=None, HasOptedOutOfEmail=True))
    assert not query.residual(values(Email="other@x.de", HasOptedOutOfEmail=False))


@pytest.mark.parametrize("text", [
    "SELECT Id FROM Lead WHERE SystemModstamp = 2026-03-04T10:15:00Z",
    "SELECT Id FROM Lead WHERE SystemModstamp = 2026-03-04T10:15:00.000+0000",
    "SELECT Id FROM Lead WHERE SystemModstamp = 2026-03-04T11:15:00+01:00",
])
def test_datetime_literal_forms_compare_in_utc(text):
    query = parse_query(text, lookup)
    assert query.filters == [("modstamp = ?", ("2026-03-04T10:15:00.000Z",))]


def test_null_not_in_and_dates():
    query = parse_query(
        "SELECT Id FROM Lead WHERE Email != null AND LastName NOT IN ('a', 'B') AND Birthdate < 2000-01-01",
        lookup,
    )
    assert query.residual(values(Email="x", LastName="c", Birthdate="1990-05-05"))
    assert not query.residual(values(Email="x", LastName="b", Birthdate="1990-05-05"))
    assert not query.residual(values(Email=None, LastName="c", Birthdate="1990-05-05"))
    assert not query.residual(values(Email="x", LastName="c", Birthdate=None))


@pytest.mark.parametrize(("text", "code"), [
    ("SELECT Id FROM Lead WHERE", "MALFORMED_QUERY"),
    ("SELECT Id Lead", "MALFORMED_QUERY"),
    ("SELECT Id FROM Lead WHERE Email = 'unterminated", "MALFORMED_QUERY"),
    ("SELECT Nope FROM Lead", "INVALID_FIELD"),
    ("SELECT Id FROM Opportunity", "INVALID_TYPE"),
    ("SELECT Id FROM Lead WHERE Email = 5", "MALFORMED_QUERY"),
    ("SELECT Id FROM Lead WHERE HasOptedOutOfEmail = 'true'", "INVALID_QUERY_FILTER_OPERATOR"),
])
def test_errors_carry_salesforce_codes(text, code):
    with pytest.raises(SoqlError) as error:
        parse_query(text, lookup)
    assert error.value.error_code == code
