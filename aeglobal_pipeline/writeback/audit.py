"""The write-back's warehouse tables: the audit log, write intents, runs and previews.

- `writeback.changes_log` (contract): one row per record × field outcome of a run.
- `writeback.pending_writes`: intents logged right before a batch is sent and removed with its
  outcome. Rows left behind belong to a writer that stopped mid-batch; the next apply reconciles
  them against the target's current values, so no write is lost from the log or sent twice.
- `writeback.runs`, `writeback.preview`: what each run planned and its summary counts.

Each function opens the warehouse briefly: never hold it during API calls (one DuckDB writer).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import pyarrow as pa

from aeglobal_pipeline.warehouse import connect
from aeglobal_pipeline.writeback import own_writes
from aeglobal_pipeline.writeback.plan import PlanRow, PreviewGroup

CHANGES_LOG = "writeback.changes_log"
PENDING = "writeback.pending_writes"
RUNS = "writeback.runs"
PREVIEW = "writeback.preview"
STATUSES = ("applied", "rejected", "stale", "skipped", "rolled_back")

_DDL = (
    f"""create table if not exists {CHANGES_LOG} (
        run_id varchar, source varchar, object varchar, record_id varchar, field varchar,
        old_value varchar, new_value varchar, rule varchar, status varchar, error varchar,
        "at" timestamptz)""",
    f"""create table if not exists {PENDING} (
        run_id varchar, source varchar, object varchar, record_id varchar, field varchar,
        old_value varchar, new_value varchar, rule varchar, "at" timestamptz,
        stamp_before varchar, modified_before varchar)""",
    f"""create table if not exists {RUNS} (
        run_id varchar, kind varchar, started_at timestamptz, finished_at timestamptz,
        plan_relation varchar, rollback_of varchar, summary json)""",
    f"""create table if not exists {PREVIEW} (
        run_id varchar, source varchar, object varchar, records integer, field_changes integer,
        fields json, rules json)""",
)
_LOG_COLUMNS = ("run_id", "source", "object", "record_id", "field", "old_value", "new_value",
                "rule", "status", "error", "at")


@dataclass(frozen=True)
class Outcome:
    row: PlanRow
    status: str
    error: str | None = None
    old_value: str | None = None  # the value found in the target, when it was read

    def as_log(self, run_id: str, at: datetime) -> dict:
        old = self.old_value if self.old_value is not None else self.row.current_value
        return {"run_id": run_id, "source": self.row.target_source, "object": self.row.object,
                "record_id": self.row.record_id, "field": self.row.field, "old_value": old,
                "new_value": self.row.new_value, "rule": self.row.rule, "status": self.status,
                "error": self.error, "at": at}


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    for statement in _DDL:
        con.execute(statement)
    # Warehouses from before intents carried the record's stamps get the columns once.
    present = {r[0] for r in con.execute(
        "select column_name from information_schema.columns "
        "where table_schema = 'writeback' and table_name = 'pending_writes'").fetchall()}
    for column in ("stamp_before", "modified_before"):
        if column not in present:
            con.execute(f"alter table {PENDING} add column {column} varchar")


def _arrow(records: list[dict], columns: tuple[str, ...]) -> pa.Table:
    return pa.table({c: [r[c] for r in records] for c in columns})


def _insert(con: duckdb.DuckDBPyConnection, table: str, records: list[dict], columns: tuple[str, ...]):
    if not records:
        return
    con.register("wb_incoming", _arrow(records, columns))
    try:
        con.execute(f"insert into {table} by name select * from wb_incoming")  # noqa: S608 - constant
    finally:
        con.unregister("wb_incoming")


@dataclass(frozen=True)
class Intent:
    """A left-over intent: the row, the value found before, the record's stamps before the write."""

    row: PlanRow
    old_value: str | None
    stamp_before: str | None = None
    modified_before: str | None = None
    at: datetime | None = None  # when the intent was logged (right before its request left)


def log_intents(run_id: str, rows: list[PlanRow], old_values: dict[tuple, str | None],
                stamps_before: dict[str, tuple[object, object]] | None = None) -> None:
    """Record what is about to be sent (before the request leaves), with each record's
    (change stamp, last-modified) before the write, for echo suppression after a crash."""
    now = datetime.now(UTC)
    stamps_before = stamps_before or {}

    def text(value: object) -> str | None:
        return None if value in (None, "") else str(value)

    records = [
        {"run_id": run_id, "source": r.target_source, "object": r.object, "record_id": r.record_id,
         "field": r.field, "old_value": old_values.get(_key(r), r.current_value),
         "new_value": r.new_value, "rule": r.rule, "at": now,
         "stamp_before": text(stamps_before.get(r.record_id, (None, None))[0]),
         "modified_before": text(stamps_before.get(r.record_id, (None, None))[1])}
        for r in rows
    ]
    with connect() as con:
        ensure_tables(con)
        _insert(con, PENDING, records, tuple(records[0]) if records else ())


def _key(row: PlanRow) -> tuple[str, str, str, str]:
    return row.target_source, row.object, row.record_id, row.field


