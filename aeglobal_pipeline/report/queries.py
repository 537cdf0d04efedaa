"""Warehouse reads of the steward report: one temporary table of items per section.

Each section function checks the tables its section needs (a section whose tables do not exist
yet comes back as `missing` with the reason, never as an error), then builds the section's items
in DuckDB as a temporary table `report_<section>`, stored in impact order: the columns the page
and the CSV file read and `entity` (the legal entity the page cap counts against). Python never
sees the rows the page does not show. Only constant table names and SQL text are interpolated;
every value is a bound parameter.
"""

from dataclasses import dataclass, field
from typing import Any

import duckdb

from aeglobal_pipeline.identity import stable_ids
from aeglobal_pipeline.report.sql import DECIDED_TABLE, decide_command, decided_join

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
GOVERNANCE_ORDER = ["unmapped_status", "undeclared_field", "retention_exceeded", "cross_org_link",
                    "dangling_link", "invalid_email", "invalid_phone", "unknown_country", "suspected_typo"]
# Fields whose disagreement may mean two people were merged, so a cannot-link can be the answer.
IDENTITY_FIELDS = ("given_name", "family_name", "email", "birthdate")
CONTACT_FIELDS = ("phone", "mobile", "company")


@dataclass
class SectionTable:
    """Where one section's items are (`table`), or why there are none (`missing`)."""

    table: str | None = None
    missing: str | None = None
    context: dict[str, Any] = field(default_factory=dict)


def existing_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {
        f"{schema}.{name}"
        for schema, name in con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables"
        ).fetchall()
    }


def _missing(tables: set[str], needed: tuple[str, ...], hint: str) -> str | None:
    absent = [t for t in needed if t not in tables]
    return f"{', '.join(absent)} not in the warehouse yet: {hint}" if absent else None


def _create(con: duckdb.DuckDBPyConnection, table: str, select: str, params: dict | None = None) -> str:
    """The section's items as a temporary table. `select` ends in ORDER BY (impact order) and the
    table keeps that order: DuckDB preserves insertion order, and a scan of one table returns
    rows in it (https://duckdb.org/docs/stable/sql/dialect/order_preservation)."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {select}", params or {})
    return table


def _record_columns(side: str) -> str:
    """One record of a pair, in the form the page and the CSV show it."""
    rec = f"rec_{side}"
    return f"""
       concat_ws(' ', nullif({rec}.given_name, ''), nullif({rec}.family_name, '')) AS name_{side},
       {rec}.email AS email_{side}, {rec}.phone_e164 AS phone_{side}, {rec}.mobile_e164 AS mobile_{side},
       {rec}.company AS company_{side}, {rec}.country_code AS country_{side},
       trim(coalesce(nullif({rec}.source, ''), '?') || ' ' || coalesce({rec}.object, '')) AS source_{side},
       {rec}.region AS region_{side}, {rec}.legal_entity AS legal_entity_{side}"""


# Per comparison: "name: <level label> (+5.10)", labels bound as a map keyed "<comparison>\x1f<gamma>".
# Evidence repeats (one JSON per combination of levels), so each distinct value is read once.
_EVIDENCE_TEXT = """array_to_string(list_transform(
    map_entries(json_transform(evidence, '"MAP(VARCHAR, JSON)"')),
    lambda e: e.key || ': '
        || coalesce(map($label_keys::VARCHAR[], $label_values::VARCHAR[])[e.key || chr(31) || (e.value->>0)],
                    'level ' || (e.value->>0))
        || ' (' || format('{:+.2f}', (e.value->>1)::DOUBLE) || ')'), '; ')"""

UNCERTAIN_SQL = f"""
WITH pairs AS (
    SELECT l.record_key_a, l.record_key_b, l.match_weight, l.match_probability, l.evidence
    FROM {stable_ids.LINKS_TABLE} AS l
    {decided_join("d", "l.record_key_a", "l.record_key_b")}
    WHERE l.decision = 'grey_zone' AND d.kind IS NULL
),
keys AS (SELECT record_key_a AS record_key FROM pairs UNION SELECT record_key_b FROM pairs),
records AS (  -- each record of a pair once: one pass over the map and the records
    SELECT k.record_key, m.global_person_id, r.given_name, r.family_name, r.email, r.phone_e164,
           r.mobile_e164, r.company, r.country_code, r.source, r.object, r.region, r.legal_entity
    FROM keys AS k
    LEFT JOIN {stable_ids.MAP_TABLE} AS m ON m.record_key = k.record_key
    LEFT JOIN {PERSON_RECORDS} AS r ON r.record_key = k.record_key
),
sizes AS (
    SELECT global_person_id, count(*) AS records FROM {stable_ids.MAP_TABLE}
    WHERE global_person_id IN (SELECT global_person_id FROM records)
    GROUP BY ALL
),
evidence_texts AS (
    SELECT evidence, {_EVIDENCE_TEXT} AS evidence_text
    FROM (SELECT DISTINCT evidence FROM pairs WHERE evidence <> '')
),
items AS (
    SELECT p.record_key_a, p.record_key_b, p.match_probability, p.match_weight,
           rec_a.global_person_id IS NOT DISTINCT FROM rec_b.global_person_id AS linked,
           rec_a.global_person_id AS global_person_id_a, rec_b.global_person_id AS global_person_id_b,
           coalesce(size_a.records, 1)
             + CASE WHEN rec_a.global_person_id IS NOT DISTINCT FROM rec_b.global_person_id THEN 0
                    ELSE coalesce(size_b.records, 1) END AS records_affected,
           {_record_columns("a")}, {_record_columns("b")},
           p.evidence AS evidence_json
    FROM pairs AS p
    LEFT JOIN records AS rec_a ON rec_a.record_key = p.record_key_a
    LEFT JOIN records AS rec_b ON rec_b.record_key = p.record_key_b
    LEFT JOIN sizes AS size_a ON size_a.global_person_id = rec_a.global_person_id
    LEFT JOIN sizes AS size_b ON size_b.global_person_id = rec_b.global_person_id
)
SELECT i.*, e.evidence_text,
       {decide_command("must-link", "i.record_key_a", "i.record_key_b", "'same person: <reason>'")}
           AS must_link_command,
       {decide_command("cannot-link", "i.record_key_a", "i.record_key_b", "'different people: <reason>'")}
           AS cannot_link_command,
       coalesce(least(nullif(i.legal_entity_a, ''), nullif(i.legal_entity_b, '')), '') AS entity
