"""Asset checks that the write-back plan makes records more right (DESIGN rule 8, issue 14).

Independent of the dbt models that build the plan: each re-judges the plan's rows from the plan
and the rules tables alone, so a bug in the hygiene macros or the write policy fails the plan
(blocking: the write-back does not run) instead of reaching a customer's org. The finders return
the offending rows (empty = the invariant holds), for tests and for the checks' metadata.

- no invalid new value (phones by libphonenumber's is_valid_number, e-mails by syntax, no markup,
  control or bidi characters; no placeholder, pre-1900 or future date);
- no real contact point (e-mail, phone) replaced by another: contact points are only filled (or
  a placeholder, a non-address or a misspelled provider domain replaced);
- no value longer than the target field (field_dictionary.yaml max_length);
- no formula-leading text (`= + - @`), except an E.164 phone number.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from functools import lru_cache

import dagster as dg
import duckdb
import phonenumbers

from aeglobal_pipeline.governance.checks import PLAN, _result, _rows

# Person-field plan rows with what the field dictionary says about their field on that object.
_PERSON_FIELD_ROWS = """
    select plan.*, dictionary.field as canonical_field, dictionary.match_form, dictionary.contact_point,
           dictionary.max_length, dictionary.value_type
    from marts.writeback_plan as plan
    inner join rules.field_dictionary as dictionary
        on dictionary.kind = 'central' and dictionary.object = plan.object
        and dictionary.api_name = plan.field
    where dictionary.survivorship and dictionary.value_type in ('text', 'date')
"""
FORMULA = re.compile(r"^\s*[=+\-@]")
E164_WITH_EXTENSION = re.compile(r"^\+[1-9][0-9]{6,14}( ext\. [0-9]+)?$")
EMAIL = re.compile(r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
                   r"@[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.[a-z]{2,}$")
UNSAFE = re.compile(r"[<>\x00-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def _person_field_rows(con: duckdb.DuckDBPyConnection) -> list[dict]:
    return _rows(con, _PERSON_FIELD_ROWS)


@lru_cache(maxsize=1 << 18)
def _is_valid_phone(value: str) -> bool:
    """libphonenumber's verdict; cached, as one switchboard number fills many records."""
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(value, None))
    except phonenumbers.NumberParseException:
        return False


def invalid_value_problem(row: dict) -> str | None:
    """Why a plan row's new value is not a valid value of its field (None when it is)."""
    value = row["new_value"] or ""
    if UNSAFE.search(value):
        return "markup, control or bidi character"
    if row["match_form"] == "phone":
        return None if E164_WITH_EXTENSION.match(value) and _is_valid_phone(value) else "invalid phone number"
    if row["match_form"] == "email" and not EMAIL.match(value):
        return "not an e-mail address"
    return None


def implausible_date_problem(value: str | None, placeholders: set[str]) -> str | None:
    """Why a date (ISO text) cannot be a birthdate the plan may write (None when it can): a
    placeholder of the seed's `birthdate` kind, before 1900, or in the future."""
    text = (value or "").strip()[:10]
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return "not a date"
    if text in placeholders:
        return "placeholder date"
    if day < date(1900, 1, 1) or day > date.today():
        return "implausible date"
    return None


def find_invalid_new_values(con: duckdb.DuckDBPyConnection, rows: list[dict] | None = None) -> list[dict]:
    placeholder_dates = {value for (value,) in con.execute(
        "select trim(value) from reference.placeholder_values where kind = 'birthdate'").fetchall()}
    found = []
    for row in _person_field_rows(con) if rows is None else rows:
        if row["value_type"] == "date":
            problem = implausible_date_problem(row["new_value"], placeholder_dates)
        else:
            problem = invalid_value_problem(row)
        if problem:
            found.append({**row, "problem": problem})
    return found


def find_replaced_contact_points(
    con: duckdb.DuckDBPyConnection, rows: list[dict] | None = None
) -> list[dict]:
    """Contact-point rows whose target already holds a real value: one real contact point
    replaced. A placeholder (`n/a`, `test@…`, `…@example.com`), an address at a misspelled
    provider domain or a non-address is no contact point (the reference seeds, read here apart
    from the models' hygiene macros); a phone number is always one, valid or not."""
    placeholders: dict[str, set[str]] = {"any": set(), "email_local": set(), "email_domain": set()}
    for kind, value in con.execute(
        "select kind, lower(trim(value)) from reference.placeholder_values"
        " where kind in ('any', 'email_local', 'email_domain')").fetchall():
        placeholders[kind].add(value)
    typo_domains = {
        d for (d,) in con.execute("select lower(domain) from reference.email_domain_typos").fetchall()
    }

    def is_real(row: dict) -> bool:
        current = (row["current_value"] or "").strip()
        if not current or current.lower() in placeholders["any"]:
            return False
        if row["match_form"] != "email":
            return True
        address = current.lower()
        local, _, domain = address.rpartition("@")
        # `test@…`, `…@example.com`: a placeholder address receives no mail
        if local in placeholders["email_local"] or domain in placeholders["email_domain"]:
            return False
        return domain not in typo_domains and EMAIL.match(address) is not None

    rows = _person_field_rows(con) if rows is None else rows
    return [row for row in rows if row["contact_point"] and is_real(row)]


def find_overlong_values(con: duckdb.DuckDBPyConnection, rows: list[dict] | None = None) -> list[dict]:
    rows = _person_field_rows(con) if rows is None else rows
    return [row for row in rows
            if row["max_length"] is not None and len(row["new_value"] or "") > row["max_length"]]


def find_formula_values(con: duckdb.DuckDBPyConnection, rows: list[dict] | None = None) -> list[dict]:
    rows = _person_field_rows(con) if rows is None else rows
    return [row for row in rows
            if FORMULA.match(row["new_value"] or "")
            and not (row["match_form"] == "phone" and E164_WITH_EXTENSION.match(row["new_value"]))]


# (check name, finder, what its violations are, description): one Dagster check each.
_PLAN_VALUE_CHECKS = [
    ("no_invalid_new_value", find_invalid_new_values, "plan rows writing an invalid value",
     "No plan row writes an invalid value (a phone libphonenumber calls invalid, a non-address, markup, "
     "a placeholder or implausible date)."),
    ("no_contact_point_replaced", find_replaced_contact_points, "plan rows replacing a contact point",
     "No plan row replaces a real e-mail or phone with another: contact points are only filled."),
    ("no_value_over_target_length", find_overlong_values, "plan rows longer than their target field",
     "No plan row writes a value longer than the target field (field_dictionary.yaml max_length)."),
    ("no_formula_leading_text", find_formula_values, "plan rows starting like a formula",
     "No plan row writes text starting with = + - @ (a spreadsheet formula), except an E.164 phone."),
]


@dg.multi_asset_check(
    specs=[dg.AssetCheckSpec(name, asset=PLAN, blocking=True, description=description)
           for name, _, _, description in _PLAN_VALUE_CHECKS],
)
def plan_value_checks() -> Iterator[dg.AssetCheckResult]:
    """The plan's person-field rows, read once (at a million records each read took a second),
    judged by each finder; every check keeps its own name, result and sample in the UI."""
    from aeglobal_pipeline.warehouse import connect

    with connect(read_only=True) as con:
        rows = _person_field_rows(con)
        for name, finder, what, _ in _PLAN_VALUE_CHECKS:
            yield _result(finder(con, rows), what, check_name=name, asset_key=PLAN)


plan_checks = [plan_value_checks]
