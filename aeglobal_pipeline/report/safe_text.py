"""Values from the orgs are data, never active content, wherever a steward or engineer sees them.

- CSV: a cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return is a formula to a
  spreadsheet (`=HYPERLINK(...)`, `+cmd|...`); it gets a leading `'`, as OWASP advises. An E.164
  phone number (`+4930123456`) is left as it is: it is a number, not a formula.
- Markdown (Dagster metadata): `|` and the other markup characters are escaped, line breaks
  become spaces, so a value stays in its table cell.
- HTML: the template autoescapes; `bdi` isolates each value, so a right-to-left override inside
  one cannot reorder the text around it, and cuts overlong values (the CSV keeps them whole).
- Event log: write-back samples show the shape of a personal value, never the value.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

FORMULA_START = "=+-@\t\r"
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
# What would end a table cell or start markup; `_` only where it could open emphasis (an
# identifier such as crm_emea reads as it is).
_MARKDOWN = re.compile(r"([\\`*\[\]<>|~]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")
PAGE_VALUE_LIMIT = 300
# Plan fields whose values say nothing about a person (flags, stages, ids we issue).
NOT_PERSONAL = {"email_opt_out", "phone_opt_out", "lifecycle_stage", "global_person_id", "country_code"}


def neutralise_cell(value: str | None) -> str | None:
    """A CSV cell a spreadsheet shows as text."""
    if value and value[0] in FORMULA_START and not _E164.match(value):
        return "'" + value
    return value


def neutralise_cell_sql(expr: str) -> str:
    """SQL for `neutralise_cell(expr)` over a VARCHAR expression (no data in this text).

    Two regular expressions on the column alone: with `left(...)`/`substr(...)` conditions
    DuckDB 2.0's COPY stopped keeping the table's row order (the report relies on it;
    tests/report/test_report_sql.py checks it on 300,000 rows)."""
    return (f"CASE WHEN regexp_full_match({expr}, '[=+\\-@\\t\\r].*', 's') "
            f"AND NOT regexp_full_match({expr}, '\\+[1-9][0-9]{{6,14}}') "
            f"THEN '''' || {expr} ELSE {expr} END")


def markdown_cell(value: object) -> str:
    """A value that stays inside its markdown table cell and renders as plain text."""
    text = " ".join(str(value).split()) if value is not None else ""
    return _MARKDOWN.sub(r"\\\1", text)


def bdi(value: object, limit: int = PAGE_VALUE_LIMIT) -> Markup:
    """Jinja filter: the value escaped, cut to `limit` characters (0: whole, for a command a
    steward copies), in an isolating <bdi>."""
    text = "" if value is None else str(value)
    if limit and len(text) > limit:
        text = text[: limit - 1] + "…"
    return Markup("<bdi>") + escape(text) + Markup("</bdi>")


def mask(field: str, value: str | None) -> str | None:
    """The shape of a personal value for the event log: `j…@…h.de`, `+49…67`, `M… (7 chars)`."""
    if not value or field in NOT_PERSONAL or value.lower() in ("true", "false"):
        return value
    if "@" in value:
        domain = value.rsplit("@", 1)[1]
        return f"{value[0]}…@…{domain[-4:]}"
    if re.fullmatch(r"[+\d][\d\s().-]*", value):
        return f"{value[:3]}…{value[-2:]}" if len(value) > 5 else "…"
    return f"{value[0]}… ({len(value)} chars)"
