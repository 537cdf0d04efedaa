"""The generator's true attributes (X.truth_attributes.csv) and the noise it types into records."""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from pathlib import Path

import phonenumbers
import pytest

from aeglobal_pipeline.evaluation.values import email_form, fold
from aeglobal_pipeline.sandbox.generate import generate_snapshot
from aeglobal_pipeline.sandbox.noise import (
    ADDRESS_PLACEHOLDERS,
    COMPANY_PLACEHOLDERS,
    NAME_PLACEHOLDERS,
    PROVIDER_TYPOS,
)
from aeglobal_pipeline.sandbox.truth_attributes import attributes_path
from aeglobal_pipeline.sandbox.world import countries

PERSONS = 3000


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    summary = generate_snapshot(PERSONS, 11, tmp_path_factory.mktemp("noise") / "snap")
    truth = {
        f"{r['source']}:{r['object']}:{r['record_id']}": r["person_id"] for r in _rows(summary.truth_path)
    }
    attributes: dict[str, dict[str, dict[str, str]]] = defaultdict(lambda: defaultdict(dict))
    for row in _rows(attributes_path(summary.truth_path)):
        attributes[row["person_id"]][row["field"]][row["value"]] = row["kind"]
    records = []  # (person, object, row) with common column names
    for source, objects in summary.counts.items():
        for obj in objects:
            if obj == "Account":
                continue
            for row in _rows(summary.out / source / f"{obj}.csv"):
                record_id = row.get("Id") or row["id"]
                records.append((truth[f"{source}:{obj}:{record_id}"], obj, _common(row)))
    return summary, truth, attributes, records


def _common(row: dict[str, str]) -> dict[str, str]:
    def pick(*names: str) -> str:
        return next((row[n] for n in names if n in row), "")

    return {
        "first": pick("FirstName", "firstName"), "last": pick("LastName", "lastName"),
        "email": pick("Email", "email"), "phone": pick("Phone", "phone"), "mobile": pick("MobilePhone"),
        "company": pick("Company", "company"), "street": pick("Street", "MailingStreet"),
        "country": pick("Country", "MailingCountry", "country"), "birthdate": pick("Birthdate"),
    }  # fmt: skip


def test_attributes_sit_beside_the_snapshot_and_cover_every_person_with_records(generated):
    summary, truth, attributes, _ = generated
    path = attributes_path(summary.truth_path)
    assert path.parent == summary.out.parent and path.name == "snap.truth_attributes.csv"
    assert set(attributes) == set(truth.values())
    numbers = invalid = 0
    for person_id, fields in attributes.items():
        assert "canonical" in fields["given_name"].values() and "canonical" in fields["family_name"].values()
        assert "personal" in fields["email"].values() and "home" in fields["phone"].values()
        assert len(fields["country_code"]) == 1, person_id
        for number in fields["phone"]:
            numbers += 1
            invalid += not phonenumbers.is_valid_number(phonenumbers.parse(number, None))
    # Real numbers are valid for libphonenumber (a pipeline may rightly refuse the others).
    assert invalid / numbers < 0.002, invalid


def test_records_carry_their_persons_true_values_apart_from_the_noise(generated):
    _, _, attributes, records = generated
    emails = [(p, r["email"]) for p, _, r in records if r["email"].strip()]
    true_emails = sum(email_form(e) in {email_form(v) for v in attributes[p]["email"]} for p, e in emails)
    assert 0.93 < true_emails / len(emails) < 0.995  # typos and misspelled domains are not true
    named = [(p, r["first"]) for p, _, r in records]
    true_given = sum(fold(f) in {fold(v) for v in attributes[p]["given_name"]} for p, f in named)
    assert 0.7 < true_given / len(named) < 0.97  # typos, initials, swaps, placeholders are not


