"""Incremental scoring: score only the pairs that touch a changed record, keep the rest.

A pair's score and decision are a function of its two records' matching features, the model
(m, u, prior, frozen term frequencies — see `term_frequencies`) and matching.yaml. So when the
model and the rules are the ones the previous run used, a pair of two records whose features
did not change would score exactly as before. Each run stores a fingerprint of every record's
features; the next run flags the records whose fingerprint is new or different, asks Splink
only for blocked pairs with a flagged record on one side (`links.score_pairs(only_flagged=…)`),
and in identity.person_links replaces only the pairs that touch a flagged or vanished record
(a kept pair's run_id stays that of the run that scored it). The result equals a full run's
pairs on the same data; `tests/identity/test_incremental.py` checks it.

Falls back to a full run when there is no previous state, the model or the rules changed,
`full_refresh` is asked for, or more than MAX_CHANGED_SHARE of the records changed (then
scoring everything is about as cheap).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from aeglobal_pipeline.identity.features import FEATURES_TABLE
from aeglobal_pipeline.identity.settings import MatchingRules
from aeglobal_pipeline.identity.stable_ids import LINKS_TABLE, table_exists

FINGERPRINTS_TABLE = "identity.record_fingerprints"
STATE_TABLE = "identity.links_state"
CHANGED_COLUMN = "is_changed"
STALE_TABLE = "stale_records"  # in the matching database
MAX_CHANGED_SHARE = 0.3
SCORED_DECISIONS = ("accepted", "grey_zone", "vetoed")  # Splink's pairs, not deterministic links

STATE_DDL = (
    f"CREATE TABLE IF NOT EXISTS {FINGERPRINTS_TABLE} (record_key VARCHAR, fingerprint UBIGINT)",
    f"""CREATE TABLE IF NOT EXISTS {STATE_TABLE} (
        model_version VARCHAR, rules_fingerprint VARCHAR, duckdb_version VARCHAR, run_id VARCHAR)""",
)


@dataclass
class PreviousRun:
    """What the last links run left: its state row and record fingerprints (Arrow)."""

    model_version: str | None = None
    rules_fingerprint: str | None = None
    duckdb_version: str | None = None
    fingerprints: pa.Table | None = None


@dataclass
class ScoringPlan:
    mode: str  # full | incremental
    reason: str
    records: int
    changed: int = 0
    kept_pairs: int = 0


def rules_fingerprint(rules: MatchingRules) -> str:
    return hashlib.sha256(rules.fingerprint_text().encode()).hexdigest()[:16]


def read_previous(con: duckdb.DuckDBPyConnection) -> PreviousRun:
    """The previous run's state from the warehouse (empty when there is none)."""
    if not (table_exists(con, STATE_TABLE) and table_exists(con, FINGERPRINTS_TABLE)):
        return PreviousRun()
    state = con.execute(
        f"SELECT model_version, rules_fingerprint, duckdb_version FROM {STATE_TABLE}"  # noqa: S608
    ).fetchall()
    if len(state) != 1:
        return PreviousRun()
    return PreviousRun(
        *state[0],
        fingerprints=con.sql(f"SELECT record_key, fingerprint FROM {FINGERPRINTS_TABLE}").to_arrow_table(),  # noqa: S608
    )


def fingerprint_records(memory: duckdb.DuckDBPyConnection) -> None:
    """`record_fingerprints(record_key, fingerprint)`: a hash of each record's whole feature row."""
    memory.execute(
        f"""CREATE OR REPLACE TABLE record_fingerprints AS
            SELECT f.record_key, hash(f) AS fingerprint FROM {FEATURES_TABLE} AS f"""  # noqa: S608
    )


