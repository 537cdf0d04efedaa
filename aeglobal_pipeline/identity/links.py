"""Scored pairs (Splink prediction with per-comparison evidence) and deterministic must-links.

- `score_pairs`, on the in-memory matching database (see `identity.features`), predicts every
  blocked pair above the grey-zone lower bound (and every pair a link_on rule names) into
  PAIRS_TABLE with a decision: `accepted` (at or above the match threshold, or at the levels of
  a link_on rule whatever the score), `grey_zone` (for stewards), or `vetoed` (at a never_link_on
  level, e.g. different given names: colleagues and relatives), or `kept_apart` (vetoed by a
  rule that also holds across chains: clustering treats it as a cannot-link).
- `deterministic_links` collects links the systems themselves assert into MUST_TABLE — a
  converted lead and its contact, a prospect and the CRM lead/contact its connector names, records
  already carrying the same written-back global id — each sanity-checked on names: an AE
  prospect keyed by a role mailbox may point at another person's CRM record. It is plain SQL
  (no Splink), so the links step runs it on the warehouse itself, over int_person_records and the
  stored features; `store_deterministic_links` then updates only the rows that changed.
"""

from __future__ import annotations

import json
from typing import Any

import duckdb

from aeglobal_pipeline.identity.features import FEATURES_TABLE, RECORDS_TABLE
from aeglobal_pipeline.identity.model import ModelArtefact, prediction_linker
from aeglobal_pipeline.identity.settings import MatchingRules

PAIRS_TABLE = "scored_pairs"
LEVELS_TABLE = "comparison_levels"
MUST_TABLE = "deterministic_links"
# A pair vetoed by a never_link_on rule marked across_chains: clustering keeps it apart.
KEPT_APART = "kept_apart"
# Pairs a link_on rule accepts are scored down to this match probability (not below the grey zone).
LINK_ON_FLOOR = 1e-4

# Deterministic links are asserted by the systems, so the check only rejects names that share
# nothing at all: no part in common, no part close to any part of the other, no nickname.
NAMES_COMPATIBLE_SQL = """
    l.name_script <> r.name_script
    OR (l.given_name_norm IS NULL AND l.family_name_norm IS NULL)
    OR (r.given_name_norm IS NULL AND r.family_name_norm IS NULL)
    OR len(list_intersect(l.name_tokens, r.name_tokens)) > 0
    OR list_has_any(l.given_nick_groups, r.given_nick_groups)
    OR jaro_winkler_similarity(l.given_name_norm, r.given_name_norm) >= 0.85
    OR jaro_winkler_similarity(l.family_name_norm, r.family_name_norm) >= 0.85
    OR jaro_winkler_similarity(l.given_name_norm, r.family_name_norm) >= 0.85
    OR jaro_winkler_similarity(l.family_name_norm, r.given_name_norm) >= 0.85
"""


def comparison_levels(model: dict[str, Any]) -> list[tuple[str, int, str]]:
    """(comparison, gamma, label) for every level of a saved Splink model."""
    rows = []
    for comparison in model["comparisons"]:
        levels = comparison["comparison_levels"]
        non_null = [level for level in levels if not level.get("is_null_level")]
        for level in levels:
            gamma = -1 if level.get("is_null_level") else len(non_null) - 1 - non_null.index(level)
            label = level.get("label_for_charts") or level.get("sql_condition", "")
            rows.append((comparison["output_column_name"], gamma, label))
    return rows