FROM items AS i
LEFT JOIN evidence_texts AS e ON e.evidence = i.evidence_json
ORDER BY i.records_affected DESC, i.match_probability DESC, i.record_key_a, i.record_key_b
"""  # noqa: S608 - constant table names only

ALREADY_DECIDED_SQL = f"""
SELECT count(*) FROM {stable_ids.LINKS_TABLE} AS l
JOIN {DECIDED_TABLE} AS d ON d.key_lo = least(l.record_key_a, l.record_key_b)
                         AND d.key_hi = greatest(l.record_key_a, l.record_key_b)
WHERE l.decision = 'grey_zone'
"""  # noqa: S608 - constant table names only


def uncertain_matches(con: duckdb.DuckDBPyConnection, tables: set[str],
                      labels: dict[tuple[str, int], str]) -> SectionTable:
    """Grey-zone pairs not decided yet, both records and the evidence, most records affected first."""
    needed = (stable_ids.LINKS_TABLE, stable_ids.MAP_TABLE, PERSON_RECORDS)
    if missing := _missing(tables, needed, "identity resolution has not run"):
        return SectionTable(missing=missing)
    params = {"label_keys": [f"{name}\x1f{gamma}" for name, gamma in labels],
              "label_values": list(labels.values())}
    table = _create(con, "report_uncertain_matches", UNCERTAIN_SQL, params)
    already = con.execute(ALREADY_DECIDED_SQL).fetchall()[0][0]
    return SectionTable(table, context={"already_decided": already})


LARGE_CLUSTERS_SQL = f"""
WITH large AS (
    SELECT global_person_id FROM {stable_ids.MAP_TABLE} GROUP BY ALL HAVING count(*) >= $min_records
),
members AS (
    SELECT m.global_person_id, m.record_key, r.source, r.region, r.legal_entity,
           concat_ws(' ', r.given_name, r.family_name) AS name, r.family_name_norm
    FROM {stable_ids.MAP_TABLE} AS m
    JOIN large USING (global_person_id)
    LEFT JOIN {PERSON_RECORDS} AS r ON r.record_key = m.record_key
),
clusters AS (
    SELECT global_person_id, count(*) AS records, count(DISTINCT source) AS sources,
           count(DISTINCT family_name_norm) AS family_names,
           list_sort(list_distinct(list(region))) AS regions,
           list_sort(list_distinct(list(legal_entity))) AS legal_entities,
           list(record_key ORDER BY record_key) AS record_keys,
           list(coalesce(name, '') ORDER BY record_key) AS names
    FROM members GROUP BY ALL
),
weakest AS (
    SELECT map_a.global_person_id, l.record_key_a, l.record_key_b, l.match_weight
    FROM {stable_ids.LINKS_TABLE} AS l
    JOIN members AS map_a ON map_a.record_key = l.record_key_a
    JOIN members AS map_b ON map_b.record_key = l.record_key_b
    WHERE l.decision = 'accepted' AND map_a.global_person_id = map_b.global_person_id
    QUALIFY row_number() OVER (PARTITION BY map_a.global_person_id
                               ORDER BY l.match_weight, l.record_key_a, l.record_key_b) = 1
)
SELECT c.*, w.record_key_a AS weakest_a, w.record_key_b AS weakest_b, w.match_weight AS weakest_weight,
       coalesce(c.records >= $max_cluster_size, false) AS at_limit,
       d.kind AS decided,
       CASE WHEN w.record_key_a IS NULL THEN NULL WHEN d.kind IS NOT NULL THEN ''
            ELSE {decide_command("cannot-link", "w.record_key_a", "w.record_key_b",
                                 "'different people: <reason>'")} END AS cannot_link_command,
       coalesce(c.legal_entities[1], '') AS entity
