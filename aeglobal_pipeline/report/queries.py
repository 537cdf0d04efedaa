"""Warehouse reads of the steward report: one query per section, all rows, impact order.

Each query names the tables it needs; a section whose tables do not exist yet (no write-back
run, identity not resolved) comes back as `missing` with the reason, never as an error. Only
constant table names are interpolated; every value is a bound parameter.
"""

from dataclasses import dataclass, field
from typing import Any

import duckdb

from aeglobal_pipeline.identity import stable_ids

PERSON_RECORDS = "intermediate.int_person_records"
CONFLICTS = "marts.identity_conflicts"
FINDINGS = "marts.governance_findings"
SOURCE_SYSTEMS = "raw.source_systems"
THRESHOLDS = "rules.identity_thresholds"
CHANGES_LOG = "writeback.changes_log"
WRITEBACK_RUNS = "writeback.runs"

# A person with this many records is worth a look even below matching.yaml's max_cluster_size:
# one human rarely has more than a Lead, a Contact and a Prospect per region.
LARGE_CLUSTER_MIN_RECORDS = 4
REJECTED_STATUSES = ["rejected", "failed"]
GOVERNANCE_ORDER = ["unmapped_status", "undeclared_field", "retention_exceeded"]


@dataclass
class SectionRows:
    """What one query returned: every row (dicts, impact order) or why there is none."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    missing: str | None = None
    context: dict[str, Any] = field(default_factory=dict)


def existing_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {
        f"{schema}.{name}"
        for schema, name in con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables"
        ).fetchall()
    }


def _fetch(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[dict[str, Any]]:
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _missing(tables: set[str], needed: tuple[str, ...], hint: str) -> str | None:
    absent = [t for t in needed if t not in tables]
    return f"{', '.join(absent)} not in the warehouse yet: {hint}" if absent else None


def _record_columns(alias: str, suffix: str) -> str:
    return ", ".join(
        f"{alias}.{column} AS {column}_{suffix}"
        for column in ("given_name", "family_name", "email", "phone_e164", "mobile_e164", "company",
                       "country_code", "source", "object", "region", "legal_entity")
    )


UNCERTAIN_SQL = f"""
WITH sizes AS (
    SELECT global_person_id, count(*) AS records FROM {stable_ids.MAP_TABLE} GROUP BY ALL
)
SELECT l.record_key_a, l.record_key_b, l.match_weight, l.match_probability, l.evidence,
       l.model_version, map_a.global_person_id AS person_a, map_b.global_person_id AS person_b,
       map_a.global_person_id IS NOT DISTINCT FROM map_b.global_person_id AS linked,
       coalesce(size_a.records, 1)
         + CASE WHEN map_a.global_person_id IS NOT DISTINCT FROM map_b.global_person_id THEN 0
                ELSE coalesce(size_b.records, 1) END AS records_affected,
       {_record_columns("rec_a", "a")}, {_record_columns("rec_b", "b")}
