"""Building plans from desired values and reading the sandbox's end state back."""

from __future__ import annotations

import math
from dataclasses import dataclass

from simple_salesforce import format_soql
from snapshot_helpers import lead_id

from aeglobal_pipeline.config import load_sources
from aeglobal_pipeline.sources.extract import extract_prospects, extract_salesforce_object
from aeglobal_pipeline.warehouse import connect, quote_identifier
from aeglobal_pipeline.writeback import RetryPolicy, WritebackOptions, rollback_run, run_writeback
from aeglobal_pipeline.writeback.values import canonical

PLAN = "marts.writeback_plan"
CONTACT_ID = "003000000000001AAA"
# (source, object, record_id, field) -> desired value
Change = tuple[str, str, str, str]


def fast_options(**overrides) -> WritebackOptions:
    """Backoff in hundredths of seconds; Retry-After honoured but capped for speed; a write whose
    answer was lost is awaited 8 s (the sandbox's held requests land within a few seconds)."""
    policy = RetryPolicy(max_attempts=5, base_delay=0.01, max_delay=0.05, max_retry_after=0.2,
                         unknown_outcome_wait=8.0, unknown_outcome_poll=0.1)
    return WritebackOptions(**{"retry": policy, "bulk_poll_seconds": 0.05, **overrides})


def lead_numbers(count: int, start: int = 1) -> list[int]:
    """Lead numbers of live (not deleted: every 50th is) leads."""
    numbers, n = [], start
    while len(numbers) < count:
        if n % 50:
            numbers.append(n)
        n += 1
    return numbers


def desired_changes(leads: int = 450, prospects: tuple[int, ...] = (1001, 1002, 1003, 1004, 1005)
                    ) -> dict[Change, str]:
    """A plan's intent: new first names everywhere, opt-outs on a few leads and prospects."""
    wanted: dict[Change, str] = {}
    for n in lead_numbers(leads):
        wanted[("crm_emea", "Lead", lead_id(n), "FirstName")] = f"Resolved{n}"
    for n in lead_numbers(leads)[:3]:
        wanted[("crm_emea", "Lead", lead_id(n), "HasOptedOutOfEmail")] = "true"
    wanted[("crm_emea", "Contact", CONTACT_ID, "FirstName")] = "Carla-Maria"
    for pid in prospects:
        wanted[("ae_emea", "Prospect", str(pid), "firstName")] = f"ResolvedP{pid}"
        wanted[("ae_emea", "Prospect", str(pid), "optedOut")] = "true"
    return wanted


def rule_for(field: str) -> str:
    return "consent" if field in ("HasOptedOutOfEmail", "optedOut") else "precedence"


@dataclass
class World:
    sandbox: object

    def extract(self) -> None:
        sources = load_sources()
        for object_name in ("Lead", "Contact"):
            extract_salesforce_object(self.sandbox.sf("crm_emea"), sources.by_name("crm_emea"),
                                      object_name, "extract", log=lambda _: None,
                                      bulk_poll_seconds=0.05)
        extract_prospects(self.sandbox.ae("ae_emea"), sources.by_name("ae_emea"), "extract",
                          log=lambda _: None)

    def make_plan(self, wanted: dict[Change, str]) -> int:
        """marts.writeback_plan as the producer would: only fields whose raw value differs."""
        rows = []
        with connect() as con:
            for (source, object_name, record_id, field), new in wanted.items():
                id_column = "id" if object_name == "Prospect" else "Id"
                table = f"raw.{source}__{object_name.lower()}"
                found = con.execute(
                    f"select {quote_identifier(field)} from {table} "  # noqa: S608 - test identifiers
                    f"where {quote_identifier(id_column)} = ?", [record_id],
                ).fetchone()
                current = found[0] if found else None
                if canonical(current) != canonical(new):
                    rows.append((source, object_name, record_id, field, current, new,
                                 f"{source}:{object_name}:x", rule_for(field), "gp-1"))
            con.execute("create schema if not exists marts")
            con.execute(
                """create or replace table marts.writeback_plan (target_source varchar,
                   object varchar, record_id varchar, field varchar, current_value varchar,
                   new_value varchar, value_source varchar, rule varchar, global_person_id varchar)"""
            )
            if rows:
                con.executemany("insert into marts.writeback_plan values (?,?,?,?,?,?,?,?,?)", rows)
        return len(rows)

    def run(self, apply: bool = True, **options):
        return run_writeback(apply=apply, plan_relation=PLAN, options=fast_options(**options),
                             log=lambda _: None)

    def rollback(self, run_id: str):
        return rollback_run(run_id, options=fast_options(), log=lambda _: None)

    def state(self, keys) -> dict[Change, str]:
        """Current values in the sandbox, read back through the real clients."""
        keys = list(keys)
        result: dict[Change, str] = {}
        sf = self.sandbox.sf("crm_emea")
        for object_name in ("Lead", "Contact"):
            wanted = [k for k in keys if k[1] == object_name]
            ids = sorted({k[2] for k in wanted})
            fields = sorted({k[3] for k in wanted})
            for start in range(0, len(ids), 200):
                chunk = ids[start:start + 200]
                soql = format_soql("SELECT Id, {:literal} FROM {:literal} WHERE Id IN {}",
                                   ", ".join(fields), object_name, chunk)
                for record in sf.query_all(soql)["records"]:
                    for field in fields:
                        result[("crm_emea", object_name, record["Id"], field)] = canonical(record[field])
        ae = self.sandbox.ae("ae_emea")
        for pid in sorted({k[2] for k in keys if k[1] == "Prospect"}):
            record = ae.get_prospect(pid, ["id", "firstName", "optedOut"])
            for field in ("firstName", "optedOut"):
                result[("ae_emea", "Prospect", pid, field)] = canonical(record[field])
        return {k: v for k, v in result.items() if k in set(keys)}

    def log(self, run_id: str | None = None) -> list[tuple]:
        with connect() as con:
            return con.execute(
                """select run_id, source, object, record_id, field, old_value, new_value, rule,
                          status, error from writeback.changes_log
                   where ? is null or run_id = ? order by "at", record_id, field""",
                [run_id, run_id],
            ).fetchall()

    def pending(self) -> int:
        with connect() as con:
            return con.execute("select count(*) from writeback.pending_writes").fetchone()[0]


def write_calls(stats: dict, source: str, kind: str) -> int:
    return stats.get(source, {}).get(kind, 0)


def batches(records: int, size: int = 200) -> int:
    return math.ceil(records / size)
