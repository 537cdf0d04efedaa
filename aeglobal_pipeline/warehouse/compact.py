"""Dropping deleted rows from the warehouse's tables: `aeglobal compact` and the compaction job.

An incremental run deletes and re-inserts the rows of whatever changed. DuckDB keeps a deleted
row on disk until a checkpoint vacuums its row group, and one vacuum can rewrite most of a table
(9 s for the 9M-row candidates table at 1M source records), in whichever run happened to cross
its threshold. The project's connections therefore never vacuum (`duckdb_config`), and the tables
whose deleted rows have piled up are compacted here, on a schedule of their own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import duckdb

from aeglobal_pipeline.warehouse import quote_identifier

# A table is rewritten once this share of its stored rows is deleted (and at least this many):
# a daily 1% change reaches it in one to three weeks.
DEFAULT_MIN_DEAD_SHARE = 0.1
MIN_DEAD_ROWS = 10_000


@dataclass(frozen=True)
class TableRows:
    schema: str
    table: str
    stored: int  # rows on disk, deleted ones included (DuckDB's estimated_size)
    live: int

    @property
    def name(self) -> str:
        return f"{self.schema}.{self.table}"

    @property
    def dead(self) -> int:
        return max(self.stored - self.live, 0)

    @property
    def dead_share(self) -> float:
        return self.dead / self.stored if self.stored else 0.0


def _qualified(schema: str, table: str) -> str:
    return f"{quote_identifier(schema)}.{quote_identifier(table)}"


def table_rows(con: duckdb.DuckDBPyConnection) -> list[TableRows]:
    """Stored and live rows of every table of the warehouse."""
    tables = con.execute(
        "select schema_name, table_name, estimated_size from duckdb_tables() "
        "where database_name = current_database() and not temporary order by schema_name, table_name"
    ).fetchall()
    rows = []
    for schema, table, stored in tables:
        # Names come from DuckDB's own catalogue and are quoted.
        live = con.execute(f"select count(*) from {_qualified(schema, table)}").fetchone()[0]  # noqa: S608
        rows.append(TableRows(schema, table, stored, live))
    return rows


def needs_compaction(rows: TableRows, min_dead_share: float) -> bool:
    return rows.dead >= MIN_DEAD_ROWS and rows.dead_share >= min_dead_share


def compact(
    con: duckdb.DuckDBPyConnection,
    *,
    min_dead_share: float = DEFAULT_MIN_DEAD_SHARE,
    progress: Callable[[str], None] = lambda _: None,
) -> list[TableRows]:
    """Rewrite the tables whose deleted rows reach `min_dead_share`; returns them as they were.

    Each table is emptied and refilled in one transaction, which keeps its constraints, row
    order and the views over it; a row group left with no live row is dropped at the checkpoint.
    """
    compacted = []
    for rows in table_rows(con):
        if not needs_compaction(rows, min_dead_share):
            continue
        progress(f"compacting {rows.name}: {rows.dead:,} of {rows.stored:,} stored rows deleted")
        table = _qualified(rows.schema, rows.table)
        con.execute("begin transaction")
        try:
            con.execute(f"create temp table compact_copy as select * from {table}")  # noqa: S608
            con.execute(f"delete from {table}")  # noqa: S608
            con.execute(f"insert into {table} select * from compact_copy")  # noqa: S608
            con.execute("drop table compact_copy")
            con.execute("commit")
        except duckdb.Error:
            con.execute("rollback")
            raise
        compacted.append(rows)
    con.execute("checkpoint")
    return compacted