FROM {stable_ids.LINKS_TABLE} AS l
LEFT JOIN {stable_ids.MAP_TABLE} AS map_a ON map_a.record_key = l.record_key_a
LEFT JOIN {stable_ids.MAP_TABLE} AS map_b ON map_b.record_key = l.record_key_b
LEFT JOIN sizes AS size_a ON size_a.global_person_id = map_a.global_person_id
LEFT JOIN sizes AS size_b ON size_b.global_person_id = map_b.global_person_id
LEFT JOIN {PERSON_RECORDS} AS rec_a ON rec_a.record_key = l.record_key_a
LEFT JOIN {PERSON_RECORDS} AS rec_b ON rec_b.record_key = l.record_key_b
WHERE l.decision = 'grey_zone'
ORDER BY records_affected DESC, l.match_probability DESC, l.record_key_a, l.record_key_b
"""  # noqa: S608 - constant table names only


def uncertain_matches(con: duckdb.DuckDBPyConnection, tables: set[str]) -> SectionRows:
    """Grey-zone pairs with both records and the Splink evidence, most records affected first."""
    needed = (stable_ids.LINKS_TABLE, stable_ids.MAP_TABLE, PERSON_RECORDS)
    if missing := _missing(tables, needed, "identity resolution has not run"):
        return SectionRows(missing=missing)
    return SectionRows(rows=_fetch(con, UNCERTAIN_SQL))


LARGE_CLUSTERS_SQL = f"""
WITH members AS (
    SELECT m.global_person_id, m.record_key, r.source, r.region, r.legal_entity,
           concat_ws(' ', r.given_name, r.family_name) AS name, r.family_name_norm
    FROM {stable_ids.MAP_TABLE} AS m
    LEFT JOIN {PERSON_RECORDS} AS r ON r.record_key = m.record_key
),
clusters AS (
    SELECT global_person_id, count(*) AS records, count(DISTINCT source) AS sources,
           count(DISTINCT family_name_norm) AS family_names,
           list_sort(list(DISTINCT region) FILTER (WHERE region IS NOT NULL)) AS regions,
           list_sort(list(DISTINCT legal_entity) FILTER (WHERE legal_entity IS NOT NULL)) AS legal_entities,
           list(record_key ORDER BY record_key) AS record_keys,
           list(coalesce(name, '') ORDER BY record_key) AS names
    FROM members GROUP BY ALL HAVING count(*) >= ?
),
weakest AS (
    SELECT map_a.global_person_id, l.record_key_a, l.record_key_b, l.match_weight
    FROM {stable_ids.LINKS_TABLE} AS l
    JOIN {stable_ids.MAP_TABLE} AS map_a ON map_a.record_key = l.record_key_a
    JOIN {stable_ids.MAP_TABLE} AS map_b ON map_b.record_key = l.record_key_b
    WHERE l.decision = 'accepted' AND map_a.global_person_id = map_b.global_person_id
    QUALIFY row_number() OVER (PARTITION BY map_a.global_person_id
                               ORDER BY l.match_weight, l.record_key_a, l.record_key_b) = 1
)
SELECT c.*, w.record_key_a AS weakest_a, w.record_key_b AS weakest_b, w.match_weight AS weakest_weight
FROM clusters AS c LEFT JOIN weakest AS w USING (global_person_id)
ORDER BY c.records DESC, c.family_names DESC, c.global_person_id
"""  # noqa: S608 - constant table names only


def large_clusters(con: duckdb.DuckDBPyConnection, tables: set[str]) -> SectionRows:
    """Persons with the most records, with their weakest accepted link (the place to cut)."""
    needed = (stable_ids.MAP_TABLE, stable_ids.LINKS_TABLE, PERSON_RECORDS)
    if missing := _missing(tables, needed, "identity resolution has not run"):
        return SectionRows(missing=missing)
    limit = None
    if THRESHOLDS in tables:
        row = con.execute(f"SELECT max(max_cluster_size) FROM {THRESHOLDS}").fetchall()  # noqa: S608 - constant
        limit = row[0][0] if row else None
    rows = _fetch(con, LARGE_CLUSTERS_SQL, [LARGE_CLUSTER_MIN_RECORDS])
    return SectionRows(rows=rows, context={"max_cluster_size": limit,
                                           "min_records": LARGE_CLUSTER_MIN_RECORDS})


CONFLICTS_SQL = f"""
WITH keys AS (
    SELECT conflict_id, unnest(list_prepend(winner_record_key, loser_record_keys)) AS record_key
    FROM {CONFLICTS} WHERE conflict_type = ?
),
scope AS (
    SELECT k.conflict_id,
           list_sort(list(DISTINCT r.region) FILTER (WHERE r.region IS NOT NULL)) AS regions,
           list_sort(list(DISTINCT r.legal_entity) FILTER (WHERE r.legal_entity IS NOT NULL))
               AS legal_entities
    FROM keys AS k JOIN {PERSON_RECORDS} AS r ON r.record_key = k.record_key
    GROUP BY ALL
)
SELECT c.conflict_id, c.global_person_id, c.field, c.winner_value, c.winner_record_key,
       c.loser_values, c.loser_record_keys, c.rule, c.detail, s.regions, s.legal_entities
