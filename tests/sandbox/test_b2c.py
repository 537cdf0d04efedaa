"""The b2c generator profile: consumers as Contacts, households, look-alikes with their truth."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from aeglobal_pipeline.config import parse_sources
from aeglobal_pipeline.sandbox.b2c import generate_b2c_snapshot


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def bare(tmp_path_factory):
    return generate_b2c_snapshot(600, 11, tmp_path_factory.mktemp("b2c") / "snap", orgs=2,
                                 contact_points="none")


def test_two_orgs_of_contacts_without_account_engagement(bare):
    sources = parse_sources(bare.out / "sources.yaml")
    assert [s.kind for s in sources.sources] == ["salesforce", "salesforce"]
    contacts = [r for s in sources.sources for r in _rows(bare.out / s.name / "Contact.csv")]
    assert len(contacts) == bare.records > 600
    assert all(not _rows(bare.out / s.name / "Lead.csv") for s in sources.sources)
    assert not any(r["Email"] or r["Phone"] or r["MobilePhone"] for r in contacts)
    assert sum(bool(r["Birthdate"]) for r in contacts) > 0.8 * len(contacts)
    assert sum(bool(r["MailingPostalCode"]) for r in contacts) > 0.8 * len(contacts)
    assert any(not r["FirstName"] for r in contacts)  # forms left the given name empty


def test_look_alikes_are_different_persons_who_share_what_relatives_share(bare):
    sources = parse_sources(bare.out / "sources.yaml")
    by_key = {f"{s.name}:Contact:{r['Id']}": r for s in sources.sources
              for r in _rows(bare.out / s.name / "Contact.csv")}
    truth = {f"{r['source']}:{r['object']}:{r['record_id']}": r["person_id"] for r in _rows(bare.truth_path)}
    negatives = _rows(bare.hard_negatives_path)
    reasons = {n["reason"] for n in negatives}
    assert {"household_member", "father_son_same_name", "twins"} <= reasons
    for pair in negatives:
        a, b = by_key[pair["record_key_a"]], by_key[pair["record_key_b"]]
        assert truth[pair["record_key_a"]] != truth[pair["record_key_b"]]
        if pair["reason"] == "twins" and a["Birthdate"] and b["Birthdate"]:
            assert a["MailingCity"] == b["MailingCity"]


def test_same_seed_same_files(bare, tmp_path):
    again = generate_b2c_snapshot(600, 11, tmp_path / "snap", orgs=2, contact_points="none")
    for org in ("crm_emea", "crm_na"):
        assert (again.out / org / "Contact.csv").read_bytes() == (bare.out / org / "Contact.csv").read_bytes()
