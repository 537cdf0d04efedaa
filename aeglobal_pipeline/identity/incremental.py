"""Incremental scoring: score only the pairs that touch a changed record, keep the rest.

A pair's score and decision are a function of its two records' matching features, the model
(m, u, prior, frozen term frequencies — see `term_frequencies`) and matching.yaml. So when the
model and the rules are the ones the previous run used, a pair of two records whose features
did not change would score exactly as before. Features are a function of a few record columns
(`features.FEATURE_INPUTS`). Each run keeps a hash of those columns for every record
(identity.record_fingerprints) and every record's features (identity.record_features). The next
run, in the warehouse:

- flags the records whose hash is new or different (and notes those gone since);
- derives features for the flagged records only;
- takes from identity.record_features the records that share a block with a flagged one (each
  blocking rule as a join against the flagged records, both ways round): every pair Splink
  could block with a flagged record on one side has both records in this neighbourhood;

then asks Splink, on the neighbourhood alone, for the blocked pairs with a flagged record on one
side (`links.score_pairs(only_flagged=…)`). With frozen term frequencies nothing in a pair's
score depends on which other records are loaded, so these are exactly the full run's pairs that
touch a flagged record. identity.person_links then loses the pairs that touch a flagged or
vanished record and gains the new ones (a kept pair's run_id stays that of the run that scored
it). `tests/identity/test_incremental.py` checks the result equals a full run's.

Falls back to a full run when there is no previous state, the model, the rules or the feature
definitions (FEATURES_SQL, its inputs, nicknames.yaml) changed, `full_refresh` is asked for, or
more than MAX_CHANGED_SHARE of the records changed (then scoring everything is about as cheap).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from aeglobal_pipeline.identity.features import (
    FEATURE_INPUTS,
    INPUTS_HASH_SQL,
    SOURCE_TABLE,
    STORED_FEATURES_TABLE,
)
from aeglobal_pipeline.identity.settings import MatchingRules
from aeglobal_pipeline.identity.stable_ids import LINKS_TABLE, table_exists

FINGERPRINTS_TABLE = "identity.record_fingerprints"
STATE_TABLE = "identity.links_state"
CHANGED_COLUMN = "is_changed"
STALE_TABLE = "stale_records"  # temp table in the warehouse connection: flagged and vanished
MAX_CHANGED_SHARE = 0.3
# Splink's pairs, not deterministic links
SCORED_DECISIONS = ("accepted", "grey_zone", "vetoed", "kept_apart")

STATE_DDL = (
    f"CREATE TABLE IF NOT EXISTS {FINGERPRINTS_TABLE} (record_key VARCHAR, fingerprint UBIGINT)",
    f"""CREATE TABLE IF NOT EXISTS {STATE_TABLE} (
        model_version VARCHAR, rules_fingerprint VARCHAR, duckdb_version VARCHAR, run_id VARCHAR)""",
    # Added after the first release: a state row without it forces one full run.
    f"ALTER TABLE {STATE_TABLE} ADD COLUMN IF NOT EXISTS features_fingerprint VARCHAR",
)


@dataclass
class PreviousRun:
    """The state row the last links run left (all None when there is none)."""

    model_version: str | None = None
    rules_fingerprint: str | None = None
    duckdb_version: str | None = None
    features_fingerprint: str | None = None


@dataclass
class ScoringPlan:
    mode: str  # full | incremental
    reason: str
    records: int
    changed: int = 0
    kept_pairs: int = 0
    neighbours: int = 0  # unchanged records loaded to be paired with changed ones


def rules_fingerprint(rules: MatchingRules) -> str:
    return hashlib.sha256(rules.fingerprint_text().encode()).hexdigest()[:16]


def read_previous(con: duckdb.DuckDBPyConnection) -> PreviousRun:
    """The previous run's state row (empty when there is none or its tables are missing)."""
    tables = (STATE_TABLE, FINGERPRINTS_TABLE, STORED_FEATURES_TABLE)
    if not all(table_exists(con, table) for table in tables):
        return PreviousRun()
    columns = {row[0] for row in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?",
        STATE_TABLE.split("."),
    ).fetchall()}
    features = "features_fingerprint" if "features_fingerprint" in columns else "NULL"
    state = con.execute(
        f"SELECT model_version, rules_fingerprint, duckdb_version, {features} FROM {STATE_TABLE}"  # noqa: S608
    ).fetchall()
    return PreviousRun(*state[0]) if len(state) == 1 else PreviousRun()