FROM clusters AS c
LEFT JOIN weakest AS w USING (global_person_id)
{decided_join("d", "w.record_key_a", "w.record_key_b")}
ORDER BY c.records DESC, c.family_names DESC, c.global_person_id
"""  # noqa: S608 - constant table names only


def large_clusters(con: duckdb.DuckDBPyConnection, tables: set[str]) -> SectionTable:
    """Persons with the most records, with their weakest accepted link (the place to cut)."""
    needed = (stable_ids.MAP_TABLE, stable_ids.LINKS_TABLE, PERSON_RECORDS)
    if missing := _missing(tables, needed, "identity resolution has not run"):
        return SectionTable(missing=missing)
    limit = None
    if THRESHOLDS in tables:
        row = con.execute(f"SELECT max(max_cluster_size) FROM {THRESHOLDS}").fetchall()  # noqa: S608 - constant
        limit = row[0][0] if row else None
    table = _create(con, "report_large_clusters", LARGE_CLUSTERS_SQL,
                    {"min_records": LARGE_CLUSTER_MIN_RECORDS, "max_cluster_size": limit})
    return SectionTable(table, context={"max_cluster_size": limit,
                                        "min_records": LARGE_CLUSTER_MIN_RECORDS})


# Field conflicts: names and e-mail first (a wrong merge?), then contact fields, most losers first.
# Consent: possible re-subscriptions (a detail) first, then the most legal entities and losers.
_CONFLICT_ORDER = {
    "field_disagreement": """CASE WHEN list_contains($identity_fields, field) THEN 0
                                  WHEN list_contains($contact_fields, field) THEN 1 ELSE 2 END,
                             -coalesce(len(loser_record_keys), 0), global_person_id, field, conflict_id""",
    "consent_disagreement": """detail IS NULL, -coalesce(len(legal_entities), 0),
                               -coalesce(len(loser_record_keys), 0), global_person_id, field, conflict_id""",
}
# Which conflicts offer a cannot-link between the winner and the first loser, and why.
_CONFLICT_COMMAND = {
    "field_disagreement": ("list_contains($identity_fields, field)",
                           "'different people: ' || field || ' differs'"),
    "consent_disagreement": ("true", "'different people: a wrong link spreads consent'"),
}

SCOPES_TABLE = "report_scopes"
SCOPES_SQL = f"""
SELECT region, legal_entity, (row_number() OVER (ORDER BY region, legal_entity) - 1)::INTEGER AS code
FROM (SELECT DISTINCT region, legal_entity FROM {PERSON_RECORDS})
"""  # noqa: S608 - constant table name


def _conflicts_sql(conflict_type: str) -> str:
    """Conflicts of one type. The regions and legal entities a conflict touches are those of its
    records: with few distinct (region, legal entity) pairs ("scopes") in the warehouse, each
    conflict's scopes are a bit string, decoded once per distinct bit string."""
    applies, why = _CONFLICT_COMMAND[conflict_type]
    return f"""
WITH picked AS (  -- cid: a number to group and join on (cheaper than the conflict_id text)
    SELECT row_number() OVER () AS cid, conflict_id, global_person_id, field, winner_value,
           winner_record_key, loser_values, loser_record_keys, rule, detail
    FROM {CONFLICTS} WHERE conflict_type = $conflict_type
),
keys AS (
    SELECT cid, unnest(list_prepend(winner_record_key, loser_record_keys)) AS record_key FROM picked
),
record_scopes AS (
    SELECT r.record_key, s.code FROM {PERSON_RECORDS} AS r
    JOIN {SCOPES_TABLE} AS s ON s.region IS NOT DISTINCT FROM r.region
                            AND s.legal_entity IS NOT DISTINCT FROM r.legal_entity
),
masks AS (
    SELECT k.cid, bitstring_agg(rs.code, 0, $last_scope) AS mask
    FROM keys AS k JOIN record_scopes AS rs ON rs.record_key = k.record_key
    GROUP BY ALL
),
decoded AS (
    SELECT m.mask, list_sort(list_distinct(list(s.region))) AS regions,
           list_sort(list_distinct(list(s.legal_entity))) AS legal_entities
    FROM (SELECT DISTINCT mask FROM masks) AS m JOIN {SCOPES_TABLE} AS s ON get_bit(m.mask, s.code) = 1
    GROUP BY ALL
),
scoped AS (
    SELECT c.*, coalesce(d.regions, []) AS regions, coalesce(d.legal_entities, []) AS legal_entities
    FROM picked AS c LEFT JOIN masks AS m USING (cid) LEFT JOIN decoded AS d USING (mask)
)
SELECT i.* EXCLUDE (cid), d.kind AS decided,
       CASE WHEN NOT ({applies} AND coalesce(len(loser_record_keys), 0) > 0
                      AND coalesce(winner_record_key, '') <> '') THEN NULL
            WHEN d.kind IS NOT NULL THEN ''
            ELSE {decide_command("cannot-link", "winner_record_key", "loser_record_keys[1]", why)}
       END AS cannot_link_command,
       coalesce(legal_entities[1], '') AS entity
FROM scoped AS i
{decided_join("d", "i.winner_record_key", "i.loser_record_keys[1]")}
ORDER BY {_CONFLICT_ORDER[conflict_type]}
"""  # noqa: S608 - constant table names and SQL only


