"""A small warehouse with every table the steward report reads, for fast unit tests.

Identity and write-back tables are created by the project's own DDL (`stable_ids`, `audit`),
raw.source_systems by `write_source_systems`; the dbt marts are stand-ins with the columns the
report reads. The browser test runs the real pipeline instead.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
from snapshot_helpers import DEFAULT_SOURCES

from aeglobal_pipeline.config import SourcesFile
from aeglobal_pipeline.identity import stable_ids
from aeglobal_pipeline.sources.raw_views import write_source_systems
from aeglobal_pipeline.writeback import audit

EMEA, NA = "Northwind Europe GmbH", "Northwind Inc."
# record_key, source, object, region, legal_entity, given, family, email, company
RECORDS = [
    ("crm_emea:Lead:L1", "crm_emea", "Lead", "EMEA", EMEA, "Anna", "Schmidt", "anna@acme.de", "Acme GmbH"),
    ("ae_emea:Prospect:P1", "ae_emea", "Prospect", "EMEA", EMEA, "Ann", "Schmid", "anna@acme.de", "Acme"),
    ("crm_emea:Contact:C1", "crm_emea", "Contact", "EMEA", EMEA, "Anna", "Schmidt", "a.s@acme.de", "Acme"),
    ("crm_emea:Contact:C2", "crm_emea", "Contact", "EMEA", EMEA, "Hanna", "Schulz", "h@acme.de", "Acme"),
    ("crm_na:Lead:N1", "crm_na", "Lead", "NA", NA, "Ann", "Smith", "ann@globex.com", "Globex"),
]
PERSONS = {"crm_emea:Lead:L1": "GP-A", "ae_emea:Prospect:P1": "GP-A", "crm_emea:Contact:C1": "GP-A",
           "crm_emea:Contact:C2": "GP-A", "crm_na:Lead:N1": "GP-B"}
EVIDENCE = json.dumps({"name": [6, 5.1], "email": [0, -2.25]})
LINKS = [
    ("crm_emea:Lead:L1", "crm_na:Lead:N1", 0.8, 0.7, "grey_zone", EVIDENCE),
    ("ae_emea:Prospect:P1", "crm_emea:Lead:L1", 12.0, 0.999, "accepted", EVIDENCE),
    ("crm_emea:Contact:C1", "crm_emea:Contact:C2", 3.0, 0.96, "accepted", EVIDENCE),
    ("crm_emea:Contact:C1", "crm_emea:Lead:L1", 9.0, 0.99, "accepted", EVIDENCE),
]


def _create_marts(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS intermediate")
    con.execute("CREATE SCHEMA IF NOT EXISTS marts")
    con.execute("CREATE SCHEMA IF NOT EXISTS rules")
    con.execute(
        """CREATE TABLE intermediate.int_person_records (
            record_key VARCHAR, source VARCHAR, object VARCHAR, region VARCHAR, legal_entity VARCHAR,
            given_name VARCHAR, family_name VARCHAR, family_name_norm VARCHAR, email VARCHAR,
            phone_e164 VARCHAR, mobile_e164 VARCHAR, company VARCHAR, country_code VARCHAR)"""
    )
    con.execute(
        """CREATE TABLE marts.identity_conflicts (
            conflict_id VARCHAR, conflict_type VARCHAR, global_person_id VARCHAR, field VARCHAR,
            winner_value VARCHAR, winner_record_key VARCHAR, loser_values VARCHAR[],
            loser_record_keys VARCHAR[], rule VARCHAR, record_key_a VARCHAR, record_key_b VARCHAR,
            match_probability DOUBLE, cluster_size BIGINT, detail VARCHAR)"""
    )
    con.execute(
        """CREATE TABLE marts.governance_findings (
            finding_id VARCHAR, finding_type VARCHAR, source VARCHAR, object VARCHAR, region VARCHAR,
            subject VARCHAR, record_count BIGINT, detail VARCHAR)"""
    )
    con.execute("CREATE TABLE rules.identity_thresholds AS SELECT 0.5 AS grey_zone_lower, "
                "0.95 AS match_probability, 4 AS max_cluster_size")


def conflict(conflict_id: str, kind: str, person: str, field: str, winner: tuple[str, str],
             losers: list[tuple[str, str]], detail: str | None = None) -> tuple:
    return (conflict_id, kind, person, field, winner[1], winner[0], [v for _, v in losers],
            [k for k, _ in losers], f"rule for {field}", None, None, None, None, detail)


CONFLICTS = [
    conflict("f1", "field_disagreement", "GP-A", "phone", ("crm_emea:Lead:L1", "+4930111"),
             [("ae_emea:Prospect:P1", "+4930222"), ("crm_emea:Contact:C1", "+4930333")]),
    conflict("f2", "field_disagreement", "GP-A", "given_name", ("crm_emea:Lead:L1", "Anna"),
             [("ae_emea:Prospect:P1", "Ann")]),
    conflict("c1", "consent_disagreement", "GP-A", "email_opt_out", ("ae_emea:Prospect:P1", "true"),
             [("crm_emea:Lead:L1", "false")]),
    conflict("c2", "consent_disagreement", "GP-A", "phone_opt_out", ("ae_emea:Prospect:P1", "true"),
             [("crm_emea:Contact:C1", "false")], detail="an opt-in was modified after the newest opt-out"),
]
FINDINGS = [
    ("g1", "undeclared_field", "crm_emea", "Lead", "EMEA", "Legacy_Score__c", 10, "not declared"),
    ("g2", "unmapped_status", "crm_na", "Lead", "NA", "Nurture", 3, "not mapped"),
    ("g3", "undeclared_field", "crm_na", "Lead", "NA", "Legacy_Score__c", 40, "not declared"),
]


def _log_row(run_id: str, record_id: str, status: str, error: str | None, at: datetime) -> tuple:
    return (run_id, "crm_na", "Lead", record_id, "FirstName", "Ann", "Anne", "precedence.given_name",
            status, error, at)


def build_warehouse(home: Path, *, identity: bool = True, marts: bool = True, writeback: bool = True) -> Path:
    """$AEGLOBAL_HOME/warehouse.duckdb with the chosen parts; returns its path."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / "warehouse.duckdb"
    now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    with duckdb.connect(str(path)) as con:
        for schema in ("raw", "identity", "writeback"):
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        write_source_systems(con, SourcesFile.model_validate({"sources": DEFAULT_SOURCES}))
        if marts:
            _create_marts(con)
            con.executemany(
                "INSERT INTO intermediate.int_person_records VALUES (?, ?, ?, ?, ?, ?, ?, lower(?), ?, "
                "'+4930111', NULL, ?, 'DE')",
                [(*r[:7], r[6], r[7], r[8]) for r in RECORDS],
            )
            con.executemany("INSERT INTO marts.identity_conflicts VALUES "
                            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", CONFLICTS)
            con.executemany("INSERT INTO marts.governance_findings VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                            FINDINGS)
        if identity:
            stable_ids.ensure_tables(con)
            con.executemany(
                "INSERT INTO identity.global_person_map VALUES (?, split_part(?, ':', 1), "
                "split_part(?, ':', 2), split_part(?, ':', 3), ?, 0.99, 'run-1')",
                [(key, key, key, key, person) for key, person in PERSONS.items()],
            )
            con.executemany("INSERT INTO identity.person_links VALUES (?, ?, ?, ?, ?, ?, 'model-1', 'run-1')",
                            LINKS)
        if writeback:
            audit.ensure_tables(con)
            runs = [("wb-old", "apply", now - timedelta(days=1)), ("wb-last", "apply", now),
                    ("wb-dry", "dry_run", now + timedelta(hours=1))]
            for run_id, kind, at in runs:
                con.execute("INSERT INTO writeback.runs VALUES (?, ?, ?, ?, 'marts.writeback_plan', "
                            "NULL, '{}')", [run_id, kind, at, at])
            con.executemany(
                "INSERT INTO writeback.changes_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    _log_row("wb-old", "N0", "rejected", "OLD_ERROR: from an older run", now),
                    _log_row("wb-last", "N1", "rejected", "FIELD_CUSTOM_VALIDATION_EXCEPTION: no", now),
                    _log_row("wb-last", "N2", "rejected", "FIELD_CUSTOM_VALIDATION_EXCEPTION: no", now),
                    _log_row("wb-last", "N3", "failed", "INVALID_FIELD: FirstName", now),
                    _log_row("wb-last", "N4", "applied", None, now),
                ],
            )
    return path


def add_field_conflicts(path: Path, count: int) -> None:
    """`count` more phone conflicts, alternating between the EMEA and the NA legal entity."""
    with duckdb.connect(str(path)) as con:
        con.execute(
            """INSERT INTO marts.identity_conflicts
               SELECT 'bulk' || i, 'field_disagreement', 'GP-' || i, 'phone', '+1' || i,
                      CASE WHEN i % 2 = 0 THEN 'crm_emea:Lead:L1' ELSE 'crm_na:Lead:N1' END,
                      ['+2' || i], [CASE WHEN i % 2 = 0 THEN 'ae_emea:Prospect:P1' ELSE 'crm_na:Lead:N1' END],
                      'most_recent', NULL, NULL, NULL, NULL, NULL
               FROM range(?) AS t(i)""",
            [count],
        )
