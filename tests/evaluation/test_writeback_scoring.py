"""Scoring planned write-back changes against true attributes: the classifier on hand-built cases
and the aggregation over a hand-built plan."""

from __future__ import annotations

import csv

import duckdb
import pytest

from aeglobal_pipeline.evaluation.classify import PersonTruth, classify
from aeglobal_pipeline.evaluation.writeback import score_plan, writeback_section

PLAN_COLUMNS = ("record_key", "object", "field", "current_value", "new_value", "value_source", "rule")


def _truth() -> PersonTruth:
    person = PersonTruth()
    for field, kind, value in [
        ("given_name", "canonical", "Robert"), ("given_name", "nickname", "Bob"),
        ("family_name", "canonical", "Müller"), ("family_name", "transliteration", "Mueller"),
        ("email", "work", "robert.mueller@acme.de"), ("email", "personal", "bob.mueller@gmail.com"),
        ("email", "former_work", "r.mueller@oldco.de"), ("email", "role", "info@acme.de"),
        ("phone", "switchboard", "+4989123456"), ("phone", "switchboard", "+4989123456;ext=42"),
        ("phone", "mobile", "+4915112345678"), ("company", "current", "Acme GmbH"),
        ("street", "work", "Hauptstraße 5"), ("country_code", "home", "DE"),
        ("company", "former", "Oldco GmbH"), ("phone", "former_switchboard", "+4930555000"),
    ]:  # fmt: skip
        person.add(field, kind, value)
    return person


@pytest.mark.parametrize(
    ("field", "current", "new", "category"),
    [
        # empty → true
        ("email", None, "robert.mueller@acme.de", "good_fill"),
        ("phone", "", "+4915112345678", "good_fill"),
        # wrong → true: a typo, an initial, a former employer's address, a placeholder
        ("given_name", "Rboert", "Robert", "good_fix"),
        ("given_name", "R.", "Robert", "good_fix"),
        ("email", "r.mueller@oldco.de", "robert.mueller@acme.de", "good_fix"),
        ("company", "n/a", "Acme GmbH", "good_fix"),
        # the same value in another form
        ("family_name", "MÜLLER", "Müller", "format_only"),
        ("email", " Robert.Mueller@ACME.de", "robert.mueller@acme.de", "format_only"),
        ("phone", "089 123456", "+4989123456", "format_only"),
        ("street", "Hauptstr. 5", "Hauptstraße 5", "format_only"),
        ("country_code", "Deutschland", "DE", "format_only"),
        # one real contact point over another
        ("email", "bob.mueller@gmail.com", "robert.mueller@acme.de", "contact_point_replaced"),
        ("phone", "0151 12345678", "+4989123456", "contact_point_replaced"),
        ("phone", "+49 89 123456 ext. 42", "+4989123456", "contact_point_replaced"),  # extension lost
        # another accepted form of a name
        ("given_name", "Bob", "Robert", "other_true_form"),
        # true → wrong, empty → wrong
        ("family_name", "Müller", "Mülelr", "harmful"),
        ("given_name", "Robert", "Müller", "harmful"),  # swapped given/family
        ("email", "robert.mueller@acme.de", "robert.mueller@gnail.com", "harmful"),
        ("email", None, "info@acme.de", "harmful"),  # a role mailbox is not the person's
        ("phone", None, "+498912345642", "harmful"),  # the extension glued into the number
        ("company", None, "Unknown", "harmful"),
        # wrong → wrong
        ("given_name", "Rboert", "Roebrt", "other"),
    ],
)
def test_classify(field, current, new, category):
    assert classify(field, current, new, _truth())[0] == category


@pytest.mark.parametrize(
    ("current", "new", "target_company", "category"),
    [
        # a record of the former job gets that job's address: stale before and after
        (None, "r.mueller@oldco.de", "Oldco GmbH", "stale_record"),
        (None, "r.mueller@oldco.de", "OLDCO GMBH", "stale_record"),
        ("r.mueler@oldco.de", "r.mueller@oldco.de", "Oldco GmbH", "stale_record"),
        # the same value onto a record of the current job, of no job, or over a true value
        (None, "r.mueller@oldco.de", "Acme GmbH", "harmful"),
        (None, "r.mueller@oldco.de", None, "harmful"),
        ("robert.mueller@acme.de", "r.mueller@oldco.de", "Oldco GmbH", "harmful"),
        # a value that was never the person's is harmful on any record
        (None, "someone@oldco.de", "Oldco GmbH", "harmful"),
    ],
)
def test_former_job_values_on_a_former_jobs_record(current, new, target_company, category):
    assert classify("email", current, new, _truth(), target_company)[0] == category


def test_former_job_phone_on_a_former_jobs_record_is_stale():
    assert classify("phone", None, "+49 30 555000", _truth(), "Oldco GmbH")[0] == "stale_record"
    assert classify("phone", None, "+49 30 555000", _truth(), "Acme GmbH")[0] == "harmful"


def test_classify_says_which_kinds_it_compared():
    category, detail = classify("email", "bob.mueller@gmail.com", "robert.mueller@acme.de", _truth())
    assert category == "contact_point_replaced"
    assert detail == "true(personal) → true(work)"


