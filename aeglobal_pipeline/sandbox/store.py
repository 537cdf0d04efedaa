"""The sandbox's persistent state: one SQLite file (WAL) under `<home>/sandbox/state.sqlite`.

`records` holds every record of every source × object, its values as a JSON array in the order
of `columns`. Two indexes make the APIs' access paths cheap: (source, object, rid) for point
lookups and (source, object, modstamp, rid) for `WHERE SystemModstamp >= x ORDER BY
SystemModstamp, Id` — every scan is a keyset scan, so memory stays bounded at any org size.

A snapshot load builds `staging_*` tables next to the live ones and swaps them in with one
transaction, so readers see either the old state or the new one, never a mix.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aeglobal_pipeline.sandbox.fields import PROSPECT, Column, stamp, stamp_to_datetime
from aeglobal_pipeline.sources.ids import to_18

TABLES = ("sources", "columns", "records")
# A filter is a SQL predicate over the columns rid / modstamp / is_deleted with bound parameters.
Filter = tuple[str, Sequence[object]]


def state_path(home: Path) -> Path:
    return home / "sandbox" / "state.sqlite"


def record_key(object_name: str, record_id: object) -> str:
    """The stored key: Prospect ids are integers, padded so that text order is numeric order."""
    if object_name == PROSPECT:
        return f"{int(record_id):020d}"
    return to_18(str(record_id))


@dataclass(frozen=True)
class SourceInfo:
    name: str
    kind: str
    business_unit_id: str | None


@dataclass
class Row:
    rid: str
    modstamp: str
    is_deleted: bool
    values: list


@dataclass(frozen=True)
class KeyOrder:
    """Keyset order: by (modstamp, rid) or by rid alone, ascending or descending."""

    by_modstamp: bool = False
    descending: bool = False

    def key(self, row: Row) -> tuple:
        return (row.modstamp, row.rid) if self.by_modstamp else (row.rid,)

    def after(self, key: tuple) -> Filter:
        op = "<" if self.descending else ">"
        if self.by_modstamp:
            return (f"(modstamp, rid) {op} (?, ?)", key)
        return (f"rid {op} ?", key)

    def sql(self) -> str:
        direction = "DESC" if self.descending else "ASC"
        if self.by_modstamp:
            return f"modstamp {direction}, rid {direction}"
        return f"rid {direction}"


def _schema(prefix: str, suffix: str) -> list[str]:
    return [
        f"CREATE TABLE IF NOT EXISTS {prefix}sources (name TEXT PRIMARY KEY, kind TEXT NOT NULL, "
        "business_unit_id TEXT, position INTEGER NOT NULL)",
        f"CREATE TABLE IF NOT EXISTS {prefix}columns (source TEXT NOT NULL, object TEXT NOT NULL, "
        "position INTEGER NOT NULL, name TEXT NOT NULL, type TEXT NOT NULL, "
        "PRIMARY KEY (source, object, position))",
        f"CREATE TABLE IF NOT EXISTS {prefix}records (source TEXT NOT NULL, object TEXT NOT NULL, "
        "rid TEXT NOT NULL, modstamp TEXT NOT NULL, is_deleted INTEGER NOT NULL, data TEXT NOT NULL)",
        f"CREATE UNIQUE INDEX IF NOT EXISTS records_key_{suffix} ON {prefix}records "
        "(source, object, rid)",
        f"CREATE INDEX IF NOT EXISTS records_modstamp_{suffix} ON {prefix}records "
        "(source, object, modstamp, rid)",
    ]


class Store:
    """Thread-safe access to the state file: one connection per thread, writes serialised."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._write_lock = threading.RLock()
        self._clock_lock = threading.Lock()
        self._last_stamp: str | None = None
        self._clock_generation = -1
        with self.transaction() as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            for statement in _schema("", "g0"):
                conn.execute(statement)

    def connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=60)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=60000")
            self._local.conn = conn
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (BEGIN IMMEDIATE), serialised with this process's other writers."""
        with self._write_lock:
            conn = self.connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    # -- reads ---------------------------------------------------------------------------------

    def generation(self) -> int:
        row = self.connection().execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return int(row[0]) if row else 0

    def sources(self) -> list[SourceInfo]:
        rows = self.connection().execute(
            "SELECT name, kind, business_unit_id FROM sources ORDER BY position"
        )
        return [SourceInfo(*row) for row in rows]

    def columns(self, source: str, object_name: str) -> list[Column]:
        rows = self.connection().execute(
            "SELECT name, type FROM columns WHERE source = ? AND object = ? ORDER BY position",
            (source, object_name),
        )
        return [Column(name, kind) for name, kind in rows]

    def objects(self, source: str) -> list[str]:
        rows = self.connection().execute(
            "SELECT DISTINCT object FROM columns WHERE source = ? ORDER BY object", (source,)
        )
        return [row[0] for row in rows]

    def get(self, source: str, object_name: str, rid: str) -> Row | None:
        rid = rid if object_name == PROSPECT else to_18(rid)
        found = self.connection().execute(
            "SELECT rid, modstamp, is_deleted, data FROM records "
            "WHERE source = ? AND object = ? AND rid = ?",
            (source, object_name, rid),
        ).fetchone()
        return _row(found) if found else None

    def get_many(self, source: str, object_name: str, rids: Sequence[str]) -> dict[str, Row]:
        rids = rids if object_name == PROSPECT else [to_18(r) for r in rids]
        found: dict[str, Row] = {}
        for start in range(0, len(rids), 500):
            chunk = list(rids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            rows = self.connection().execute(
                "SELECT rid, modstamp, is_deleted, data FROM records "  # noqa: S608 - only '?' marks
                f"WHERE source = ? AND object = ? AND rid IN ({marks})",
                (source, object_name, *chunk),
            )
            found.update((row[0], _row(row)) for row in rows)
        return found

    def fetch(
        self,
        source: str,
        object_name: str,
        filters: Sequence[Filter],
        order: KeyOrder,
        after: tuple | None,
        limit: int,
    ) -> list[Row]:
        """Up to `limit` rows matching all filters, in keyset order, after the key `after`."""
        clauses = list(filters) + ([order.after(after)] if after is not None else [])
        where = "".join(f" AND {sql}" for sql, _ in clauses)
        params: list[object] = [source, object_name]
        for _, values in clauses:
            params.extend(values)
        rows = self.connection().execute(
            "SELECT rid, modstamp, is_deleted, data FROM records "  # noqa: S608 - fixed fragments
            f"WHERE source = ? AND object = ?{where} ORDER BY {order.sql()} LIMIT ?",
            (*params, limit),
        )
        return [_row(row) for row in rows]

    def count(self, source: str, object_name: str, filters: Sequence[Filter]) -> int:
        where = "".join(f" AND {sql}" for sql, _ in filters)
        params: list[object] = [source, object_name]
        for _, values in filters:
            params.extend(values)
        return self.connection().execute(
            f"SELECT COUNT(*) FROM records WHERE source = ? AND object = ?{where}",  # noqa: S608
            params,
        ).fetchone()[0]

    # -- writes --------------------------------------------------------------------------------

    def next_stamp(self) -> str:
        """Now, at millisecond precision, strictly after every modstamp the state holds."""
        with self._clock_lock:
            generation = self.generation()
            if generation != self._clock_generation:
                self._last_stamp = self._max_stamp()
                self._clock_generation = generation
            now = datetime.now(UTC)
            if self._last_stamp is not None:
                floor = stamp_to_datetime(self._last_stamp) + timedelta(milliseconds=1)
                now = max(now, floor)
            self._last_stamp = stamp(now)
            return self._last_stamp

    def _max_stamp(self) -> str | None:
        conn = self.connection()
        pairs = conn.execute("SELECT DISTINCT source, object FROM columns").fetchall()
        stamps = [
            conn.execute(
                "SELECT MAX(modstamp) FROM records WHERE source = ? AND object = ?", pair
            ).fetchone()[0]
            for pair in pairs
        ]
        return max((s for s in stamps if s), default=None)

    def save(self, conn: sqlite3.Connection, source: str, object_name: str, rows: list[Row]) -> None:
        """Write changed rows back (inside `transaction()`)."""
        conn.executemany(
            "UPDATE records SET modstamp = ?, is_deleted = ?, data = ? "
            "WHERE source = ? AND object = ? AND rid = ?",
            [
                (row.modstamp, int(row.is_deleted), _encode(row.values), source, object_name, row.rid)
                for row in rows
            ],
        )


# -- snapshot staging ------------------------------------------------------------------------


class Staging:
    """Builds a complete new state beside the live one; `swap()` replaces it atomically."""

    def __init__(self, store: Store):
        self.store = store
        self.suffix = f"g{store.generation() + 1}"
        self._inserted: dict[tuple[str, str], int] = {}
        self.drop()
        with store.transaction() as conn:
            for statement in _schema("staging_", self.suffix):
                conn.execute(statement)

    def drop(self) -> None:
        with self.store.transaction() as conn:
            for table in TABLES:
                conn.execute(f"DROP TABLE IF EXISTS staging_{table}")

    def add_source(self, info: SourceInfo, position: int) -> None:
        with self.store.transaction() as conn:
            conn.execute(
                "INSERT INTO staging_sources VALUES (?, ?, ?, ?)",
                (info.name, info.kind, info.business_unit_id, position),
            )

    def set_columns(self, source: str, object_name: str, columns: Sequence[Column]) -> None:
        with self.store.transaction() as conn:
            conn.executemany(
                "INSERT INTO staging_columns VALUES (?, ?, ?, ?, ?)",
                [(source, object_name, i, c.name, c.type) for i, c in enumerate(columns)],
            )

    def insert(self, source: str, object_name: str, rows: Sequence[Row]) -> int | None:
        """Insert rows; on a duplicate key returns the index (in `rows`) of the first duplicate."""
        before = self._inserted.get((source, object_name), 0)
        with self.store.transaction() as conn:
            try:
                conn.executemany(
                    "INSERT INTO staging_records VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        (source, object_name, r.rid, r.modstamp, int(r.is_deleted), _encode(r.values))
                        for r in rows
                    ],
                )
            except sqlite3.IntegrityError:
                # Rows before the duplicate went in: the count tells which one failed.
                return self._count(conn, source, object_name) - before
        self._inserted[(source, object_name)] = before + len(rows)
        return None

    @staticmethod
    def _count(conn: sqlite3.Connection, source: str, object_name: str) -> int:
        return conn.execute(
            "SELECT COUNT(*) FROM staging_records WHERE source = ? AND object = ?",
            (source, object_name),
        ).fetchone()[0]

    def swap(self) -> int:
        """Replace the live state with the staged one; returns the new generation."""
        with self.store.transaction() as conn:
            for table in TABLES:
                conn.execute(f"DROP TABLE IF EXISTS {table}")
                conn.execute(f"ALTER TABLE staging_{table} RENAME TO {table}")
            generation = self.store.generation() + 1
            conn.execute(
                "INSERT INTO meta VALUES ('generation', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(generation),),
            )
        return generation


def _encode(values: list) -> str:
    return json.dumps(values, separators=(",", ":"), ensure_ascii=False)


def _row(found: tuple) -> Row:
    rid, modstamp, is_deleted, data = found
    return Row(rid, modstamp, bool(is_deleted), json.loads(data))