def score_pairs(
    memory: duckdb.DuckDBPyConnection, artefact: ModelArtefact, rules: MatchingRules,
    *, only_flagged: str | None = None,
) -> int:
    """Predict blocked pairs into PAIRS_TABLE; returns the number of pairs kept.

    With `only_flagged` (a boolean column of the feature table), only pairs with a flagged record
    on at least one side: every blocking rule gets `AND (l.flag OR r.flag)`, so the pairs are
    exactly the full run's pairs that touch a flagged record, scored the same way."""
    model = artefact.splink_model()
    settings = model
    if only_flagged:
        flag = f'(l."{only_flagged}" OR r."{only_flagged}")'  # a constant column name
        settings = {**model, "blocking_rules_to_generate_predictions": [
            {**rule, "blocking_rule": f"({rule['blocking_rule']}) AND {flag}"}
            for rule in model["blocking_rules_to_generate_predictions"]
        ]}
    linker = prediction_linker(memory, artefact, settings)
    lower = rules.thresholds.grey_zone_lower
    # A link_on pair is kept whatever its score; below the floor only a contradiction the model
    # treats as certain (another country) pulls it, and scoring every blocked pair would cost more.
    floor = min(lower, LINK_ON_FLOOR) if rules.link_on else lower
    predictions = linker.inference.predict(threshold_match_probability=floor)
    names = [c["output_column_name"] for c in model["comparisons"]]
    # Identifiers below come from the validated model (pattern ^[a-z][a-z0-9_]*$), never from data.
    evidence = ", ".join(f"'{n}', json_array(gamma_{n}, round(mw_{n}, 3))" for n in names)
    vetoed, apart = (
        " OR ".join(_veto_sql(when, unless)
                    for when, unless in rules.veto_conditions(across_chains=chains, model=model))
        or "false"
        for chains in (False, True)
    )
    linked = " OR ".join(_veto_sql(when, []) for when in rules.link_conditions()) or "false"
    memory.execute(
        f"""
        CREATE OR REPLACE TABLE {PAIRS_TABLE} AS
        SELECT
            least(record_key_l, record_key_r) AS record_key_a,
            greatest(record_key_l, record_key_r) AS record_key_b,
            match_weight, match_probability,
            CASE WHEN {apart} THEN '{KEPT_APART}'
                 WHEN {vetoed} THEN 'vetoed'
                 WHEN match_probability >= ? OR {linked} THEN 'accepted'
                 ELSE 'grey_zone' END AS decision,
            CAST(json_object({evidence}) AS VARCHAR) AS evidence
        FROM {predictions.physical_name}
        WHERE match_probability >= ? OR {linked}
        """,  # noqa: S608 - identifiers from the validated model, the thresholds are bound
        [rules.thresholds.match_probability, lower],
    )
    memory.execute(
        f"CREATE OR REPLACE TABLE {LEVELS_TABLE} (comparison VARCHAR, gamma INTEGER, label VARCHAR)"
    )
    memory.executemany(f"INSERT INTO {LEVELS_TABLE} VALUES (?, ?, ?)", comparison_levels(model))  # noqa: S608
    linker.table_management.delete_tables_created_by_splink_from_db()
    return memory.execute(f"SELECT count(*) FROM {PAIRS_TABLE}").fetchall()[0][0]  # noqa: S608


def _veto_sql(when: dict[str, list[int]], unless: list[dict[str, list[int]]]) -> str:
    # Comparison names are validated identifiers, gammas are ints: no data reaches this SQL.
    def all_of(levels: dict[str, list[int]]) -> str:
        return " AND ".join(
            f"gamma_{name} IN ({', '.join(str(int(g)) for g in gs)})" for name, gs in levels.items()
        )

    condition = all_of(when)
    if unless:
        condition += " AND NOT (" + " OR ".join(f"({all_of(group)})" for group in unless) + ")"
    return f"({condition})"


