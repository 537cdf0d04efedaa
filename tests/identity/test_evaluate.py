"""`evaluate` on a tiny hand-made truth, and the identity assets materialised end to end."""

from __future__ import annotations

import csv
from pathlib import Path

import dagster as dg
import duckdb

from aeglobal_pipeline import warehouse
from aeglobal_pipeline.evaluation.writeback import identity_dict
from aeglobal_pipeline.identity.assets import (
    LINKS_KEY,
    MAP_KEY,
    MODEL_KEY,
    build_identity_definitions,
    identity_assets,
    identity_checks,
)
from aeglobal_pipeline.identity.evaluate import default_hard_negatives, evaluate, evaluate_relation
from aeglobal_pipeline.identity.resolve import resolve_identities


def _csv(path: Path, header: list[str], rows: list[tuple]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_evaluate_on_a_hand_made_truth(tmp_path):
    truth = _csv(
        tmp_path / "s.truth.csv",
        ["source", "object", "record_id", "person_id"],
        [("crm", "Lead", "1", "P1"), ("crm", "Contact", "2", "P1"), ("ae", "Prospect", "3", "P1"),
         ("crm", "Lead", "4", "P2"), ("crm", "Lead", "5", "P3")],
    )  # fmt: skip
    negatives = _csv(
        tmp_path / "s.hard_negatives.csv",
        ["record_key_a", "record_key_b", "reason"],
        [("crm:Lead:4", "crm:Lead:5", "shared_role_mailbox"), ("crm:Lead:1", "crm:Lead:4", "namesake")],
    )
    assert default_hard_negatives(truth) == negatives
    with duckdb.connect() as con:
        con.execute("CREATE TABLE predicted (record_key VARCHAR, global_person_id VARCHAR)")
        # P1 split into {1, 2} and {3}; P2 and P3 wrongly merged; 3 is missing? no: 3 alone.
        con.executemany(
            "INSERT INTO predicted VALUES (?, ?)",
            [("crm:Lead:1", "A"), ("crm:Contact:2", "A"), ("ae:Prospect:3", "B"), ("crm:Lead:4", "C"),
             ("crm:Lead:5", "C"), ("crm:Lead:9", "D")],
        )  # fmt: skip
        report = evaluate_relation(con, truth, negatives)
    s = report.scores
    assert (s.true_positive_pairs, s.predicted_pairs, s.truth_pairs) == (1, 2, 3)
    assert s.missing_from_truth == 1 and s.missing_from_predicted == 0
    assert report.false_merges[0].cluster == "C" and report.false_merges[0].wrong_pairs == 1
    assert report.false_splits[0].cluster == "P1" and report.false_splits[0].wrong_pairs == 2
    assert report.hard_negatives.merged == 1
    assert report.hard_negatives.by_reason == {"shared_role_mailbox": (1, 1), "namesake": (0, 1)}
    text = str(report)
    assert "pairwise  precision 0.5000  recall 0.3333" in text and "shared_role_mailbox: 1 of 1" in text


def test_identity_assets_materialise_and_checks_pass(identity_home):
    identity_home.reset_warehouse()
    result = dg.materialize([*identity_assets, *identity_checks], selection=None)
    assert result.success
    checks = result.get_asset_check_evaluations()
    assert len(checks) == 3 and all(c.passed for c in checks)
    materialized = {
        e.asset_key: e.materialization.metadata for e in result.get_asset_materialization_events()
    }
    assert set(materialized) == {MODEL_KEY, LINKS_KEY, MAP_KEY}
    assert materialized[MAP_KEY]["global_persons"].value > 0
    build_identity_definitions()  # loads without error


def test_evaluate_reads_the_warehouse_map(identity_home):
    # Its own map: under pytest-xdist the test above may run in another worker.
    identity_home.reset_warehouse()
    resolve_identities(run_id="evaluate")
    truth = identity_home.snapshot.parent / f"{identity_home.snapshot.name}.truth.csv"
    report = evaluate(truth, default_hard_negatives(truth))
    assert report.scores.missing_from_predicted == 0
    assert report.scores.bcubed_f1 > 0.85  # tiny data, tiny model: a smoke threshold only
    # every missed pair is classed, from the warehouse's own record features
    s = report.scores
    assert report.split_evidence.missed_pairs == s.truth_pairs - s.true_positive_pairs
    # A shared mailbox never merges two people, unless they also share one name at one company
    # (namesakes arise from name frequencies): then nothing else tells them apart.
    with warehouse.connect(read_only=True) as con:
        same_name = con.execute(
            """SELECT count(*) FROM read_csv(?, all_varchar = true) AS h
               JOIN intermediate.int_person_records AS a ON a.record_key = h.record_key_a
               JOIN intermediate.int_person_records AS b ON b.record_key = h.record_key_b
               WHERE h.reason = 'shared_role_mailbox' AND a.given_name_norm = b.given_name_norm
                 AND a.family_name_norm = b.family_name_norm AND a.company_norm = b.company_norm""",
            [str(default_hard_negatives(truth))],
        ).fetchall()[0][0]
    assert report.hard_negatives.by_reason.get("shared_role_mailbox", (0, 0))[0] <= same_name


def test_false_splits_say_what_their_parts_share(tmp_path):
    # P1: {1, 2} and {3}; 3 shares 1's mobile (and a grey-zone link 1-3 was scored).
    # P2: {4} and {5, 6}; only the name (given/family swapped on 6) and a vetoed link 4-5.
    # P3: one cluster; it shares P1's mobile and P2's company, which must not count for them.
    # P4: {9} and {10}; one family name, no given name on either: not a whole name, so nothing.
    truth = _csv(
        tmp_path / "e.truth.csv",
        ["source", "object", "record_id", "person_id"],
        [("crm", "Lead", "1", "P1"), ("crm", "Lead", "2", "P1"), ("crm", "Lead", "3", "P1"),
         ("crm", "Lead", "4", "P2"), ("crm", "Lead", "5", "P2"), ("crm", "Lead", "6", "P2"),
         ("crm", "Lead", "7", "P3"), ("crm", "Lead", "8", "P3"), ("crm", "Lead", "9", "P4"),
         ("crm", "Lead", "10", "P4")],
    )  # fmt: skip
    # record_key, email_match, is_free_mail, mobile_match, phone_match, birthdate, street_norm,
    # postal_norm, company_norm, given_name_norm, family_name_norm (the columns the breakdown reads)
    features = [
        ("crm:Lead:1", "ann@acme.com", False, "+4915111", None, None, None, None, "acme", "ann", "lee"),
        ("crm:Lead:2", None, False, None, "+4930111", None, None, None, "acme", "ann", "lee"),
        ("crm:Lead:3", "ann@beta.com", False, "+4915111", None, None, None, None, "beta", "ann", "lee"),
        ("crm:Lead:4", "bo@gamma.com", False, None, "+4940222", None, None, "10115", "gamma", "bo", "berg"),
        ("crm:Lead:5", "bo@delta.com", False, None, "+4940333", None, None, "80331", "delta", "bo", "berg"),
        ("crm:Lead:6", None, False, None, None, None, None, None, "delta", "berg", "bo"),
        ("crm:Lead:7", None, False, "+4915111", None, None, None, "10115", "gamma", "cy", "ng"),
        ("crm:Lead:8", None, False, "+4915111", None, None, None, None, "beta", "cy", "ng"),
        ("crm:Lead:9", None, False, None, None, None, None, None, None, None, "kay"),
        ("crm:Lead:10", None, False, None, None, None, None, None, None, None, "kay"),
    ]
    with duckdb.connect() as con:
        con.execute("CREATE TABLE predicted (record_key VARCHAR, global_person_id VARCHAR)")
        con.executemany(
            "INSERT INTO predicted VALUES (?, ?)",
            [("crm:Lead:1", "A"), ("crm:Lead:2", "A"), ("crm:Lead:3", "B"), ("crm:Lead:4", "C"),
             ("crm:Lead:5", "D"), ("crm:Lead:6", "D"), ("crm:Lead:7", "E"), ("crm:Lead:8", "E"),
             ("crm:Lead:9", "F"), ("crm:Lead:10", "G")],
        )  # fmt: skip
        con.execute("CREATE SCHEMA identity")
        con.execute(
            """CREATE TABLE identity.record_features (record_key VARCHAR, email_match VARCHAR,
               is_free_mail BOOLEAN, mobile_match VARCHAR, phone_match VARCHAR, birthdate DATE,
               street_norm VARCHAR, postal_norm VARCHAR, company_norm VARCHAR, given_name_norm VARCHAR,
               family_name_norm VARCHAR)"""
        )
        con.executemany("INSERT INTO identity.record_features VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        features)
        con.execute(
            """CREATE TABLE identity.person_links (record_key_a VARCHAR, record_key_b VARCHAR,
               match_probability DOUBLE, decision VARCHAR)"""
        )
        con.executemany(
            "INSERT INTO identity.person_links VALUES (?, ?, ?, ?)",
            [("crm:Lead:1", "crm:Lead:3", 0.7, "grey_zone"), ("crm:Lead:2", "crm:Lead:3", 0.2, "vetoed"),
             ("crm:Lead:4", "crm:Lead:5", 0.9, "vetoed"), ("crm:Lead:7", "crm:Lead:8", 0.99, "accepted"),
             ("crm:Lead:3", "crm:Lead:8", 0.6, "vetoed")],
        )  # fmt: skip
        report = evaluate_relation(con, truth)
    evidence = report.split_evidence
    by_class = {row.evidence_class: row for row in evidence.classes}
    personal, name_only = by_class["personal identifier"], by_class["name only"]
    assert (personal.part_pairs, personal.missed_pairs) == (1, 2)
    assert personal.by_outcome["grey zone"] == 2 and personal.by_outcome["vetoed"] == 0  # the best link
    assert (name_only.part_pairs, name_only.missed_pairs) == (1, 2)
    assert name_only.by_outcome["vetoed"] == 2
    nothing = by_class["nothing, not even the name"]
    assert (nothing.part_pairs, nothing.missed_pairs, nothing.by_outcome["no scored link"]) == (1, 1, 1)
    assert by_class["contact point"].part_pairs == by_class["company or address only"].part_pairs == 0
    s = report.scores
    assert evidence.missed_pairs == s.truth_pairs - s.true_positive_pairs == 5
    assert evidence.shared == {"mobile": (1, 2), "name": (2, 4)}
    heading = "missed pairs (false splits) by what the parts share: 5 missed pairs in 3 part pairs"
    assert heading in str(report)
    figures = identity_dict(report)["split_evidence"]
    assert figures["by_class"]["name only"]["missed_pairs_by_best_link"]["vetoed"] == 2
