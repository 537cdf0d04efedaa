"""int_person_records from a hand-made snapshot, through extraction and the real dbt build."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from snapshot_helpers import BUSINESS_UNIT, write_snapshot

SOURCES = [
    {"name": "crm_emea", "kind": "salesforce", "region": "EMEA", "legal_entity": "Northwind Europe GmbH",
     "brands": ["northwind"], "countries": ["DE", "AT"]},
    {"name": "crm_na", "kind": "salesforce", "region": "NA", "legal_entity": "Northwind Americas Inc.",
     "brands": ["northwind", "contoso"], "countries": ["US"]},
    {"name": "ae_emea", "kind": "account_engagement", "region": "EMEA",
     "legal_entity": "Northwind Europe GmbH", "business_unit_id": BUSINESS_UNIT,
     "connected_crm": "crm_emea"},
]
STAMP = "2026-03-04T10:00:00.000+0000"
OBJECTS = {
    "crm_emea": {
        "Account": [{"Id": "001A00000000001AAA", "Name": "Müller Maschinenbau GmbH & Co. KG",
                     "SystemModstamp": STAMP}],
        "Contact": [{"Id": "003A00000000001AAA", "AccountId": "001A00000000001AAA", "FirstName": "Jürgen",
                     "LastName": "Müller-Łukasz", "Email": " J.Mueller+news@GoogleMail.com ",
                     "Phone": "030 1234567", "MailingCountry": "Deutschland", "Birthdate": "1980-02-29",
                     "HasOptedOutOfEmail": "true", "SystemModstamp": STAMP}],
        "Lead": [
            {"Id": "00QA00000000001AAA", "FirstName": "Jürgen", "LastName": "Mueller",
             "Email": "info@mueller.de",
             "Company": "Müller Maschinenbau GmbH", "Country": "Österreich", "Status": "Open - Not Contacted",
             "IsConverted": "true", "ConvertedContactId": "003A00000000001AAA", "SystemModstamp": STAMP},
            {"Id": "00QA00000000002AAA", "LastName": "Garbage", "Email": "not an email",
             "Phone": "call me maybe", "Country": "Atlantis", "Company": " Self Employed",
             "SystemModstamp": STAMP},
        ],
    },
    "crm_na": {
        "Lead": [{"Id": "00QB00000000001AAA", "FirstName": "Ann", "LastName": "Lee", "Email": "ann@acme.com",
                  "Phone": "(212) 555-0147", "Company": "Acme, Inc.", "Country": "U.S.",
                  "Brand__c": "contoso", "SystemModstamp": STAMP}],
    },
    "ae_emea": {
        "Prospect": [{"id": 7001, "email": "j.mueller@gmail.com", "firstName": "Jurgen", "lastName": "Muller",
                      "country": "DE", "optedOut": "false", "isDoNotEmail": "true",
                      "salesforceContactId": "003A00000000001AAA",
                      "updatedAt": "2026-03-04T10:00:00+00:00"}],
    },
}


@pytest.fixture(scope="module")
def person_records(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, dict]]:
    from aeglobal_pipeline.runner import run_pipeline
    from aeglobal_pipeline.sandbox.process import stop
    from aeglobal_pipeline.sandbox.snapshot import load_snapshot
    from aeglobal_pipeline.warehouse import connect

    home: Path = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AEGLOBAL_HOME", str(home))
        patch.setenv("DAGSTER_HOME", str(home / "dagster"))
        patch.delenv("AEGLOBAL_SOURCES", raising=False)
        load_snapshot(write_snapshot(home / "snap", OBJECTS, SOURCES), home)
        try:
            summary = run_pipeline(echo=lambda _: None)
            assert summary.success, summary.failures
            # Only the lifecycle check fails: two leads carry no Lead Status, which is flagged.
            failed = {check for check, passed in summary.checks.items() if not passed}
            assert failed == {"marts/kpi_lifecycle_by_region:every_status_mapped"}, failed
            with connect(read_only=True) as con:
                cursor = con.execute("select * from intermediate.int_person_records")
                names = [d[0] for d in cursor.description]
                rows = {row[0]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}
            yield rows
        finally:
            stop(home)


def test_one_row_per_person_bearing_record(person_records):
    assert set(person_records) == {
        "crm_emea:Contact:003A00000000001AAA", "crm_emea:Lead:00QA00000000001AAA",
        "crm_emea:Lead:00QA00000000002AAA", "crm_na:Lead:00QB00000000001AAA", "ae_emea:Prospect:7001",
    }


def test_contact_is_normalised_for_matching(person_records):
    contact = person_records["crm_emea:Contact:003A00000000001AAA"]
    assert contact["given_name"] == "Jürgen" and contact["given_name_norm"] == "jurgen"
    assert contact["family_name_norm"] == "muller-lukasz"
    assert contact["email"] == "j.mueller+news@googlemail.com"
    assert contact["email_norm"] == "jmueller@gmail.com"
    assert (contact["is_free_mail"], contact["is_role_mailbox"]) == (True, False)
    assert contact["phone_e164"] == "+49301234567"
    assert contact["country_code"] == "DE"
    assert contact["company"] == "Müller Maschinenbau GmbH & Co. KG"  # from its Account
    assert contact["company_norm"] == "muller maschinenbau"
    assert str(contact["birthdate"]) == "1980-02-29"
    assert (contact["email_opt_out"], contact["legal_entity"], contact["brand"]) == (
        True, "Northwind Europe GmbH", "northwind",
    )


def test_lead_links_and_role_mailbox(person_records):
    lead = person_records["crm_emea:Lead:00QA00000000001AAA"]
    assert lead["converted_contact_key"] == "crm_emea:Contact:003A00000000001AAA"
    assert lead["is_role_mailbox"] is True
    assert lead["country_code"] == "AT"
    assert lead["company_norm"] == "muller maschinenbau"
    na_lead = person_records["crm_na:Lead:00QB00000000001AAA"]
    assert (na_lead["country_code"], na_lead["phone_e164"], na_lead["company_norm"]) == (
        "US", "+12125550147", "acme",
    )
    assert na_lead["brand"] == "contoso"


def test_prospect_points_at_its_connected_crm_record(person_records):
    prospect = person_records["ae_emea:Prospect:7001"]
    assert prospect["crm_contact_key"] == "crm_emea:Contact:003A00000000001AAA"
    assert prospect["crm_lead_key"] is None
    assert prospect["email_opt_out"] is True  # isDoNotEmail counts as an email opt-out
    assert prospect["email_norm"] == "jmueller@gmail.com"


def test_garbage_values_become_null_without_losing_the_record(person_records):
    garbage = person_records["crm_emea:Lead:00QA00000000002AAA"]
    assert (garbage["email"], garbage["phone_e164"], garbage["country_code"]) == (None, None, None)
    assert garbage["family_name"] == "Garbage"
    # a placeholder in the mandatory Company field (seed placeholder_values) names no employer
    # to match on; the value as typed stays for value hygiene to flag
    assert (garbage["company"].strip(), garbage["company_norm"]) == ("Self Employed", None)