def deterministic_links(
    con: duckdb.DuckDBPyConnection, records: str = RECORDS_TABLE, features: str = FEATURES_TABLE
) -> dict[str, int]:
    """Build the temp table MUST_TABLE(record_key_a, record_key_b, kind, names_compatible) from
    the `records` and `features` tables of `con` (constant names); counts by kind.

    The links step runs it on the warehouse (int_person_records and identity.record_features):
    it reads every record, but only a few columns, and never leaves DuckDB."""
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {MUST_TABLE} AS
        WITH asserted AS (
            SELECT record_key AS a, converted_contact_key AS b, 'converted_lead' AS kind
            FROM {records} WHERE converted_contact_key IS NOT NULL
            UNION ALL
            SELECT record_key, crm_lead_key, 'connector_link' FROM {records}
            WHERE crm_lead_key IS NOT NULL
            UNION ALL
            SELECT record_key, crm_contact_key, 'connector_link' FROM {records}
            WHERE crm_contact_key IS NOT NULL
            UNION ALL
            -- every record carrying a written-back id joins the first record carrying it
            SELECT record_key,
                   min(record_key) OVER (PARTITION BY written_global_person_id),
                   'written_global_id'
            FROM {records} WHERE written_global_person_id IS NOT NULL
        )
        SELECT DISTINCT
            least(s.a, s.b) AS record_key_a, greatest(s.a, s.b) AS record_key_b, s.kind,
            coalesce({NAMES_COMPATIBLE_SQL}, false) AS names_compatible
        FROM asserted AS s
        JOIN {features} AS l ON l.record_key = s.a
        JOIN {features} AS r ON r.record_key = s.b  -- the named record must exist
        WHERE s.a <> s.b
        """  # noqa: S608 - constant identifiers only
    )
    rows = con.execute(
        f"SELECT kind, names_compatible, count(*) FROM {MUST_TABLE} GROUP BY ALL"  # noqa: S608
    ).fetchall()
    counts: dict[str, int] = {}
    for kind, compatible, n in rows:
        key = kind if compatible else f"{kind}_rejected_names_differ"
        counts[key] = counts.get(key, 0) + int(n)
    return counts


def store_deterministic_links(con: duckdb.DuckDBPyConnection, links_table: str, scored: tuple[str, ...],
                              *, model_version: str, run_id: str) -> None:
    """Make the deterministic rows of `links_table` those of MUST_TABLE (a `must_link:<kind>` or
    `rejected_must_link:<kind>` decision): rows that did not change keep their run_id."""
    marks = ", ".join("?" for _ in scored)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE deterministic_rows AS
            SELECT record_key_a, record_key_b, NULL::DOUBLE AS match_weight, 1.0::DOUBLE AS match_probability,
                   CASE WHEN names_compatible THEN 'must_link:' ELSE 'rejected_must_link:' END || kind
                       AS decision,
                   NULL::VARCHAR AS evidence
            FROM {MUST_TABLE}"""  # noqa: S608 - constants
    )
    con.execute(
        f"""DELETE FROM {links_table} AS t WHERE decision NOT IN ({marks}) AND NOT EXISTS (
                SELECT 1 FROM deterministic_rows AS d
                WHERE d.record_key_a = t.record_key_a AND d.record_key_b = t.record_key_b
                  AND d.decision = t.decision)""",  # noqa: S608 - constants
        list(scored),
    )
    con.execute(
        f"""INSERT INTO {links_table}
            SELECT d.*, ?, ? FROM deterministic_rows AS d
            WHERE NOT EXISTS (
                SELECT 1 FROM {links_table} AS t
                WHERE t.decision NOT IN ({marks}) AND d.record_key_a = t.record_key_a
                  AND d.record_key_b = t.record_key_b AND d.decision = t.decision)""",  # noqa: S608
        [model_version, run_id, *scored],
    )


def evidence_labels(memory: duckdb.DuckDBPyConnection, evidence: str) -> dict[str, Any]:
    """Readable evidence of one pair: comparison → {level, match_weight}."""
    parsed = json.loads(evidence)
    labels = dict(
        ((c, g), label)
        for c, g, label in memory.execute(f"SELECT comparison, gamma, label FROM {LEVELS_TABLE}").fetchall()  # noqa: S608
    )
    return {
        name: {"level": labels.get((name, gamma), str(gamma)), "match_weight": weight}
        for name, (gamma, weight) in parsed.items()
    }
