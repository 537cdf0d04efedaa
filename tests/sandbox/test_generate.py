"""The demo-data generator: contract, ground truth, referential integrity, and hardness."""

from __future__ import annotations

import csv
import re
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest

from aeglobal_pipeline.config import parse_sources
from aeglobal_pipeline.identity.metrics import register_truth_csv, score_clusterings
from aeglobal_pipeline.sandbox.change import make_change
from aeglobal_pipeline.sandbox.generate import generate_snapshot
from aeglobal_pipeline.sandbox.names import NameBank
from aeglobal_pipeline.sandbox.records import salesforce_id
from aeglobal_pipeline.sandbox.truth_attributes import attributes_path

PERSONS = 3000


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory):
    out = tmp_path_factory.mktemp("gen") / "snap"
    return generate_snapshot(PERSONS, 11, out)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _person_records(summary) -> dict[str, dict[str, str]]:
    """record key → row, for every Lead, Contact and Prospect CSV row."""
    records = {}
    for source, objects in summary.counts.items():
        for obj in objects:
            if obj == "Account":
                continue
            for row in _rows(summary.out / source / f"{obj}.csv"):
                record_id = row["id"] if obj == "Prospect" else row["Id"]
                record_key = f"{source}:{obj}:{record_id}"
                assert record_key not in records, f"duplicate record {record_key}"
                records[record_key] = row
    return records


def _truth(summary) -> dict[str, str]:
    truth = {}
    for row in _rows(summary.truth_path):
        record_key = f"{row['source']}:{row['object']}:{row['record_id']}"
        assert record_key not in truth, f"{record_key} twice in truth"
        truth[record_key] = row["person_id"]
    return truth