def plan_scoring(
    memory: duckdb.DuckDBPyConnection, previous: PreviousRun, *, model_version: str,
    rules_hash: str, full_refresh: bool = False,
) -> ScoringPlan:
    """Decide full or incremental; for incremental, flag changed records in the feature table."""
    records = memory.execute("SELECT count(*) FROM record_fingerprints").fetchall()[0][0]
    reason = _why_full(previous, model_version, rules_hash, full_refresh)
    if reason:
        return ScoringPlan("full", reason, records)
    memory.register("previous_fingerprints", previous.fingerprints)
    memory.execute(
        f"""CREATE OR REPLACE TABLE {FEATURES_TABLE} AS
            SELECT f.*, before.fingerprint IS DISTINCT FROM now.fingerprint AS {CHANGED_COLUMN}
            FROM {FEATURES_TABLE} AS f
            JOIN record_fingerprints AS now USING (record_key)
            LEFT JOIN previous_fingerprints AS before USING (record_key)"""  # noqa: S608 - constants
    )
    # Records whose stored pairs are stale: changed ones, and those gone since the last run.
    memory.execute(
        f"""CREATE OR REPLACE TABLE {STALE_TABLE} AS
            SELECT record_key FROM {FEATURES_TABLE} WHERE {CHANGED_COLUMN}
            UNION ALL
            SELECT record_key FROM previous_fingerprints
            WHERE record_key NOT IN (SELECT record_key FROM record_fingerprints)"""  # noqa: S608 - constants
    )
    memory.unregister("previous_fingerprints")
    changed = memory.execute(
        f"SELECT count(*) FROM {FEATURES_TABLE} WHERE {CHANGED_COLUMN}"  # noqa: S608 - constants
    ).fetchall()[0][0]
    if records and changed > MAX_CHANGED_SHARE * records:
        memory.execute(f"ALTER TABLE {FEATURES_TABLE} DROP COLUMN {CHANGED_COLUMN}")
        return ScoringPlan("full", f"{changed:,} of {records:,} records changed", records, changed)
    return ScoringPlan("incremental", "same model and rules as the previous run", records, changed)


def _why_full(previous: PreviousRun, model_version: str, rules_hash: str, full_refresh: bool) -> str:
    if full_refresh:
        return "full refresh asked for"
    if previous.fingerprints is None:
        return "no previous run"
    if previous.model_version != model_version:
        return "the model changed"
    if previous.rules_fingerprint != rules_hash:
        return "matching.yaml changed"
    if previous.duckdb_version != duckdb.__version__:
        return "DuckDB version changed (fingerprints are its hashes)"
    return ""


def write_pairs(con: duckdb.DuckDBPyConnection, plan: ScoringPlan, pairs: pa.Table,
                stale: pa.Table | None, *, model_version: str, run_id: str) -> None:
    """Store this run's pairs in identity.person_links (inside the caller's transaction).

    Full: replace every row. Incremental: drop the scored pairs touching a stale record and all
    deterministic links (they are recomputed every run, cheaply), then add `pairs`."""
    decisions = list(SCORED_DECISIONS)
    scored = f"decision IN ({', '.join('?' for _ in decisions)})"
    if plan.mode == "full":
        con.execute(f"DELETE FROM {LINKS_TABLE}")  # noqa: S608 - constants
    else:
        con.register("stale_arrow", stale)
        con.execute(
            f"""DELETE FROM {LINKS_TABLE} WHERE {scored} AND (
                    record_key_a IN (SELECT record_key FROM stale_arrow)
                    OR record_key_b IN (SELECT record_key FROM stale_arrow))""",  # noqa: S608 - constants
            decisions,
        )
        con.unregister("stale_arrow")
        con.execute(f"DELETE FROM {LINKS_TABLE} WHERE NOT {scored}", decisions)  # noqa: S608
        plan.kept_pairs = con.execute(
            f"SELECT count(*) FROM {LINKS_TABLE}"  # noqa: S608 - constants
        ).fetchall()[0][0]
    con.register("links_arrow", pairs)
    con.execute(
        f"INSERT INTO {LINKS_TABLE} SELECT *, ?, ? FROM links_arrow",  # noqa: S608 - constants
        [model_version, run_id],
    )
    con.unregister("links_arrow")


def save_state(con: duckdb.DuckDBPyConnection, fingerprints: pa.Table, *, model_version: str,
               rules_hash: str, run_id: str) -> None:
    """Replace the stored fingerprints and state (inside the caller's transaction)."""
    for statement in STATE_DDL:
        con.execute(statement)
    con.register("fingerprints_arrow", fingerprints)
    con.execute(f"DELETE FROM {FINGERPRINTS_TABLE}")  # noqa: S608
    con.execute(f"INSERT INTO {FINGERPRINTS_TABLE} SELECT * FROM fingerprints_arrow")  # noqa: S608
    con.unregister("fingerprints_arrow")
    con.execute(f"DELETE FROM {STATE_TABLE}")  # noqa: S608
    con.execute(
        f"INSERT INTO {STATE_TABLE} VALUES (?, ?, ?, ?)",  # noqa: S608
        [model_version, rules_hash, duckdb.__version__, run_id],
    )


def clear_state(con: duckdb.DuckDBPyConnection) -> None:
    """Forget the previous run (the next one scores everything)."""
    if table_exists(con, STATE_TABLE):
        con.execute(f"DELETE FROM {STATE_TABLE}")  # noqa: S608