FROM {CONFLICTS} AS c LEFT JOIN scope AS s USING (conflict_id)
WHERE c.conflict_type = ?
ORDER BY c.global_person_id, c.field
"""  # noqa: S608 - constant table names only


def conflicts(con: duckdb.DuckDBPyConnection, tables: set[str], conflict_type: str) -> SectionRows:
    """Field or consent disagreements (winner, losers, rule), with the regions they touch."""
    needed = (CONFLICTS, PERSON_RECORDS)
    if missing := _missing(tables, needed, "the governance marts have not been built"):
        return SectionRows(missing=missing)
    return SectionRows(rows=_fetch(con, CONFLICTS_SQL, [conflict_type, conflict_type]))


FINDINGS_SQL = f"""
SELECT f.finding_id, f.finding_type, f.source, f.object, f.region, s.legal_entity, f.subject,
       f.record_count, f.detail
FROM {FINDINGS} AS f LEFT JOIN {SOURCE_SYSTEMS} AS s ON s.source = f.source
ORDER BY coalesce(list_position(?::VARCHAR[], f.finding_type), 99), f.record_count DESC,
         f.source, f.object, f.subject
"""  # noqa: S608 - constant table names only


def governance_findings(con: duckdb.DuckDBPyConnection, tables: set[str]) -> SectionRows:
    """Unmapped statuses, undeclared regional fields (and retention), most records first."""
    needed = (FINDINGS, SOURCE_SYSTEMS)
    if missing := _missing(tables, needed, "the governance marts have not been built"):
        return SectionRows(missing=missing)
    return SectionRows(rows=_fetch(con, FINDINGS_SQL, [GOVERNANCE_ORDER]))


LAST_APPLY_SQL = f"""
SELECT run_id, finished_at FROM {WRITEBACK_RUNS}
WHERE kind = 'apply' AND finished_at IS NOT NULL ORDER BY finished_at DESC LIMIT 1
"""  # noqa: S608 - constant table name

REJECTS_SQL = f"""
SELECT l.run_id, l.source, s.region, s.legal_entity, l.object, l.record_id,
       l.source || ':' || l.object || ':' || l.record_id AS record_key, l.field, l.old_value,
       l.new_value, l.rule, l.status, l.error, l."at",
       count(*) OVER (PARTITION BY split_part(coalesce(l.error, ''), ':', 1)) AS same_error
FROM {CHANGES_LOG} AS l LEFT JOIN {SOURCE_SYSTEMS} AS s ON s.source = l.source
WHERE l.run_id = ? AND l.status IN (SELECT unnest(?::VARCHAR[]))
ORDER BY same_error DESC, l.error, l.source, l.object, l.record_id, l.field
"""  # noqa: S608 - constant table names only


def writeback_rejects(con: duckdb.DuckDBPyConnection, tables: set[str]) -> SectionRows:
    """Rejected field writes of the latest applied write-back, most common error first."""
    needed = (CHANGES_LOG, WRITEBACK_RUNS, SOURCE_SYSTEMS)
    if missing := _missing(tables, needed, "no write-back has run (`aeglobal run --apply`)"):
        return SectionRows(missing=missing)
    last = con.execute(LAST_APPLY_SQL).fetchall()
    if not last:
        return SectionRows(missing="no applied write-back yet: dry runs write nothing "
                                   "(`aeglobal run --apply` writes)")
    run_id, finished_at = last[0]
    rows = _fetch(con, REJECTS_SQL, [run_id, REJECTED_STATUSES])
    return SectionRows(rows=rows, context={"run_id": run_id, "finished_at": finished_at})


def model_version_of_links(con: duckdb.DuckDBPyConnection, tables: set[str]) -> str | None:
    if stable_ids.LINKS_TABLE not in tables:
        return None
    rows = con.execute(
        f"SELECT any_value(model_version) FROM {stable_ids.LINKS_TABLE} "  # noqa: S608 - constant table
        "WHERE model_version IS NOT NULL"
    ).fetchall()
    return rows[0][0] if rows else None


def read_all(con: duckdb.DuckDBPyConnection) -> tuple[dict[str, SectionRows], str | None]:
    """Every section's rows (by section key) and the model version the links came from."""
    tables = existing_tables(con)
    sections = {
        "uncertain_matches": uncertain_matches(con, tables),
        "large_clusters": large_clusters(con, tables),
        "field_conflicts": conflicts(con, tables, "field_disagreement"),
        "consent_disagreements": conflicts(con, tables, "consent_disagreement"),
        "governance_findings": governance_findings(con, tables),
        "writeback_rejects": writeback_rejects(con, tables),
    }
    return sections, model_version_of_links(con, tables)