def _files(base: Path, name: str) -> dict[str, bytes]:
    root = base / name
    files = {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    for suffix in (".truth.csv", ".hard_negatives.csv", ".truth_attributes.csv"):
        files[suffix] = (base / f"{name}{suffix}").read_bytes()
    return files


def test_same_seed_gives_byte_identical_files(tmp_path):
    generate_snapshot(400, 5, tmp_path / "a")
    generate_snapshot(400, 5, tmp_path / "b")
    generate_snapshot(400, 6, tmp_path / "c")
    a, b, c = _files(tmp_path, "a"), _files(tmp_path, "b"), _files(tmp_path, "c")
    assert len(a) == 15  # sources.yaml, 3 CRM orgs × 3 objects, 2 prospect files, 3 truth files
    assert a == b
    assert a["crm_emea/Lead.csv"] != c["crm_emea/Lead.csv"]


def test_snapshot_layout_and_sources(snapshot):
    sources = parse_sources(snapshot.out / "sources.yaml")
    crm = {s.name for s in sources.sources if s.kind == "salesforce"}
    ae = {s.name: s for s in sources.sources if s.kind == "account_engagement"}
    assert len(crm) == 3 and len(ae) == 2
    assert {s.connected_crm for s in ae.values()} <= crm
    assert len({s.legal_entity for s in sources.sources if s.kind == "salesforce"}) == 3
    for source in sources.sources:
        for obj in source.objects:
            assert (snapshot.out / source.name / f"{obj}.csv").is_file()
    lead_header = next(csv.reader((snapshot.out / "crm_emea" / "Lead.csv").open(encoding="utf-8")))
    for column in ("Id", "Email", "IsConverted", "ConvertedContactId", "Status", "GDPR_Consent_Date__c"):
        assert column in lead_header
    # Truth files sit beside the snapshot directory, never inside it.
    assert snapshot.truth_path.parent == snapshot.out.parent
    assert snapshot.hard_negatives_path.parent == snapshot.out.parent
    assert not list(snapshot.out.rglob("*truth*")) and not list(snapshot.out.rglob("*hard_neg*"))


def test_every_record_is_in_truth_exactly_once(snapshot):
    records, truth = _person_records(snapshot), _truth(snapshot)
    assert set(records) == set(truth)
    assert snapshot.records == len(records)
    assert 1.5 <= len(records) / PERSONS <= 2.5
    # Deleted rows are in the CSVs and in the truth.
    deleted = [k for k, r in records.items() if r.get("IsDeleted", r.get("isDeleted")) == "true"]
    assert deleted and all(k in truth for k in deleted)


def test_values_follow_conventions(snapshot):
    sf_time = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000\+0000$")
    ae_time = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$")
    prefixes = {"Account": "001", "Contact": "003", "Lead": "00Q"}
    for org in ("crm_emea", "crm_na", "crm_apac"):
        seen = set()
        for obj, prefix in prefixes.items():
            for row in _rows(snapshot.out / org / f"{obj}.csv"):
                assert len(row["Id"]) == 18 and row["Id"].startswith(prefix)
                assert row["Id"] not in seen
                seen.add(row["Id"])
                assert sf_time.match(row["CreatedDate"]) and sf_time.match(row["SystemModstamp"])
                assert row["CreatedDate"] <= row["LastModifiedDate"] <= row["SystemModstamp"]
                assert row["IsDeleted"] in ("true", "false")
    for row in _rows(snapshot.out / "ae_na" / "Prospect.csv"):
        assert row["id"].isdigit() and row["email"]
        assert ae_time.match(row["createdAt"]) and row["optedOut"] in ("true", "false")


def test_salesforce_id_checksum():
    # The documented example id: 15-character 001... → 18-character with checksum suffix.
    assert salesforce_id("crm_emea", "Account", 0).endswith("AAA")
    generated = salesforce_id("crm_na", "Lead", 123456789)
    assert generated[:5] == "00Q8d" and len(generated) == 18


def test_converted_leads_point_at_contacts_in_same_org(snapshot):
    converted = 0
    for org in ("crm_emea", "crm_na", "crm_apac"):
        contacts = {r["Id"]: r for r in _rows(snapshot.out / org / "Contact.csv")}
        accounts = {r["Id"] for r in _rows(snapshot.out / org / "Account.csv")}
        assert all(c["AccountId"] in accounts for c in contacts.values())
        for lead in _rows(snapshot.out / org / "Lead.csv"):
            if lead["IsConverted"] == "true":
                converted += 1
                contact = contacts[lead["ConvertedContactId"]]
                assert lead["ConvertedAccountId"] == contact["AccountId"]
            else:
                assert lead["ConvertedContactId"] == lead["ConvertedAccountId"] == ""
    assert converted > PERSONS * 0.05


def test_prospect_links_point_at_records_of_the_connected_org(snapshot):
    sources = parse_sources(snapshot.out / "sources.yaml")
    linked = 0
    for bu in (s for s in sources.sources if s.kind == "account_engagement"):
        org = snapshot.out / bu.connected_crm
        leads = {r["Id"] for r in _rows(org / "Lead.csv")}
        contacts = {r["Id"]: r for r in _rows(org / "Contact.csv")}
        for prospect in _rows(snapshot.out / bu.name / "Prospect.csv"):
            if prospect["salesforceLeadId"]:
                assert prospect["salesforceLeadId"] in leads
                linked += 1
            if prospect["salesforceContactId"]:
                contact = contacts[prospect["salesforceContactId"]]
                assert prospect["salesforceAccountId"] == contact["AccountId"]
                linked += 1
    assert linked > PERSONS * 0.3


def test_hard_negatives_are_different_persons(snapshot):
    truth = _truth(snapshot)
    pairs = _rows(snapshot.hard_negatives_path)
    assert len(pairs) == snapshot.hard_negatives
    reasons = {p["reason"] for p in pairs}
    assert {
        "shared_role_mailbox",
        "same_name_different_company",
        "shared_household_phone",
        "role_mailbox_prospect_linked_to_other_person",
    } <= reasons
    for pair in pairs:
        assert truth[pair["record_key_a"]] != truth[pair["record_key_b"]], pair


def test_realism_features_are_present(snapshot):
    records = _person_records(snapshot)
    truth = _truth(snapshot)
    by_person: dict[str, list[dict]] = {}
    for record_key, row in records.items():
        by_person.setdefault(truth[record_key], []).append(row)
    countries = {r.get("Country") or r.get("MailingCountry") or r.get("country") for r in records.values()}
    assert {"DE", "Germany", "Deutschland"} <= countries
    emails = [r.get("Email", r.get("email", "")) for r in records.values()]
    assert any("+" in e and "gmail" in e for e in emails)
    assert any(e.split("@")[0].split(".")[0] in ("info", "kontakt", "sales", "contact") for e in emails)
    statuses = {
        org: {r["Status"] for r in _rows(snapshot.out / org / "Lead.csv")} for org in ("crm_emea", "crm_na")
    }
    assert statuses["crm_emea"].isdisjoint(statuses["crm_na"])
    consent_differs = sum(
        len({r.get("HasOptedOutOfEmail", r.get("optedOut")) for r in rows}) > 1 for rows in by_person.values()
    )
    assert consent_differs > 0
    multi_org = sum(
        len({k.split(":")[0] for k, p in truth.items() if p == person}) > 1
        for person in list(by_person)[:500]
    )
    assert multi_org > 100


def test_email_alone_is_not_enough(snapshot):
    """Grouping records by lower-cased trimmed e-mail must score pairwise F1 below 0.85."""
    with duckdb.connect() as con:
        register_truth_csv(con, snapshot.truth_path)
        combined = None
        for source, objects in snapshot.counts.items():
            for obj in objects:
                if obj == "Account":
                    continue
                id_col, email_col = ("id", "email") if obj == "Prospect" else ("Id", "Email")
                path = str(snapshot.out / source / f"{obj}.csv")
                relation = con.read_csv(path, header=True, all_varchar=True).project(
                    f"'{source}:{obj}:' || {id_col} AS record_key, lower(trim({email_col})) AS email"
                )
                combined = relation if combined is None else combined.union(relation)
        # No e-mail, no evidence: such a record stays a singleton.
        combined.project("record_key, coalesce(nullif(email, ''), record_key) AS cluster_id").create_view(
            "by_email"
        )
        scores = score_clusterings(con, "truth", "by_email")
    assert scores.missing_from_predicted == 0 and scores.missing_from_truth == 0
    assert scores.pairwise_f1 < 0.85, scores
    assert scores.pairwise_recall < 0.8 and scores.pairwise_precision < 0.97


def test_chained_changes_never_reuse_a_record_id(snapshot, tmp_path):
    """Day 2's change to day 1's output adds records under ids no earlier day used."""
    day1 = make_change(snapshot.out, tmp_path / "day1", 0.02, seed=1)
    day2 = make_change(tmp_path / "day1", tmp_path / "day2", 0.02, seed=2)
    assert day1["counts"]["new"] > 0 and day2["counts"]["new"] > 0
    # _person_records fails on a duplicate key; the count shows every new record kept its own id.
    records = _person_records(replace(snapshot, out=tmp_path / "day2"))
    added = day1["counts"]["new"] + day2["counts"]["new"]
    assert len(records) == len(_person_records(snapshot)) + added


def test_a_swapped_name_colleague_bears_a_name_people_have(snapshot):
    """A "Wei Zhang" beside a "Zhang Wei" at one company: only where the given name is a family
    name too (no one's family name is "Yuhao" or "Junho"), with the swap in native script as well
    (张伟 / 魏章, not one 张伟 for both), and never a swap of a swap (the first name again)."""
    family_names = NameBank().family_native
    truth = _truth(snapshot)
    names: dict[str, dict[tuple[str, str], str]] = {}
    for row in _rows(attributes_path(snapshot.truth_path)):
        if row["kind"] in ("canonical", "native"):
            names.setdefault(row["person_id"], {})[row["field"], row["kind"]] = row["value"]
    pairs = [
        (truth[p["record_key_a"]], truth[p["record_key_b"]])
        for p in _rows(snapshot.hard_negatives_path)
        if p["reason"] == "swapped_name_order_different_person"
    ]
    assert len(pairs) >= 3
    for first, colleague in pairs:
        a, b = names[first], names[colleague]
        assert (a["given_name", "canonical"], a["family_name", "canonical"]) == (
            b["family_name", "canonical"], b["given_name", "canonical"],
        )  # fmt: skip
        assert ("zh", b["family_name", "canonical"]) in family_names, (first, colleague)
        assert _native(a) != _native(b) or _native(a) == (None, None), (first, colleague)
    persons = [p for pair in pairs for p in pair]
    assert len(persons) == len(set(persons)), "a swap of a swap"


def _native(names: dict[tuple[str, str], str]) -> tuple[str | None, str | None]:
    return names.get(("family_name", "native")), names.get(("given_name", "native"))