def conflicts(con: duckdb.DuckDBPyConnection, tables: set[str], conflict_type: str) -> SectionTable:
    """Field or consent disagreements (winner, losers, rule), with the regions they touch."""
    needed = (CONFLICTS, PERSON_RECORDS)
    if missing := _missing(tables, needed, "the governance marts have not been built"):
        return SectionTable(missing=missing)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {SCOPES_TABLE} AS {SCOPES_SQL}")
    last_scope = con.execute(f"SELECT count(*) - 1 FROM {SCOPES_TABLE}").fetchall()[0][0]  # noqa: S608
    sql = _conflicts_sql(conflict_type)
    params: dict[str, Any] = {"conflict_type": conflict_type, "last_scope": max(last_scope, 0)}
    if "$identity_fields" in sql:
        params["identity_fields"] = list(IDENTITY_FIELDS)
    if "$contact_fields" in sql:
        params["contact_fields"] = list(CONTACT_FIELDS)
    table = "report_field_conflicts" if conflict_type == "field_disagreement" else "report_consent"
    return SectionTable(_create(con, table, sql, params))


FINDINGS_SQL = f"""
SELECT f.finding_id, f.finding_type, f.source, f.object, f.region, s.legal_entity, f.subject,
       f.record_count, f.detail,
       CASE f.finding_type
           WHEN 'unmapped_status' THEN 'map it in identity_rules/lifecycle.yaml (status_map.'
               || coalesce(f.region::VARCHAR, 'None') || '.' || coalesce(f.object::VARCHAR, 'None') || ')'
           WHEN 'undeclared_field'
               THEN 'declare it in identity_rules/field_dictionary.yaml or drop it at the source'
           WHEN 'retention_exceeded' THEN 'review these persons for deletion (consent.yaml retention)'
           WHEN 'cross_org_link'
               THEN 'point the link at the connected CRM''s record, or unlink it, in the source'
           WHEN 'dangling_link' THEN 'fix or clear the link in the source record'
           WHEN 'invalid_email' THEN 'correct or clear the value in the source record'
           WHEN 'invalid_phone' THEN 'correct or clear the value in the source record'
           WHEN 'unknown_country' THEN 'correct the value, or add the spelling to seeds/country_aliases.csv'
           WHEN 'suspected_typo'
               THEN 'confirm the address with the person: correct it in the source record, or leave it'
           ELSE 'review' END AS action,
       coalesce(s.legal_entity, '') AS entity
FROM {FINDINGS} AS f LEFT JOIN {SOURCE_SYSTEMS} AS s ON s.source = f.source
ORDER BY coalesce(list_position($order::VARCHAR[], f.finding_type), 99), f.record_count DESC, f.source,
         f.object, f.subject
"""  # noqa: S608 - constant table names only