def test_every_kind_of_noise_appears(generated):
    _, _, attributes, records = generated
    typo_domains = {typo for typos in PROVIDER_TYPOS.values() for typo in typos}
    found: dict[str, int] = defaultdict(int)
    for person, obj, r in records:
        truth = attributes[person]
        given = next(v for v, k in truth["given_name"].items() if k == "canonical")
        family = next(v for v, k in truth["family_name"].items() if k == "canonical")
        email = r["email"]
        checks = {
            "provider domain typo": email.partition("@")[2].split(".")[0].lower() in typo_domains,
            "padded e-mail": email[:1].isspace() or email[-1:].isspace(),
            "mixed-case e-mail": email != email.lower() and email != email.upper(),
            "name typo": fold(r["first"]) not in {fold(v) for v in truth["given_name"]}
            and r["first"] not in NAME_PLACEHOLDERS
            and len(r["first"]) > 2,
            "initial-only given name": re.fullmatch(r"\w\.", r["first"]) is not None,
            "given/family swapped": r["first"] == family and r["last"] == given,
            "full name in last name": r["last"] == f"{given} {family}",
            "all caps": r["first"] == given.upper()
            and r["last"] == family.upper()
            and given != given.upper(),
            "all lower": r["first"] == given.lower()
            and r["last"] == family.lower()
            and given != given.lower(),
            "placeholder name": r["last"] in NAME_PLACEHOLDERS or r["first"] in NAME_PLACEHOLDERS,
            "placeholder company": obj != "Contact"
            and r["company"] in COMPANY_PLACEHOLDERS
            and "current" in truth.get("company", {}).values(),
            "placeholder street": r["street"] in ADDRESS_PLACEHOLDERS,
            "extension ext.": " ext" in r["phone"].lower(),
            "extension x": re.search(r"\dx ?\d|\d x ?\d", r["phone"]) is not None,
            "extension ;ext=": ";ext=" in r["phone"],
            "00 prefix": r["phone"].startswith("00") or r["mobile"].startswith("00"),
            "national format": r["phone"][:1] == "0" or r["phone"][:1] == "(",
        }
        for name, hit in checks.items():
            found[name] += bool(hit)
    missing = [name for name in checks if not found[name]]
    assert not missing, dict(found)


def test_persons_have_several_real_contact_points_and_some_foreign_mobiles(generated):
    _, _, attributes, records = generated
    used: dict[str, set[str]] = defaultdict(set)  # person → kinds of e-mail seen in records
    for person, _, r in records:
        kind = attributes[person]["email"].get(r["email"].strip().lower())
        if kind:
            used[person].add(kind)
    assert sum({"work", "personal"} <= kinds for kinds in used.values()) > PERSONS * 0.02
    phone_kinds = [set(fields["phone"].values()) for fields in attributes.values()]
    assert sum({"switchboard", "mobile", "home"} <= kinds for kinds in phone_kinds) > PERSONS * 0.3
    calling = {c.code: c.calling_code for c in countries().values()}
    foreign = 0
    for fields in attributes.values():
        home = calling[next(iter(fields["country_code"]))]
        mobiles = [n for n, k in fields["phone"].items() if k == "mobile"]
        foreign += any(not n.startswith("+" + home) for n in mobiles)
    assert 0 < foreign < PERSONS * 0.05  # expats keep their home country's mobile


def test_a_number_typed_without_country_code_means_the_persons_number_in_the_records_country(generated):
    """A reader (and libphonenumber) takes a national form as a number of the record's country:
    an expat's foreign mobile is typed with its country code wherever its national form would
    dial another, local number, so the record never says a number the truth does not hold."""
    _, _, attributes, records = generated
    country_codes = {
        spelling.lower(): c.code
        for c in countries().values()
        for spelling in (c.code, c.english, c.local, *c.spellings)
    }
    national = wrong = 0
    for person, _, r in records:
        region = country_codes.get(r["country"].strip().lower())
        for text in (r["phone"], r["mobile"]):
            if not region or not text or text.lstrip().startswith(("+", "00")):
                continue
            number = phonenumbers.parse(text, region)
            if not phonenumbers.is_valid_number(number):
                continue
            national += 1
            e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            wrong += e164 not in attributes[person]["phone"]
    assert national > PERSONS * 0.3
    assert wrong == 0, f"{wrong} of {national} national-format numbers are not the person's"


def test_a_few_birthdates_are_placeholders_and_the_truth_keeps_the_real_one(generated):
    _, _, attributes, records = generated
    typed = [(person, r["birthdate"]) for person, _, r in records if r["birthdate"]]
    placeholders = [(person, typed_date) for person, typed_date in typed
                    if typed_date not in attributes[person]["birthdate"]]
    assert 0.01 < len(placeholders) / len(typed) < 0.08  # legacy imports: a few percent
    assert {"1900-01-01", "1970-01-01"} <= {typed_date for _, typed_date in placeholders}
    for person, _ in placeholders:  # the person's real birthdate, as truth has it
        (actual,) = attributes[person]["birthdate"]
        assert "1930" < actual < "2010"