def _write(path, header, rows):
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def test_score_plan_counts_categories_examples_and_leaves_consent_and_ids_unscored(tmp_path):
    truth = tmp_path / "s.truth.csv"
    attributes = tmp_path / "s.truth_attributes.csv"
    _write(truth, ["source", "object", "record_id", "person_id"], [
        ("crm", "Lead", "L1", "P1"), ("crm", "Lead", "L2", "P1"), ("crm", "Lead", "L3", "P2"),
    ])  # fmt: skip
    _write(attributes, ["person_id", "field", "kind", "value"], [
        ("P1", "given_name", "canonical", "Anna"), ("P1", "email", "work", "anna@acme.com"),
        ("P1", "email", "personal", "anna.k@gmail.com"), ("P2", "given_name", "canonical", "Ben"),
    ])  # fmt: skip
    rule_name, rule_email = "precedence.given_name: x", "precedence.email: y"
    l1, l2, l3 = "crm:Lead:L1", "crm:Lead:L2", "crm:Lead:L3"
    plan = [
        (l1, "Lead", "FirstName", "Ann", "Anna", l2, rule_name),
        (l1, "Lead", "Email", "anna.k@gmail.com", "anna@acme.com", l2, rule_email),
        (l2, "Lead", "Email", None, "anna@acme.com", l1, rule_email),
        (l3, "Lead", "FirstName", "Ben", "Anna", l1, rule_name),
        (l1, "Lead", "HasOptedOutOfEmail", "false", "true", l2, "consent.email: z"),
        (l1, "Lead", "Global_Person_Id__c", None, "GP-1", l1, "identity.global_person_id"),
        ("crm:Lead:L9", "Lead", "FirstName", None, "Zed", "crm:Lead:L9", rule_name),
    ]
    fields = {
        ("Lead", "FirstName"): "given_name", ("Lead", "Email"): "email",
        ("Lead", "HasOptedOutOfEmail"): "email_opt_out", ("Lead", "Global_Person_Id__c"): "global_person_id",
    }  # fmt: skip
    columns = ", ".join(f"{c} VARCHAR" for c in PLAN_COLUMNS)
    with duckdb.connect() as con:
        con.execute(f"CREATE TABLE plan ({columns})")
        con.executemany("INSERT INTO plan VALUES (?, ?, ?, ?, ?, ?, ?)", plan)
        score = score_plan(con, "plan", truth, attributes, fields)
    assert score.changes == 5
    expected = {"good_fix": 1, "contact_point_replaced": 1, "good_fill": 1, "harmful": 1, "other": 1}
    assert dict(score.counts) == expected
    assert score.not_scored == {"consent": 1, "global id": 1}
    assert score.from_other_person == {"harmful": 1}  # Anna's name onto Ben's record
    harmful = score.examples["harmful"][0]
    assert (harmful.record_key, harmful.new_value, harmful.rule) == (l3, "Anna", rule_name)
    assert score.examples["other"][0].detail == "target record not in the truth"
    figures = score.to_dict()
    assert figures["good_fills_plus_fixes"] == 2 and figures["shares"]["harmful"] == 0.2
    assert "contact_point_replaced" in str(score) and "precedence.email: y" in str(score)


def test_without_truth_attributes_the_section_says_why(tmp_path):
    truth = tmp_path / "s.truth.csv"
    _write(truth, ["source", "object", "record_id", "person_id"], [("crm", "Lead", "L1", "P1")])
    score, note = writeback_section(truth)
    assert score is None and note == f"no truth attributes at {tmp_path / 's.truth_attributes.csv'}"


def test_score_plan_reads_the_targets_company_to_tell_a_former_jobs_record(tmp_path):
    truth = tmp_path / "s.truth.csv"
    attributes = tmp_path / "s.truth_attributes.csv"
    records = [("crm", "Lead", "L1", "P1"), ("crm", "Lead", "L2", "P1")]
    _write(truth, ["source", "object", "record_id", "person_id"], records)
    _write(attributes, ["person_id", "field", "kind", "value"], [
        ("P1", "company", "current", "Newco Ltd"), ("P1", "company", "former", "Oldco Ltd"),
        ("P1", "email", "work", "ann@newco.com"), ("P1", "email", "former_work", "ann@oldco.com"),
    ])  # fmt: skip
    plan = [
        ("crm:Lead:L1", "Lead", "Email", None, "ann@oldco.com", "crm:Lead:L2", "r", "Oldco Ltd"),
        ("crm:Lead:L2", "Lead", "Email", None, "ann@oldco.com", "crm:Lead:L1", "r", "Newco Ltd"),
    ]
    columns = ", ".join(f"{c} VARCHAR" for c in (*PLAN_COLUMNS, "target_company"))
    with duckdb.connect() as con:
        con.execute(f"CREATE TABLE plan ({columns})")
        con.executemany("INSERT INTO plan VALUES (?, ?, ?, ?, ?, ?, ?, ?)", plan)
        score = score_plan(con, "plan", truth, attributes, {("Lead", "Email"): "email"})
    assert dict(score.counts) == {"stale_record": 1, "harmful": 1}
    assert score.to_dict()["counts"]["stale_record"] == 1