def governance_findings(con: duckdb.DuckDBPyConnection, tables: set[str]) -> SectionTable:
    """Unmapped statuses, undeclared regional fields (and retention), most records first."""
    needed = (FINDINGS, SOURCE_SYSTEMS)
    if missing := _missing(tables, needed, "the governance marts have not been built"):
        return SectionTable(missing=missing)
    return SectionTable(_create(con, "report_governance_findings", FINDINGS_SQL,
                                {"order": GOVERNANCE_ORDER}))


LAST_APPLY_SQL = f"""
SELECT run_id, finished_at FROM {WRITEBACK_RUNS}
WHERE kind = 'apply' AND finished_at IS NOT NULL ORDER BY finished_at DESC LIMIT 1
"""  # noqa: S608 - constant table name

# `at` as Python prints a timestamp with a time zone: microseconds only when there are some.
_AT_TEXT = """strftime(l."at", '%Y-%m-%d %H:%M:%S')
    || CASE WHEN microsecond(l."at") % 1000000 = 0 THEN '' ELSE strftime(l."at", '.%f') END
    || CASE WHEN length(strftime(l."at", '%z')) = 3 THEN strftime(l."at", '%z') || ':00'
            ELSE strftime(l."at", '%z') END"""

REJECTS_SQL = f"""
SELECT l.run_id, l.source, s.region, s.legal_entity, l.object, l.record_id,
       l.source || ':' || l.object || ':' || l.record_id AS record_key, l.field, l.old_value,
       l.new_value, l.rule, l.status, l.error, l."at", {_AT_TEXT} AS at_text,
       coalesce(s.legal_entity, '') AS entity,
       count(*) OVER (PARTITION BY split_part(coalesce(l.error, ''), ':', 1)) AS same_error
FROM {CHANGES_LOG} AS l LEFT JOIN {SOURCE_SYSTEMS} AS s ON s.source = l.source
WHERE l.run_id = $run_id AND l.status IN (SELECT unnest($statuses::VARCHAR[]))
"""  # noqa: S608 - constant table names only


REJECTS_ORDERED_SQL = f"""
SELECT * EXCLUDE (same_error) FROM ({REJECTS_SQL})
ORDER BY same_error DESC, error, source, object, record_id, field
"""  # noqa: S608 - constant SQL only


def writeback_rejects(con: duckdb.DuckDBPyConnection, tables: set[str]) -> SectionTable:
    """Rejected field writes of the latest applied write-back, most common error first."""
    needed = (CHANGES_LOG, WRITEBACK_RUNS, SOURCE_SYSTEMS)
    if missing := _missing(tables, needed, "no write-back has run (`aeglobal run --apply`)"):
        return SectionTable(missing=missing)
    last = con.execute(LAST_APPLY_SQL).fetchall()
    if not last:
        return SectionTable(missing="no applied write-back yet: dry runs write nothing "
                                    "(`aeglobal run --apply` writes)")
    run_id, finished_at = last[0]
    table = _create(con, "report_writeback_rejects", REJECTS_ORDERED_SQL,
                    {"run_id": run_id, "statuses": REJECTED_STATUSES})
    return SectionTable(table, context={"run_id": run_id, "finished_at": finished_at})


def model_version_of_links(con: duckdb.DuckDBPyConnection, tables: set[str]) -> str | None:
    if stable_ids.LINKS_TABLE not in tables:
        return None
    rows = con.execute(
        f"SELECT any_value(model_version) FROM {stable_ids.LINKS_TABLE} "  # noqa: S608 - constant table
        "WHERE model_version IS NOT NULL"
    ).fetchall()
    return rows[0][0] if rows else None
