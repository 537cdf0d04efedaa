# ruff: noqa: S608 - SQL here interpolates only quoted identifiers; every value is a bound parameter.
"""Union views over the per-source raw tables, and the table of source systems.

dbt reads fixed relations — `raw.salesforce_leads`, `raw.salesforce_contacts`,
`raw.salesforce_accounts`, `raw.account_engagement_prospects`, `raw.source_systems` — while the
set of orgs comes from sources.yaml. Every view exists whatever the deployment's shape (no
Account Engagement unit yet, an object with no rows): with no table behind it, it is empty.
Each view unions every `raw.<source>__<object>` table by
column name (regional custom fields survive) and always carries the standard columns, null where
an org does not have them, so a missing column in one export never breaks the models.
"""

from __future__ import annotations

import json

import duckdb

from aeglobal_pipeline.config import SourcesFile
from aeglobal_pipeline.sources.kinds import OBJECTS
from aeglobal_pipeline.sources.raw_tables import METADATA_COLUMNS
from aeglobal_pipeline.warehouse import quote_identifier

# The relation dbt reads per object, and the columns it always carries: from the descriptors.
STANDARD_COLUMNS: dict[str, tuple[str, ...]] = {name: d.standard_columns for name, d in OBJECTS.items()}
UNION_VIEWS: dict[str, str] = {name: d.union_view for name, d in OBJECTS.items()}


def _table_columns(con: duckdb.DuckDBPyConnection, table_name: str) -> list[str]:
    return [
        r[0]
        for r in con.execute(
            "select column_name from information_schema.columns "
            "where table_schema = 'raw' and table_name = ? order by ordinal_position",
            [table_name],
        ).fetchall()
    ]


def refresh_union_view(con: duckdb.DuckDBPyConnection, object_name: str) -> str:
    """(Re)create the union view of one object over every source that has a raw table for it."""
    suffix = f"__{object_name.lower()}"
    tables = [
        r[0]
        for r in con.execute(
            "select table_name from information_schema.tables where table_schema = 'raw' "
            "and table_type = 'BASE TABLE' and table_name like ? order by table_name",
            ["%" + suffix],
        ).fetchall()
        if r[0].endswith(suffix)
    ]
    standard = STANDARD_COLUMNS[object_name]
    view = UNION_VIEWS[object_name]
    selects = []
    for table in tables:
        present = set(_table_columns(con, table))
        fillers = [f"null::varchar as {quote_identifier(c)}" for c in standard if c not in present]
        selects.append(f"select *{''.join(', ' + f for f in fillers)} from raw.{quote_identifier(table)}")
    if not selects:
        # No source has this object yet: an empty relation with the standard shape.
        columns = [f"null::varchar as {quote_identifier(c)}" for c in standard]
        columns += [f"null::varchar as {c}" for c in METADATA_COLUMNS
                    if c not in ("_is_deleted", "_extracted_at")]
        columns += ["null::boolean as _is_deleted", "null::timestamptz as _extracted_at"]
        selects.append(f"select {', '.join(columns)} where false")
    con.execute(f"create or replace view {view} as {' union all by name '.join(selects)}")
    return view


def write_source_systems(con: duckdb.DuckDBPyConnection, sources: SourcesFile) -> int:
    """`raw.source_systems`: sources.yaml as a table, so models can join on region and entity."""
    con.execute(
        """create or replace table raw.source_systems (
            source varchar primary key, kind varchar, region varchar, legal_entity varchar,
            brands varchar[], countries varchar[], business_unit_id varchar, connected_crm varchar,
            is_sandbox boolean, definition json)"""
    )
    rows = [
        (
            s.name, s.kind, s.region, s.legal_entity, s.brands, s.countries, s.business_unit_id,
            s.connected_crm, s.is_sandbox,
            json.dumps(s.model_dump(mode="json", exclude={"connection"}), sort_keys=True),
        )
        for s in sources.sources
    ]
    if rows:
        con.executemany("insert into raw.source_systems values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return len(rows)
