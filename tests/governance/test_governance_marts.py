"""golden_person, writeback_plan, identity_conflicts and findings on a tiny hand-made snapshot.

Person P1 lives in Germany (owning CRM: crm_emea) and also shows up in the NA legal entity:
    crm_emea Lead   a@northwind.de        opted in   DoNotCall  2024-01
    ae_emea Prospect a.alt@northwind.de   OPTED OUT             2025-01
    crm_na Contact  anna@us-corp.com      opted in   DO NOT CALL 2025-06   (other legal entity)
Person P2 (US) has one NA lead with an unmapped status and an undeclared custom field.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from snapshot_helpers import write_snapshot
from warehouse_helpers import build_warehouse, copy_rules, dbt, reload_rules, rows, run_dbt

SOURCES = [
    {"name": "crm_emea", "kind": "salesforce", "region": "EMEA", "legal_entity": "Northwind Europe GmbH",
     "brands": ["northwind"], "countries": ["DE", "AT"]},
    {"name": "crm_na", "kind": "salesforce", "region": "NA", "legal_entity": "Northwind Americas Inc.",
     "brands": ["northwind"], "countries": ["US"]},
    {"name": "ae_emea", "kind": "account_engagement", "region": "EMEA",
     "legal_entity": "Northwind Europe GmbH", "business_unit_id": "0UvEMEA0000000001",
     "connected_crm": "crm_emea"},
]
LEAD_DE = "00Q000000000001AAA"
CONTACT_NA = "003000000000001AAA"
LEAD_NA = "00Q000000000002AAA"
OBJECTS = {
    "crm_emea": {"Lead": [{
        "Id": LEAD_DE, "Salutation": "Frau",
        "FirstName": "Anna", "LastName": "Schmidt", "Email": "a@northwind.de",
        "Phone": "030 1234567", "Company": "Northwind", "Country": "DE", "Status": "Working - Contacted",
        "HasOptedOutOfEmail": "false", "DoNotCall": "false", "Global_Person_Id__c": "",
        "LastModifiedDate": "2024-01-10T10:00:00.000+0000", "IsDeleted": "false",
    }]},
    "ae_emea": {"Prospect": [{
        "id": "7001", "salutation": "",
        "email": "a.alt@northwind.de", "firstName": "Anna", "lastName": "Schmidt", "phone": "",
        "company": "Northwind",
        "country": "DE", "optedOut": "true", "isDoNotEmail": "false",
        "salesforceLeadId": LEAD_DE, "updatedAt": "2025-01-15T08:30:00+00:00", "isDeleted": "false",
    }]},
    "crm_na": {
        "Contact": [{
            "Id": CONTACT_NA, "Salutation": "Sig.ra",
            "FirstName": "Anna", "LastName": "Schmidt", "Email": "anna@us-corp.com",
            "Phone": "+1 212 555 0147", "MailingCountry": "DE", "HasOptedOutOfEmail": "false",
            "DoNotCall": "true", "Global_Person_Id__c": "GP_OLD",
            "LastModifiedDate": "2025-06-01T12:00:00.000+0000", "IsDeleted": "false",
        }],
        "Lead": [{
            "Id": LEAD_NA, "Salutation": "Mr",
            "FirstName": "Bob", "LastName": "Lee", "Email": "bob@acme.com", "Country": "US",
            "Status": "Mystery Status", "HasOptedOutOfEmail": "false", "DoNotCall": "false",
            "Legacy_Score__c": "17", "Global_Person_Id__c": "GP2",
            "LastModifiedDate": "2025-03-01T12:00:00.000+0000", "IsDeleted": "false",
        }],
    },
}
PERSONS = {
    f"crm_emea:Lead:{LEAD_DE}": "GP1", "ae_emea:Prospect:7001": "GP1",
    f"crm_na:Contact:{CONTACT_NA}": "GP1", f"crm_na:Lead:{LEAD_NA}": "GP2",
}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("governance")
    snapshot = write_snapshot(base / "snap", OBJECTS, SOURCES)
    rules = copy_rules(base / "identity_rules")
    warehouse = build_warehouse(base / "home", snapshot, PERSONS, rules,
                                grey_pairs=[(f"crm_emea:Lead:{LEAD_DE}", f"crm_na:Lead:{LEAD_NA}", 0.7)])
    run_dbt(warehouse)
    return warehouse, rules


def plan(warehouse: Path) -> dict[tuple[str, str], dict]:
    return {(r["record_id"], r["field"]): r for r in rows(warehouse, "select * from marts.writeback_plan")}


def test_golden_email_follows_owning_crm(built):
    warehouse, _ = built
    golden = rows(warehouse, "select * from marts.golden_person where global_person_id = 'GP1'")[0]
    assert golden["owning_crm"] == "crm_emea" and golden["home_country_code"] == "DE"
    assert golden["email"] == "a@northwind.de"
    assert golden["email__source"] == f"crm_emea:Lead:{LEAD_DE}"
    assert "owning_crm" in golden["email__rule"]
    assert golden["email_opt_out"] is True  # most restrictive, though the opt-out is not the newest
    assert golden["global_lifecycle_stage"] in {"MQL", "Customer"}


def test_opt_out_propagates_with_its_evidence(built):
    warehouse, _ = built
    changes = plan(warehouse)
    de_lead = changes[(LEAD_DE, "HasOptedOutOfEmail")]
    assert (de_lead["current_value"], de_lead["new_value"]) == ("false", "true")
    assert de_lead["value_source"] == "ae_emea:Prospect:7001"
    assert "2025-01-15T08:30:00Z" in de_lead["rule"]
    # consent.yaml: email opt-outs propagate globally and sharing.yaml lets them cross.
    assert changes[(CONTACT_NA, "HasOptedOutOfEmail")]["value_source"] == "ae_emea:Prospect:7001"
    # phone opt-outs stay within the legal entity: the NA DoNotCall does not reach the EMEA lead.
    assert (LEAD_DE, "DoNotCall") not in changes


def test_personal_data_does_not_cross_entities(built):
    warehouse, _ = built
    changes = plan(warehouse)
    assert (CONTACT_NA, "Email") not in changes  # the EMEA email may not enter the NA org
    assert (CONTACT_NA, "Phone") not in changes
    # within the EMEA entity the owning CRM's phone fills the AE prospect's empty one (E.164) ...
    assert changes[("7001", "phone")]["new_value"] == "+49301234567"
    assert changes[("7001", "phone")]["value_source"] == f"crm_emea:Lead:{LEAD_DE}"
    # ... but its e-mail, the prospect's mailing key, is never written (field_dictionary write_on)
    assert ("7001", "email") not in changes


def test_global_id_on_every_crm_record_and_not_on_prospects(built):
    warehouse, _ = built
    changes = plan(warehouse)
    assert changes[(LEAD_DE, "Global_Person_Id__c")]["new_value"] == "GP1"
    assert changes[(CONTACT_NA, "Global_Person_Id__c")]["current_value"] == "GP_OLD"
    assert (LEAD_NA, "Global_Person_Id__c") not in changes  # already right
    assert not [k for k in changes if k[0] == "7001" and k[1].startswith("Global")]


def test_salutation_names_a_sex_for_identity_and_is_never_written_back(built):
    warehouse, _ = built
    sexes = dict((r["record_id"], r["salutation_sex"]) for r in rows(
        warehouse, "select record_id, salutation_sex from intermediate.int_person_records"))
    assert sexes == {LEAD_DE: "f", "7001": None, CONTACT_NA: "f", LEAD_NA: "m"}
    seed = rows(warehouse, "select sex from reference.salutation_sex where salutation in ('ms', 'mrs')")
    assert {r["sex"] for r in seed} == {"f"} and len(seed) == 2  # marriage changes no sex
    changes = plan(warehouse)
    # The prospect's empty fields are filled from its person (its phone) but never its salutation.
    assert ("7001", "phone") in changes
    assert not [key for key in changes if key[1].lower() == "salutation"]


def test_dbt_unit_tests_pass(built):
    """The pipeline's dbt builds leave dbt's unit tests out (they check SQL a run cannot change);
    they run here, and a failing one fails this test (dbt exits non-zero)."""
    warehouse, _ = built
    output = dbt(warehouse, ["test", "--select", "resource_type:unit_test"])
    passed = re.search(r"PASS=(\d+)", output)
    assert passed and int(passed.group(1)) >= 6, output[-2000:]


def test_dbt_test_on_its_own_checks_every_person(built, tmp_path):
    """In a build, key tests of person-keyed models look only at the persons it redid; `dbt test`
    on its own must still see a duplicate anywhere."""
    import shutil

    import duckdb

    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(built[0], warehouse)
    with duckdb.connect(str(warehouse)) as con:
        # As after a completed build: nobody left to redo; then a duplicate candidate row.
        con.execute("delete from intermediate.int_governance__changed_persons")
        con.execute("""insert into intermediate.int_governance__candidates
                       select * from intermediate.int_governance__candidates limit 1""")
    with pytest.raises(AssertionError, match="unique_combination_int_governance__candidates"):
        dbt(warehouse, ["test", "--select", "int_governance__candidates"])


def test_checks_pass_and_findings_are_reported(built):
    import duckdb

    from aeglobal_pipeline.governance.checks import (
        find_consent_violations,
        find_sharing_violations,
        find_unmapped_statuses,
    )

    warehouse, _ = built
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert find_consent_violations(con) == []
        assert find_sharing_violations(con) == []
        unmapped = find_unmapped_statuses(con)
    assert [(u["source"], u["status"]) for u in unmapped] == [("crm_na", "Mystery Status")]
    found = rows(warehouse, "select * from marts.governance_findings")
    findings = {(f["finding_type"], f["subject"]) for f in found}
    assert ("undeclared_field", "Legacy_Score__c") in findings
    assert ("unmapped_status", "Mystery Status") in findings
    conflicts = rows(warehouse, "select * from marts.identity_conflicts")
    types = {(c["conflict_type"], c["field"]) for c in conflicts}
    assert ("field_disagreement", "email") in types and ("consent_disagreement", "email_opt_out") in types
    assert ("grey_zone_pair", None) in types


def test_changing_precedence_yaml_changes_golden_values_without_sql(built):
    warehouse, rules = built
    path = rules / "precedence.yaml"
    original = path.read_text(encoding="utf-8")
    data = yaml.safe_load(original)
    data["fields"]["email"] = {"strategy": "most_recent"}
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    try:
        reload_rules(warehouse, rules)
        run_dbt(warehouse, upstream=False)
        golden = rows(warehouse, "select * from marts.golden_person where global_person_id = 'GP1'")[0]
        assert golden["email"] == "anna@us-corp.com"  # the most recently modified record
        assert golden["email__rule"].startswith("most_recent")
        # A filled e-mail is a real contact point: never replaced by another (write: fill_empty),
        # and still no personal data across entities.
        changes = plan(warehouse)
        assert (LEAD_DE, "Email") not in changes
        assert (CONTACT_NA, "Email") not in changes
    finally:
        path.write_text(original, encoding="utf-8")
        reload_rules(warehouse, rules)
        run_dbt(warehouse, upstream=False)
