"""The project's one DuckDB warehouse file and safe access to it.

DuckDB allows one writer process per file. Every writer in this project goes through
`connect()`, which holds an exclusive file lock for the connection's lifetime, so extract
assets running in parallel processes queue up instead of failing with a lock error.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from aeglobal_pipeline.config import warehouse_path

SCHEMAS = ("raw", "identity", "writeback")


@contextmanager
def connect(path: Path | None = None, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse for the duration of a `with` block, serialised across processes."""
    path = path or warehouse_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = path.with_suffix(path.suffix + ".lock")
    with open(lock_path, "a+") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_SH if read_only else fcntl.LOCK_EX)
        try:
            if read_only and not path.exists():
                raise FileNotFoundError(f"{path}: no warehouse yet; run `aeglobal run` first")
            with duckdb.connect(str(path), read_only=read_only, config=duckdb_config()) as con:
                if not read_only:
                    for schema in SCHEMAS:
                        con.execute(f"create schema if not exists {schema}")
                yield con
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def duckdb_config() -> dict[str, str]:
    """Settings shared by every DuckDB connection of the project (dbt's profile sets the same).

    - A memory bound (AEGLOBAL_DUCKDB_MEMORY): past it DuckDB spills to disk instead of taking
      80% of the machine.
    - No vacuum at checkpoints: an incremental run deletes and re-inserts a few percent of each
      table, and DuckDB would now and then rewrite a whole table at a checkpoint to drop the
      deleted rows (9 s for the 9M-row candidates table at 1M records), in whichever run crossed
      its threshold. Deleted rows are dropped by `aeglobal compact` instead (warehouse/compact.py).
    """
    return {"memory_limit": os.environ.get("AEGLOBAL_DUCKDB_MEMORY", "4GB"), "max_vacuum_tasks": "0"}


def quote_identifier(name: str) -> str:
    """Quote a table or column name for DuckDB (names come from APIs, never trusted as SQL)."""
    return '"' + name.replace('"', '""') + '"'
