# ruff: noqa: S608 - SQL here interpolates only quoted identifiers; every value is a bound parameter.
"""Echo suppression: the change stamps our own writes gave records.

A write bumps a record's SystemModstamp / LastModifiedDate (or updatedAt). Survivorship's
`most_recent` ranks records by those, so without this the next run would take our own write as
the newest evidence and plan the old value back (rule 4: a second run writes nothing). After each
batch, its records' new stamps are read back (one SOQL query per 200 records; Prospects use the
stamp the PATCH answered) and stored in `writeback.echo_stamps`, in the transaction that logs
the batch's outcomes, with the last-modified time from before the write. Reconciling a stopped
writer's intents stores the stamps of every write it settles, so a kill loses none. dbt ranks a
record by that earlier time for as long as its stamp is still the one our write produced
(int_governance__records).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import pyarrow as pa

from aeglobal_pipeline.sources.raw_tables import raw_table_name
from aeglobal_pipeline.warehouse import quote_identifier
from aeglobal_pipeline.writeback.targets import Target

ECHO_STAMPS = "writeback.echo_stamps"
# Kept in step with the on-run-start hook in dbt_project.yml (dbt reads it before any write-back).
DDL = f"""create table if not exists {ECHO_STAMPS} (
    source varchar, object varchar, record_id varchar, stamp_after_write timestamptz,
    modified_before_write timestamptz, run_id varchar, "at" timestamptz)"""


def _raw_columns(object_name: str) -> tuple[str, str, str]:
    """(id, change stamp, last-modified) columns of a raw table: what dbt ranks `most_recent` by."""
    if object_name == "Prospect":
        return "id", "updatedAt", "updatedAt"
    return "Id", "SystemModstamp", "LastModifiedDate"


def _columns(con: duckdb.DuckDBPyConnection, qualified: str) -> set[str]:
    schema, name = qualified.split(".", 1)
    rows = con.execute(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
        [schema, name],
    ).fetchall()
    return {r[0] for r in rows}


def _raw_before(con: duckdb.DuckDBPyConnection, source: str, object_name: str) -> str:
    """A select of (record_id, stamp, modified) as extracted, or an empty one if not extracted."""
    raw = raw_table_name(source, object_name)
    id_column, stamp_column, modified_column = _raw_columns(object_name)
    present = _columns(con, raw)
    if not {id_column, stamp_column, modified_column} <= present:
        return "select null::varchar as record_id, null::varchar as stamp, null::varchar as modified limit 0"
    q = quote_identifier
    return (f"select {q(id_column)} as record_id, {q(stamp_column)} as stamp, "
            f"{q(modified_column)} as modified from {raw}")


@dataclass(frozen=True)
class Echo:
    """A record our write touched: its stamp after the write, and what it had before (if read)."""

    record_id: str
    stamp_after: object
    stamp_before: object = None
    modified_before: object = None


def store_in(con: duckdb.DuckDBPyConnection, run_id: str, source: str, object_name: str,
             echoes: list[Echo]) -> int:
    """Upsert one row per written record inside the caller's transaction; returns how many."""
    rows = {e.record_id: e for e in echoes if e.stamp_after not in (None, "")}
    if not rows:
        return 0

    def text(value: object) -> str | None:
        return None if value in (None, "") else str(value)

    incoming = pa.table({
        "record_id": list(rows),
        "stamp_after_write": [text(e.stamp_after) for e in rows.values()],
        "stamp_before": pa.array([text(e.stamp_before) for e in rows.values()], pa.string()),
        "modified_before": pa.array([text(e.modified_before) for e in rows.values()], pa.string()),
    })
    con.execute("create schema if not exists writeback")
    con.execute(DDL)
    con.register("echo_incoming", incoming)
    try:
        # A record our earlier write left untouched still carries that write's stamp: keep the
        # time from before that write, not our own echo of it. The stamps read right before this
        # write (kept with its intent) beat the extracted ones, which a later extract may have
        # replaced with our own write's.
        con.execute(
            f"""create or replace temp table echo_new as
                select ? as source, ? as object, i.record_id,
                       try_cast(i.stamp_after_write as timestamptz) as stamp_after_write,
                       case when e.stamp_after_write
                                 = try_cast(coalesce(i.stamp_before, r.stamp) as timestamptz)
                            then e.modified_before_write
                            else coalesce(try_cast(i.modified_before as timestamptz),
                                          try_cast(r.modified as timestamptz))
                       end as modified_before_write,
                       ? as run_id, ? as "at"
                from echo_incoming i
                left join ({_raw_before(con, source, object_name)}) r on r.record_id = i.record_id
                left join {ECHO_STAMPS} e
                    on e.source = ? and e.object = ? and e.record_id = i.record_id""",
            [source, object_name, run_id, datetime.now(UTC), source, object_name],
        )
        con.execute(
            f"""delete from {ECHO_STAMPS} e using echo_new n
                where e.source = n.source and e.object = n.object and e.record_id = n.record_id"""
        )
        con.execute(f"insert into {ECHO_STAMPS} by name select * from echo_new")
    finally:
        con.unregister("echo_incoming")
    return len(rows)


def read_echoes(target: Target, before: dict[str, tuple[object, object]],
                log: Callable[[str], None]) -> list[Echo]:
    """Read back the stamps of records just written to `target` (ids -> stamps before)."""
    if not before:
        return []
    stamps = target.stamps(sorted(before))
    missing = len(before) - sum(1 for rid in before if stamps.get(rid) not in (None, ""))
    if missing:
        # Unreadable now: those records may look newer than they are on the next run.
        log(f"{target.source}.{target.object}: no stamp read back for {missing} of "
            f"{len(before)} written records")
    return [Echo(rid, stamps.get(rid), *before[rid]) for rid in sorted(before)]