def plan_scoring(
    con: duckdb.DuckDBPyConnection, previous: PreviousRun, *, model_version: str, rules_hash: str,
    features_hash: str, blocking_rules: list[dict], tf_frozen: bool = True, full_refresh: bool = False,
) -> ScoringPlan:
    """Decide full or incremental; for incremental, leave STALE_TABLE(record_key, fingerprint,
    present) in the (warehouse) connection: the flagged records with their new hash, and the
    vanished ones (present false)."""
    records = con.execute(f"SELECT count(*) FROM {SOURCE_TABLE}").fetchall()[0][0]  # noqa: S608
    reason = _why_full(previous, model_version, rules_hash, features_hash, full_refresh)
    if not reason and not tf_frozen:
        reason = "term frequencies not frozen yet (they are taken from the first data scored)"
    if not reason and any(set(rule) - {"blocking_rule", "sql_dialect"} for rule in blocking_rules):
        reason = "a blocking rule the incremental path cannot narrow (salting, exploded arrays)"
    if reason:
        return ScoringPlan("full", reason, records)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {STALE_TABLE} AS
            WITH now AS (SELECT record_key, {INPUTS_HASH_SQL} AS fingerprint FROM {SOURCE_TABLE})
            SELECT now.record_key, now.fingerprint, true AS present
            FROM now LEFT JOIN {FINGERPRINTS_TABLE} AS before USING (record_key)
            WHERE before.fingerprint IS DISTINCT FROM now.fingerprint
            UNION ALL
            SELECT before.record_key, NULL, false
            FROM {FINGERPRINTS_TABLE} AS before ANTI JOIN now USING (record_key)"""  # noqa: S608 - constants
    )
    changed = con.execute(f"SELECT count(*) FROM {STALE_TABLE} WHERE present").fetchall()[0][0]  # noqa: S608
    if records and changed > MAX_CHANGED_SHARE * records:
        return ScoringPlan("full", f"{changed:,} of {records:,} records changed", records, changed)
    return ScoringPlan("incremental", "same model and rules as the previous run", records, changed)


def _why_full(previous: PreviousRun, model_version: str, rules_hash: str, features_hash: str,
              full_refresh: bool) -> str:
    if full_refresh:
        return "full refresh asked for"
    if previous.model_version is None:
        return "no previous run"
    if previous.model_version != model_version:
        return "the model changed"
    if previous.rules_fingerprint != rules_hash:
        return "matching.yaml changed"
    if previous.features_fingerprint != features_hash:
        return "feature definitions or nicknames.yaml changed"
    if previous.duckdb_version != duckdb.__version__:
        return "DuckDB version changed (fingerprints are its hashes)"
    return ""


def read_changed(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """The FEATURE_INPUTS of the flagged records."""
    return con.sql(
        f"""SELECT {', '.join(FEATURE_INPUTS)} FROM {SOURCE_TABLE}
            WHERE record_key IN (SELECT record_key FROM {STALE_TABLE} WHERE present)
            ORDER BY record_key"""  # noqa: S608 - constants
    ).to_arrow_table()


def read_neighbours(con: duckdb.DuckDBPyConnection, changed: pa.Table,
                    blocking_rules: list[dict]) -> pa.Table:
    """Stored features of the unchanged records that share a block with a changed one.

    `changed`: the changed records' new features. Each rule is the model's own SQL over `l` and
    `r`, joined both ways round unless it is symmetric (only equalities of a column with itself,
    as `block_on` writes them)."""
    con.register("changed_arrow", changed)
    con.execute("CREATE OR REPLACE TEMP TABLE changed_features AS SELECT * FROM changed_arrow")
    con.unregister("changed_arrow")
    joins = []
    stored = STORED_FEATURES_TABLE
    for rule in blocking_rules:
        on = rule["blocking_rule"]  # SQL from the validated model, not from data
        joins.append(f"SELECT r.record_key FROM changed_features AS l JOIN {stored} AS r ON {on}")  # noqa: S608
        if not is_symmetric(on):
            joins.append(f"SELECT l.record_key FROM {stored} AS l JOIN changed_features AS r ON {on}")  # noqa: S608
    around = con.sql(
        f"""SELECT * FROM {STORED_FEATURES_TABLE}
            WHERE record_key IN ({' UNION '.join(joins)})
              AND record_key NOT IN (SELECT record_key FROM {STALE_TABLE})"""  # noqa: S608 - model SQL
    ).to_arrow_table()
    con.execute("DROP TABLE changed_features")
    return around


_SAME_COLUMN = re.compile(r'\(?\s*l\.("[^"]+")\s*=\s*r\.("[^"]+")\s*\)?')


def is_symmetric(blocking_rule: str) -> bool:
    """True for a conjunction of `l."c" = r."c"` (the same column on both sides), which pairs
    l with r exactly when it pairs r with l; anything else counts as not symmetric."""
    conjuncts = re.split(r"\s+AND\s+", blocking_rule.strip(), flags=re.IGNORECASE)
    for conjunct in conjuncts:
        match = _SAME_COLUMN.fullmatch(conjunct.strip())
        if not match or match.group(1) != match.group(2):
            return False
    return True


def read_stale(con: duckdb.DuckDBPyConnection) -> pa.Table:
    return con.sql(f"SELECT record_key, fingerprint, present FROM {STALE_TABLE}").to_arrow_table()  # noqa: S608


# --- writing (inside the caller's transaction) --------------------------------------------------


def write_features(con: duckdb.DuckDBPyConnection, plan: ScoringPlan, stored: pa.Table,
                   stale: pa.Table | None) -> None:
    """Keep identity.record_features and the fingerprints in step with int_person_records.

    Full: `stored` holds every record's features. Incremental: the flagged records' only."""
    for statement in STATE_DDL:
        con.execute(statement)
    con.register("features_arrow", stored)
    if plan.mode == "full":
        con.execute(f"CREATE OR REPLACE TABLE {STORED_FEATURES_TABLE} AS SELECT * FROM features_arrow")  # noqa: S608
        con.execute(f"DELETE FROM {FINGERPRINTS_TABLE}")  # noqa: S608 - constants
        con.execute(
            f"INSERT INTO {FINGERPRINTS_TABLE} SELECT record_key, {INPUTS_HASH_SQL} FROM {SOURCE_TABLE}"  # noqa: S608
        )
    else:
        con.register("stale_arrow", stale)
        for table in (STORED_FEATURES_TABLE, FINGERPRINTS_TABLE):
            con.execute(f"DELETE FROM {table} WHERE record_key IN (SELECT record_key FROM stale_arrow)")  # noqa: S608
        con.execute(f"INSERT INTO {STORED_FEATURES_TABLE} BY NAME SELECT * FROM features_arrow")  # noqa: S608
        con.execute(
            f"INSERT INTO {FINGERPRINTS_TABLE} SELECT record_key, fingerprint FROM stale_arrow WHERE present"  # noqa: S608
        )
        con.unregister("stale_arrow")
    con.unregister("features_arrow")


def write_pairs(con: duckdb.DuckDBPyConnection, plan: ScoringPlan, pairs: pa.Table,
                stale: pa.Table | None, *, model_version: str, run_id: str) -> None:
    """Store this run's scored pairs in identity.person_links.

    Full: replace every scored pair. Incremental: drop the scored pairs touching a stale record,
    then add `pairs`. Deterministic links are `links.store_deterministic_links`'s."""
    decisions = list(SCORED_DECISIONS)
    scored = f"decision IN ({', '.join('?' for _ in decisions)})"
    if plan.mode == "full":
        con.execute(f"DELETE FROM {LINKS_TABLE} WHERE {scored}", decisions)  # noqa: S608 - constants
    else:
        con.register("stale_arrow", stale)
        con.execute(
            f"""DELETE FROM {LINKS_TABLE} WHERE {scored} AND (
                    record_key_a IN (SELECT record_key FROM stale_arrow)
                    OR record_key_b IN (SELECT record_key FROM stale_arrow))""",  # noqa: S608 - constants
            decisions,
        )
        con.unregister("stale_arrow")
        plan.kept_pairs = con.execute(
            f"SELECT count(*) FROM {LINKS_TABLE} WHERE {scored}", decisions  # noqa: S608 - constants
        ).fetchall()[0][0]
    con.register("links_arrow", pairs)
    con.execute(
        f"INSERT INTO {LINKS_TABLE} SELECT *, ?, ? FROM links_arrow",  # noqa: S608 - constants
        [model_version, run_id],
    )
    con.unregister("links_arrow")


def save_state(con: duckdb.DuckDBPyConnection, *, model_version: str, rules_hash: str,
               features_hash: str, run_id: str) -> None:
    """Replace the state row (inside the caller's transaction, after `write_features`)."""
    for statement in STATE_DDL:
        con.execute(statement)
    con.execute(f"DELETE FROM {STATE_TABLE}")  # noqa: S608
    con.execute(
        f"""INSERT INTO {STATE_TABLE} (model_version, rules_fingerprint, duckdb_version, run_id,
                                       features_fingerprint) VALUES (?, ?, ?, ?, ?)""",  # noqa: S608
        [model_version, rules_hash, duckdb.__version__, run_id, features_hash],
    )


def clear_state(con: duckdb.DuckDBPyConnection) -> None:
    """Forget the previous run (the next one scores everything)."""
    if table_exists(con, STATE_TABLE):
        con.execute(f"DELETE FROM {STATE_TABLE}")  # noqa: S608
