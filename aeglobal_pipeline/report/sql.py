"""SQL building blocks of the steward report: shell quoting, decide commands, the page cap, CSV.

Each section's items live in a temporary table of the (read-only) report connection, stored in
impact order, with `entity` (the legal entity the page cap counts against). DuckDB writes the
full CSV from it and Python fetches only the rows the page shows. Only constant SQL
text is composed here; every value (record keys, decisions, labels, the CSV path) is bound.
"""

from pathlib import Path
from typing import Any

import duckdb

from aeglobal_pipeline.report.safe_text import neutralise_cell_sql

DECIDED_TABLE = "report_decided"
# Characters shlex.quote leaves bare (Python's `[^\w@%+=:,./-]` with re.ASCII is "unsafe").
_UNSAFE_FOR_SHELL = "'[^A-Za-z0-9_@%+=:,./-]'"
# Python's csv module (excel dialect) ends lines with CRLF; the CSV files keep that.
CSV_OPTIONS = "(FORMAT csv, HEADER, DELIMITER ',', QUOTE '\"', NEW_LINE '\\r\\n')"


def shell_quote(expr: str) -> str:
    """SQL for Python's `shlex.quote(expr)`: bare when every character is safe, else in single
    quotes with each `'` written as `'"'"'`."""
    return (f"CASE WHEN {expr} = '' THEN '''''' "
            f"WHEN regexp_matches({expr}, {_UNSAFE_FOR_SHELL}) "
            f"THEN '''' || replace({expr}, '''', '''\"''\"''') || '''' ELSE {expr} END")


def decide_command(kind: str, record_a: str, record_b: str, why: str) -> str:
    """SQL for the exact `aeglobal steward decide` line; the steward edits only the reason.

    `kind` is a constant ('must-link' / 'cannot-link'); the others are SQL expressions.
    """
    if kind not in ("must-link", "cannot-link"):
        raise ValueError(f"not a steward decision: {kind}")
    return (f"('aeglobal steward decide {kind} ' || {shell_quote(record_a)} || ' ' "
            f"|| {shell_quote(record_b)} || ' --by \"$USER\" --why ' || {shell_quote(why)})")


def joined(expr: str) -> str:
    """SQL for the CSV form of a list: items joined by ' | ', a NULL item as ''."""
    return f"array_to_string(list_transform({expr}, lambda v: coalesce(v::VARCHAR, '')), ' | ')"


def decided_join(alias: str, record_a: str, record_b: str) -> str:
    """LEFT JOIN of the steward decisions on an unordered pair (decisions store it sorted)."""
    return (f"LEFT JOIN {DECIDED_TABLE} AS {alias} ON {alias}.key_lo = least({record_a}, {record_b}) "
            f"AND {alias}.key_hi = greatest({record_a}, {record_b})")


def load_decided(con: duckdb.DuckDBPyConnection, decided: dict[tuple[str, str], str]) -> None:
    """The pairs steward_decisions.yaml decides, as a temporary table the queries join."""
    keys_lo, keys_hi, kinds = [], [], []
    for (key_lo, key_hi), kind in sorted(decided.items()):
        keys_lo.append(key_lo)
        keys_hi.append(key_hi)
        kinds.append(kind)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {DECIDED_TABLE} AS "
        "SELECT unnest(?::VARCHAR[]) AS key_lo, unnest(?::VARCHAR[]) AS key_hi, unnest(?::VARCHAR[]) AS kind",
        [keys_lo, keys_hi, kinds],
    )


def copy_csv(con: duckdb.DuckDBPyConnection, table: str, columns: list[tuple[str, str]],
             path: Path) -> int:
    """Write every row of `table` in impact order to `path`; returns the number of rows.

    `columns` are (CSV header, SQL expression over the table). Text is written as Python's csv
    module did: NULL and '' both as an empty field (DuckDB would quote '' to tell them apart), and
    a text cell a spreadsheet would run as a formula is neutralised (safe_text.neutralise_cell).
    """
    exprs = ", ".join(f"{expr} AS {_quoted(name)}" for name, expr in columns)
    describe = f"SELECT column_name, column_type FROM (DESCRIBE SELECT {exprs} FROM {table})"  # noqa: S608
    types = dict(con.execute(describe).fetchall())
    outer = ", ".join(f"nullif({neutralise_cell_sql(_quoted(name))}, '') AS {_quoted(name)}"
                      if types[name] == "VARCHAR"
                      else _quoted(name) for name, _ in columns)
    # The table is stored in impact order and a scan of it keeps that order: no sort here.
    sql = f"COPY (SELECT {outer} FROM (SELECT {exprs} FROM {table})) TO ? {CSV_OPTIONS}"  # noqa: S608
    return con.execute(sql, [str(path)]).fetchall()[0][0]


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def shown_rows(con: duckdb.DuckDBPyConnection, table: str, per_entity: int,
               max_items: int) -> list[dict[str, Any]]:
    """The page's items: the first `per_entity` of each legal entity, in impact order, at most
    `max_items` in all (so every entity keeps rows under the page's filter)."""
    # row_number() OVER () numbers a table's rows in its (impact) order. Pick the positions on the
    # entity column alone, then read whole rows only up to the last position picked.
    picked = [pos for (pos,) in con.execute(
        f"SELECT pos FROM (SELECT entity, row_number() OVER () AS pos FROM {table}) "  # noqa: S608
        "QUALIFY row_number() OVER (PARTITION BY entity ORDER BY pos) <= ? ORDER BY pos LIMIT ?",
        [per_entity, max_items],
    ).fetchall()]
    if not picked:
        return []
    cursor = con.execute(
        f"SELECT * EXCLUDE (pos, entity) FROM (SELECT *, row_number() OVER () AS pos FROM {table} "  # noqa: S608
        "LIMIT ?) WHERE list_contains(?::BIGINT[], pos) ORDER BY pos",
        [picked[-1], picked],
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
