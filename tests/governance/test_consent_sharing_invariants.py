"""Consent and sharing invariants on demo data and on hypothesis-generated populations.

The oracle here is written in Python from the YAML rules, independently of the SQL models:
- every consent change in the plan is an opt-out (never an opt-in over an opt-out) whose
  value_source record really opted out;
- every record that may receive an opt-out and lacks it gets one (email: anywhere the person
  opted out; phone: within the legal entity), and no phone opt-out crosses an entity;
- every plan row's value comes from the target's own legal entity unless sharing.yaml lets that
  canonical field cross.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from snapshot_helpers import write_snapshot
from standin_identity import persons_from_truth
from warehouse_helpers import ROOT, build_warehouse, copy_rules, rows, run_dbt

from aeglobal_pipeline.governance.checks import find_consent_violations, find_sharing_violations

CONSENT_FIELDS = {
    "HasOptedOutOfEmail": "email_opt_out", "optedOut": "email_opt_out", "DoNotCall": "phone_opt_out",
}  # fmt: skip


def api_to_field() -> dict[tuple[str, str], str]:
    dictionary = yaml.safe_load((ROOT / "identity_rules/field_dictionary.yaml").read_text(encoding="utf-8"))
    return {(obj, api): field for field, spec in dictionary["central_fields"].items()
            for obj, api in spec.get("api_names", {}).items()}


def assert_invariants(warehouse: Path) -> int:
    sharing = yaml.safe_load((ROOT / "identity_rules/sharing.yaml").read_text(encoding="utf-8"))
    crossing = set(sharing["cross_entity_fields"])
    fields = api_to_field()
    records = {r["record_key"]: r for r in rows(warehouse, """
        select p.*, m.global_person_id from intermediate.int_person_records p
        join identity.global_person_map m using (record_key) where not p.is_deleted""")}
    plan = rows(warehouse, "select * from marts.writeback_plan")
    planned = {(f"{p['target_source']}:{p['object']}:{p['record_id']}", p["field"]): p for p in plan}

    for row in plan:
        target = records[f"{row['target_source']}:{row['object']}:{row['record_id']}"]
        source = records[row["value_source"]]
        field = fields[(row["object"], row["field"])]
        if source["legal_entity"] != target["legal_entity"]:
            assert field in crossing, row
        if row["field"] in CONSENT_FIELDS:
            assert row["new_value"] == "true" and row["current_value"] != "true", row
            assert source[CONSENT_FIELDS[row["field"]]] is True, row
            if field == "phone_opt_out":
                assert source["legal_entity"] == target["legal_entity"], row

    # completeness: opt-outs reach every record that can hold them
    api = {
        ("Lead", "email_opt_out"): "HasOptedOutOfEmail", ("Contact", "email_opt_out"): "HasOptedOutOfEmail",
        ("Prospect", "email_opt_out"): "optedOut", ("Lead", "phone_opt_out"): "DoNotCall",
        ("Contact", "phone_opt_out"): "DoNotCall",
    }  # fmt: skip
    for key, record in records.items():
        if record["object"] == "Lead" and record["converted_contact_key"]:
            continue  # converted leads are read-only
        same_person = [r for r in records.values() if r["global_person_id"] == record["global_person_id"]]
        for field, scope in (("email_opt_out", "global"), ("phone_opt_out", "legal_entity")):
            api_name = api.get((record["object"], field))
            if api_name is None or record[field]:
                continue
            reachable = [r for r in same_person
                         if scope == "global" or r["legal_entity"] == record["legal_entity"]]
            if any(r[field] for r in reachable):
                assert (key, api_name) in planned, (key, field)
    return len(plan)


def test_invariants_on_generated_demo_data(tmp_path: Path):
    from aeglobal_pipeline.sandbox.generate import generate_snapshot

    summary = generate_snapshot(120, 11, tmp_path / "snap")
    persons = persons_from_truth(summary.truth_path)
    warehouse = build_warehouse(tmp_path / "home", tmp_path / "snap", persons,
                                copy_rules(tmp_path / "identity_rules"))
    run_dbt(warehouse)
    assert assert_invariants(warehouse) > 0
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert find_consent_violations(con) == [] and find_sharing_violations(con) == []


# --- hypothesis: random populations over three systems in two legal entities ----------------

SOURCES = [
    {"name": "crm_emea", "kind": "salesforce", "region": "EMEA", "legal_entity": "EU GmbH",
     "countries": ["DE", "AT"]},
    {"name": "crm_na", "kind": "salesforce", "region": "NA", "legal_entity": "US Inc.", "countries": ["US"]},
    {"name": "ae_emea", "kind": "account_engagement", "region": "EMEA", "legal_entity": "EU GmbH",
     "business_unit_id": "0UvEMEA0000000001", "connected_crm": "crm_emea"},
    {"name": "ae_na", "kind": "account_engagement", "region": "NA", "legal_entity": "US Inc.",
     "business_unit_id": "0UvNA000000000001", "connected_crm": "crm_na"},
]
SYSTEM_OBJECTS = [("crm_emea", "Lead"), ("crm_emea", "Contact"), ("crm_na", "Lead"), ("crm_na", "Contact"),
                  ("ae_emea", "Prospect"), ("ae_na", "Prospect")]  # fmt: skip

record = st.fixed_dictionaries({
    "system": st.sampled_from(SYSTEM_OBJECTS),
    "email": st.sampled_from(["a@x.com", "b@x.com", "", "c@y.de"]),
    "email_opt_out": st.booleans(),
    "phone_opt_out": st.booleans(),
    "country": st.sampled_from(["DE", "US", "AT", ""]),
    "day": st.integers(min_value=1, max_value=28),
})
population = st.lists(st.lists(record, min_size=1, max_size=4), min_size=1, max_size=12)


def write_population(directory: Path, people: list[list[dict]]) -> dict[str, str]:
    objects: dict[str, dict[str, list[dict]]] = {}
    persons: dict[str, str] = {}
    for p, person in enumerate(people):
        for r, rec in enumerate(person):
            source, obj = rec["system"]
            stamp = f"2025-03-{rec['day']:02d}T10:00:00.000+0000"
            if obj == "Prospect":
                rid = str(1000 * (p + 1) + r)
                row = {"id": rid, "email": rec["email"], "firstName": "Ann", "lastName": f"P{p}",
                       "country": rec["country"], "optedOut": str(rec["email_opt_out"]).lower(),
                       "isDoNotEmail": "false", "updatedAt": stamp, "isDeleted": "false"}
            else:
                rid = f"{'00Q' if obj == 'Lead' else '003'}{p:06d}{r:06d}AAA"
                row = {"Id": rid, "FirstName": "Ann", "LastName": f"P{p}", "Email": rec["email"],
                       "Country" if obj == "Lead" else "MailingCountry": rec["country"],
                       "Status": "New" if source == "crm_na" else "Nurturing",
                       "HasOptedOutOfEmail": str(rec["email_opt_out"]).lower(),
                       "DoNotCall": str(rec["phone_opt_out"]).lower(), "Global_Person_Id__c": "",
                       "LastModifiedDate": stamp, "IsDeleted": "false"}
                if obj == "Contact":
                    row.pop("Status")
            objects.setdefault(source, {}).setdefault(obj, []).append(row)
            persons[f"{source}:{obj}:{rid}"] = f"GP{p}"
    write_snapshot(directory, objects, SOURCES)
    return persons


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(people=population)
def test_invariants_on_generated_populations(people):
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        persons = write_population(base / "snap", people)
        rules = copy_rules(base / "identity_rules")
        warehouse = build_warehouse(base / "home", base / "snap", persons, rules)
        run_dbt(warehouse)
        assert_invariants(warehouse)
        with duckdb.connect(str(warehouse), read_only=True) as con:
            assert find_consent_violations(con) == [] and find_sharing_violations(con) == []