def log_outcomes(run_id: str, outcomes: list[Outcome],
                 also: Callable[[duckdb.DuckDBPyConnection], None] | None = None) -> None:
    """Append outcomes to changes_log and drop their intents, in one transaction; `also` writes
    in the same transaction (the echo stamps of the writes), so a kill keeps both or neither.
    The applied writes' "before" values (own_writes) are kept in that transaction too."""
    if not outcomes:
        return
    now = datetime.now(UTC)
    records = [o.as_log(run_id, now) for o in outcomes]
    with connect() as con:
        ensure_tables(con)
        con.execute("begin")
        _insert(con, CHANGES_LOG, records, _LOG_COLUMNS)
        keys = [{"source": r["source"], "object": r["object"], "record_id": r["record_id"],
                 "field": r["field"]} for r in records]
        con.register("wb_done", _arrow(keys, ("source", "object", "record_id", "field")))
        try:
            con.execute(
                f"""delete from {PENDING} p using wb_done d
                    where p.run_id = ? and p.source = d.source and p.object = d.object
                      and p.record_id = d.record_id and p.field = d.field""",  # noqa: S608 - constant
                [run_id],
            )
        finally:
            con.unregister("wb_done")
        # what the records held before our writes, for identity (own_writes: not evidence)
        own_writes.store_in(con, run_id, [r for r in records if r["status"] == "applied"])
        if also is not None:
            also(con)
        con.execute("commit")


def pending_intents() -> dict[str, list[Intent]]:
    """Intents left by writers that stopped mid-batch (or whose writes stayed unconfirmed), by run."""
    with connect() as con:
        ensure_tables(con)
        rows = con.execute(
            f"""select run_id, source, object, record_id, field, old_value, new_value, rule,
                       stamp_before, modified_before, "at"
                from {PENDING} order by run_id, source, object, record_id, field"""  # noqa: S608
        ).fetchall()
    result: dict[str, list[Intent]] = {}
    for run_id, source, object_name, record_id, field, old, new, rule, stamp, modified, at in rows:
        row = PlanRow(source, object_name, record_id, field, old, new, rule)
        result.setdefault(run_id, []).append(Intent(row, old, stamp, modified, at))
    return result


def has_pending_intents() -> bool:
    with connect() as con:
        ensure_tables(con)
        return bool(con.execute(f"select count(*) from {PENDING}").fetchone()[0])  # noqa: S608


def echo_and_intent_counts() -> tuple[int, int]:
    """(rows in writeback.echo_stamps, intents still pending), for the asset's metadata."""
    from aeglobal_pipeline.writeback.echo import DDL

    with connect() as con:
        ensure_tables(con)
        con.execute(DDL)
        return con.execute(
            f"select (select count(*) from writeback.echo_stamps), "  # noqa: S608 - constants
            f"(select count(*) from {PENDING})").fetchone()


def applied_changes(run_id: str) -> list[PlanRow]:
    """The field writes a run made (for rollback), oldest first, as PlanRows of that run."""
    with connect() as con:
        ensure_tables(con)
        rows = con.execute(
            f"""select source, object, record_id, field, old_value, new_value, rule
                from {CHANGES_LOG} where run_id = ? and status in ('applied', 'rolled_back')
                order by "at", source, object, record_id, field""",  # noqa: S608 - constant
            [run_id],
        ).fetchall()
    return [PlanRow(s, o, r, f, old, new, rule) for s, o, r, f, old, new, rule in rows]


def start_run(run_id: str, kind: str, plan_relation: str | None, rollback_of: str | None = None):
    with connect() as con:
        ensure_tables(con)
        con.execute(f"delete from {RUNS} where run_id = ?", [run_id])  # noqa: S608 - constant
        con.execute(
            f"insert into {RUNS} values (?, ?, ?, null, ?, ?, null)",  # noqa: S608 - constant
            [run_id, kind, datetime.now(UTC), plan_relation, rollback_of],
        )


def finish_run(run_id: str, summary: dict, groups: list[PreviewGroup] | None = None) -> None:
    with connect() as con:
        ensure_tables(con)
        con.execute(
            f"update {RUNS} set finished_at = ?, summary = ? where run_id = ?",  # noqa: S608
            [datetime.now(UTC), json.dumps(summary, default=str), run_id],
        )
        if groups is not None:
            con.execute(f"delete from {PREVIEW} where run_id = ?", [run_id])  # noqa: S608
            for g in groups:
                con.execute(
                    f"insert into {PREVIEW} values (?, ?, ?, ?, ?, ?, ?)",  # noqa: S608 - constant
                    [run_id, g.target_source, g.object, g.records, g.field_changes,
                     json.dumps(g.fields), json.dumps(g.rules)],
                )


def latest_run_summary(kind: str | None = None) -> tuple[str, str, dict] | None:
    """(run_id, kind, summary) of the newest finished run, optionally of one kind."""
    with connect() as con:
        ensure_tables(con)
        row = con.execute(
            f"""select run_id, kind, summary from {RUNS}
                where finished_at is not null and (? is null or kind = ?)
                order by finished_at desc limit 1""",  # noqa: S608 - constant
            [kind, kind],
        ).fetchone()
    return (row[0], row[1], json.loads(row[2]) if row[2] else {}) if row else None
