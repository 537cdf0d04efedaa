# ruff: noqa: S608 - SQL here interpolates only quoted identifiers; every value is a bound parameter.
"""Raw warehouse tables: one per source × object, merged incrementally by record id.

Extractors stream API pages into staging files (CSV from Bulk 2.0, Parquet from REST / AE
pages) so that no org is ever held in a Python list and the warehouse lock is held only for
the merge. `merge_staged_pages` then upserts the changed rows and returns what changed.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from aeglobal_pipeline.warehouse import quote_identifier

STATE_TABLE = "raw._extract_state"
METADATA_COLUMNS = ("_record_key", "_source", "_object", "_is_deleted", "_run_id", "_extracted_at")


def raw_table_name(source: str, object_name: str) -> str:
    """`raw.<source>__<object>`, e.g. raw.crm_emea__lead (source names are [a-z0-9_]+)."""
    return f"raw.{source}__{object_name.lower()}"


@dataclass(frozen=True)
class ObjectShape:
    """Which columns identify a record, its change stamp and its deletion flag; `columns` are
    the standard ones an empty table is created with (see sources/kinds.py)."""

    id_column: str
    modstamp_column: str
    deleted_column: str
    columns: tuple[str, ...] = ()


SALESFORCE_SHAPE = ObjectShape("Id", "SystemModstamp", "IsDeleted")
PROSPECT_SHAPE = ObjectShape("id", "updatedAt", "isDeleted")


@dataclass
class StagedPages:
    """Files of one extraction, written page by page."""

    directory: Path
    files: list[Path] = field(default_factory=list)
    rows: int = 0

    def add_csv(self, text: str) -> None:
        """A Bulk 2.0 result page, written as returned (header line included)."""
        if not text.strip():
            return
        path = self.directory / f"part-{len(self.files):05d}.csv"
        path.write_text(text, encoding="utf-8")
        self.files.append(path)
        # Count data lines cheaply; quoted newlines are rare and only affect progress figures.
        self.rows += max(text.count("\n") - 1, 0) + (0 if text.endswith("\n") else 1)

    def add_records(self, records: list[dict]) -> None:
        """A page of JSON records, every value kept as text the way the API rendered it."""
        if not records:
            return
        names = list(dict.fromkeys(k for record in records for k in record if k != "attributes"))
        table = pa.table(
            {name: pa.array([_as_text(r.get(name)) for r in records], pa.string()) for name in names}
        )
        path = self.directory / f"part-{len(self.files):05d}.parquet"
        pq.write_table(table, path)
        self.files.append(path)
        self.rows += len(records)

    def cleanup(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def _as_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return str(value)


def batched(records: Iterable[dict], size: int) -> Iterator[list[dict]]:
    batch: list[dict] = []
    for record in records:
        batch.append(record)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass
class MergeResult:
    table: str
    fetched: int
    new: int
    updated: int
    deleted: int
    unchanged: int
    high_water_mark: str | None
    total_rows: int
    columns: list[str]


def ensure_state_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        f"""create table if not exists {STATE_TABLE} (
            source varchar, object varchar, high_water_mark timestamptz, last_run_id varchar,
            last_mode varchar, last_extracted_at timestamptz, primary key (source, object))"""
    )


def read_high_water_mark(
    con: duckdb.DuckDBPyConnection, source: str, object_name: str
) -> datetime | None:
    ensure_state_table(con)
    row = con.execute(
        f"select high_water_mark from {STATE_TABLE} where source = ? and object = ?",
        [source, object_name],
    ).fetchone()
    return row[0] if row else None


def _stage_relation(con: duckdb.DuckDBPyConnection, staged: StagedPages) -> None:
    csv_files = [str(p) for p in staged.files if p.suffix == ".csv"]
    parquet_files = [str(p) for p in staged.files if p.suffix == ".parquet"]
    parts = []
    params: list = []
    if csv_files:
        parts.append("select * from read_csv(?, all_varchar = true, header = true, union_by_name = true)")
        params.append(csv_files)
    if parquet_files:
        parts.append("select * from read_parquet(?, union_by_name = true)")
        params.append(parquet_files)
    union = " union all by name ".join(parts)
    con.execute(f"create or replace temp table staged_pages as {union}", params)


def merge_staged_pages(
    con: duckdb.DuckDBPyConnection,
    *,
    source: str,
    object_name: str,
    shape: ObjectShape,
    staged: StagedPages,
    run_id: str,
    mode: str,
) -> MergeResult:
    """Upsert the staged rows whose change stamp moved; count new / updated / deleted rows."""
    table = raw_table_name(source, object_name)
    ensure_state_table(con)
    previous_mark = read_high_water_mark(con, source, object_name)
    if not staged.files:
        # An object with no rows still gets its table, so every reader finds the relation.
        ensure_object_table(con, table, shape)
        total = _row_count(con, table)
        return MergeResult(table, 0, 0, 0, 0, 0, _iso(previous_mark), total, _columns(con, table))

    _stage_relation(con, staged)
    id_col, mod_col, del_col = (quote_identifier(c) for c in
                                (shape.id_column, shape.modstamp_column, shape.deleted_column))
    staged_columns = [r[0] for r in con.execute("describe staged_pages").fetchall()]
    if shape.deleted_column not in staged_columns:
        con.execute(f"alter table staged_pages add column {del_col} varchar default 'false'")
        staged_columns.append(shape.deleted_column)

    # One row per id (a record edited during paging can appear twice), typed helpers for diffing.
    con.execute(
        f"""create or replace temp table incoming as
            select *,
                   ? || ':' || {id_col} as _record_key,
                   ? as _source, ? as _object,
                   coalesce(lower({del_col}) = 'true', false) as _is_deleted,
                   ? as _run_id, now() as _extracted_at,
                   try_cast({mod_col} as timestamptz) as _modstamp_ts
            from staged_pages
            where {id_col} is not null
            qualify row_number() over (
                partition by {id_col} order by try_cast({mod_col} as timestamptz) desc nulls last) = 1""",
        [f"{source}:{object_name}", source, object_name, run_id],
    )
    fetched = _row_count(con, "incoming")

    table_exists = bool(con.execute(
        "select count(*) from information_schema.tables where table_schema = 'raw' and table_name = ?",
        [table.split(".", 1)[1]],
    ).fetchone()[0])
    if not table_exists:
        con.execute(f"create table {table} as select * exclude (_modstamp_ts) from incoming limit 0")
    existing = set(_columns(con, table))
    for column in staged_columns:
        if column not in existing:
            con.execute(f"alter table {table} add column {quote_identifier(column)} varchar")

    con.execute(
        f"""create or replace temp table changes as
            select i.{id_col} as id,
                   case when t.{id_col} is null then (case when i._is_deleted then 'deleted' else 'new' end)
                        when i._modstamp_ts is not distinct from try_cast(t.{mod_col} as timestamptz)
                             and i._is_deleted = t._is_deleted then 'unchanged'
                        when i._is_deleted and not t._is_deleted then 'deleted'
                        else 'updated' end as change
            from incoming i left join {table} t on t.{id_col} = i.{id_col}"""
    )
    counts = dict(con.execute("select change, count(*) from changes group by change").fetchall())
    con.execute(
        f"""delete from {table} where {id_col} in
            (select id from changes where change <> 'unchanged')"""
    )
    con.execute(
        f"""insert into {table} by name
            select * exclude (_modstamp_ts) from incoming
            where {id_col} in (select id from changes where change <> 'unchanged')"""
    )
    new_mark = con.execute("select max(_modstamp_ts) from incoming").fetchone()[0]
    marks = [m for m in (previous_mark, new_mark) if m is not None]
    mark = max(marks) if marks else None
    con.execute(
        f"""insert or replace into {STATE_TABLE}
            (source, object, high_water_mark, last_run_id, last_mode, last_extracted_at)
            values (?, ?, ?, ?, ?, now())""",
        [source, object_name, mark, run_id, mode],
    )
    con.execute("drop table if exists staged_pages")
    con.execute("drop table if exists incoming")
    con.execute("drop table if exists changes")
    return MergeResult(
        table=table,
        fetched=fetched,
        new=counts.get("new", 0),
        updated=counts.get("updated", 0),
        deleted=counts.get("deleted", 0),
        unchanged=counts.get("unchanged", 0),
        high_water_mark=_iso(mark),
        total_rows=_row_count(con, table),
        columns=_columns(con, table),
    )


def ensure_object_table(con: duckdb.DuckDBPyConnection, table: str, shape: ObjectShape) -> None:
    """Create the raw table with its standard columns if it does not exist yet (no rows)."""
    columns = dict.fromkeys((shape.id_column, shape.modstamp_column, shape.deleted_column, *shape.columns))
    typed = [f"{quote_identifier(c)} varchar" for c in columns]
    typed += [f"{c} varchar" for c in METADATA_COLUMNS if c not in ("_is_deleted", "_extracted_at")]
    typed += ["_is_deleted boolean", "_extracted_at timestamptz"]
    con.execute(f"create table if not exists {table} ({', '.join(typed)})")


def _row_count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    try:
        return con.execute(f"select count(*) from {table}").fetchone()[0]
    except duckdb.CatalogException:
        return 0


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    try:
        return [r[0] for r in con.execute(f"describe {table}").fetchall()]
    except duckdb.CatalogException:
        return []


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None
