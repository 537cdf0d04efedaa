"""Issue 14: a write makes the record more right (DESIGN rule 8), on a small hand-made snapshot.

Three systems of one legal entity (Northwind Europe GmbH): crm_emea (owning CRM of German
persons), crm_uk and ae_emea. Each person exercises one rule:
    P1 typo      the owning CRM's "Clrak" loses to the "Clark" two other records share
    P2 contact   a personal e-mail is never replaced by the work e-mail two records share
    P3 hygiene   placeholders, markup, bidi, a formula, a 300-character company, a misspelled
                 provider domain, an invalid phone: never written, each a finding (and an
                 employer-bound phone filled within the current employer)
    P4 format    "030 1234567" vs "+49 30 1234567": nothing planned unless phone opts in
    P5 role      a role mailbox (info@) is never copied to another record
    P6 weak      a record attached below thresholds.write_probability gets the global id only
    P7 typo mail "nachijet.das@…" beside "Nachiket" on three records stays on its record (a
                 finding); P8, "simone.mueller@…" for Simone Müller, is copied. P18
                 "eduadromacedo@…" (the surname intact, the given name mistyped) and P19
                 "larriibas79@…" (an initial before a mistyped surname) stay on their records
                 too; P20 "bkerksma@…" (an initial before the surname) is copied
    P9 role (nl) "administratie@…" is a role mailbox, never copied
    P10/P11 swap "Murakami Kaori" beside "Kaori Murakami" twice is left alone (margin 1); beside
                 "Taro Yamada" three times, "Yamada Taro" is corrected (margin 3)
    P12 private  company "Privat" is a placeholder
    P13 initial  "J." is never written into an empty FirstName; "이", a whole Korean family name,
                 is no initial and is written
    P16 chain    a phone is copied to a record linked directly to its holder, not to one that
                 joins the person only through a third record
    P17 full     the full name in LastName, FirstName empty: one plan writes both FirstName
                 and LastName (not LastName only in the next run, once FirstName holds "Celso")
    P15 refused  a value hygiene refused (placeholder company, misspelled provider domain) counts
                 as empty for fill_empty: the valid value fills it
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import yaml
from snapshot_helpers import write_snapshot
from warehouse_helpers import build_warehouse, copy_rules, reload_rules, rows, run_dbt

from aeglobal_pipeline.report.queries import FINDINGS_SQL, GOVERNANCE_ORDER

ENTITY = "Northwind Europe GmbH"
SOURCES = [
    {"name": "crm_emea", "kind": "salesforce", "region": "EMEA", "legal_entity": ENTITY,
     "brands": ["northwind"], "countries": ["DE", "AT"]},
    {"name": "crm_uk", "kind": "salesforce", "region": "EMEA", "legal_entity": ENTITY,
     "brands": ["northwind"], "countries": ["GB"]},
    {"name": "ae_emea", "kind": "account_engagement", "region": "EMEA", "legal_entity": ENTITY,
     "business_unit_id": "0UvEMEA0000000001", "connected_crm": "crm_emea"},
]
LONG_COMPANY = "X" * 300


def lead(n: int, first: str, last: str, email: str = "", phone: str = "", company: str = "Northwind",
         modified: str = "2024-01-01") -> dict:
    return {"Id": f"00Q{n:012d}AAA", "FirstName": first, "LastName": last, "Email": email, "Phone": phone,
            "Company": company, "Country": "DE", "Status": "Open", "HasOptedOutOfEmail": "false",
            "DoNotCall": "false", "Global_Person_Id__c": "", "IsDeleted": "false",
            "LastModifiedDate": f"{modified}T10:00:00.000+0000"}


def contact(n: int, first: str, last: str, email: str = "") -> dict:
    return {"Id": f"003{n:012d}AAA", "FirstName": first, "LastName": last, "Email": email, "Phone": "",
            "MailingCountry": "DE", "HasOptedOutOfEmail": "false", "DoNotCall": "false",
            "Global_Person_Id__c": "", "IsDeleted": "false",
            "LastModifiedDate": "2024-01-01T10:00:00.000+0000"}


OBJECTS = {
    "crm_emea": {"Lead": [
        lead(1, "Anna", "Clrak", "anna.clark@northwind.de", modified="2026-01-01"),
        lead(2, "Jan", "Nowak", "jan.nowak@gmail.com"),
        lead(3, "Maria", "Garcia", "maria@gnail.com", "12345", '=HYPERLINK("http://x")'),
        lead(5, "Eva", "Braun", phone="030 1234567"),
        lead(6, "Karl", "Weber", "info@acme-gmbh.de"),
        lead(7, "Otto", "Kranz", "otto@kranz.de"),
        lead(8, "Nachiket", "Das", "nachijet.das@globalprime.in"),
        lead(9, "Simone", "Müller", "simone.mueller@zellmeier.de"),
        lead(40, "Pieter", "Jansen", "administratie@maasware.be"),
        lead(30, "Kaori", "Murakami"),
        lead(33, "Taro", "Yamada"),
        lead(36, "Lena", "Vogel", company="Privat"),
        lead(42, "J.", "Weiss"),
        lead(44, "Minji", "이"),
        lead(50, "Lena", "Vogt", "lena.vogt@gmx.de", company="Vogt Design"),
        lead(51, "Lena", "Vogt", "lena.vogt@gmail.cm", company="Vogt Design"),
        lead(60, "Greta", "Lind", phone="+49 30 7654321"),
        lead(70, "Celso", "Baeza"),
        lead(80, "Eduardo", "Macedo", "eduadromacedo@web.de"),
        lead(82, "Lucia", "Arribas", "larriibas79@gmail.com"),
        lead(84, "Bart", "Kerksma", "bkerksma@gmail.com"),
    ]},
    "crm_uk": {
        "Lead": [
            lead(11, "Anna", "Clark", "anna.clark@northwind.de"),
            lead(12, "Jan", "Nowak", "jan.nowak@northwind.de"),
            lead(13, "Unknown", "Garcia"),
            lead(14, "Ma\u202eria", "<b>Garcia</b>", "<script>x</script>@evil.com", "+49 30 1234567"),
            lead(15, "Eva", "Braun", phone="+49 30 1234567"),
            lead(16, "Karl", "Weber", company=LONG_COMPANY),
            lead(17, "Otto", "Kranz"),
            lead(18, "Nachiket", "Das"),
            lead(19, "Simone", "Müller"),
            lead(41, "Pieter", "Jansen"),
            lead(31, "Kaori", "Murakami"),
            lead(34, "Taro", "Yamada"),
            lead(37, "Lena", "Vogel"),
            lead(43, "", "Weiss"),
            lead(45, "Minji", ""),
            lead(61, "Greta", "Lind"),
            lead(62, "Greta", "Lind"),
            lead(71, "", "Celso Baeza-Zapata"),
            lead(81, "Eduardo", "Macedo"),
            lead(83, "Lucia", "Arribas"),
            lead(85, "Bart", "Kerksma"),
        ],
        "Contact": [contact(21, "Anna", "Clark"), contact(22, "Jan", "Nowak", "jan.nowak@northwind.de"),
                    contact(23, "Nachiket", "Das"), contact(24, "Simone", "Muller"),
                    contact(32, "Murakami", "Kaori"), contact(35, "Taro", "Yamada"),
                    contact(86, "Eduardo", "Macedo"), contact(87, "Lucia", "Arribas"),
                    contact(88, "Bart", "Kerksma")],
    },
    "ae_emea": {"Prospect": [{
        "id": "7002", "email": "jnowak@gmail.com", "firstName": "Jan", "lastName": "Nowak", "phone": "",
        "country": "DE", "optedOut": "false", "isDoNotEmail": "false",
        "updatedAt": "2025-01-15T08:30:00+00:00", "isDeleted": "false",
    }, {
        "id": "7003", "email": "taro.yamada@gmail.com", "firstName": "Yamada", "lastName": "Taro",
        "phone": "", "country": "DE", "optedOut": "false", "isDoNotEmail": "false",
        "updatedAt": "2025-01-15T08:30:00+00:00", "isDeleted": "false",
    }, {
        "id": "7004", "email": "lena.vogt@gmx.de", "firstName": "Lena", "lastName": "Vogt", "phone": "",
        "company": "n/a", "country": "DE", "optedOut": "false", "isDoNotEmail": "false",
        "updatedAt": "2025-01-15T08:30:00+00:00", "isDeleted": "false",
    }]},
}


def key(source: str, obj: str, n: int | str) -> str:
    prefix = {"Lead": "00Q", "Contact": "003"}.get(obj)
    return f"{source}:{obj}:{prefix}{n:012d}AAA" if prefix else f"{source}:{obj}:{n}"


PERSONS = {
    key("crm_emea", "Lead", 1): "P1", key("crm_uk", "Lead", 11): "P1", key("crm_uk", "Contact", 21): "P1",
    key("crm_emea", "Lead", 2): "P2", key("crm_uk", "Lead", 12): "P2", key("crm_uk", "Contact", 22): "P2",
    key("ae_emea", "Prospect", 7002): "P2",
    key("crm_emea", "Lead", 3): "P3", key("crm_uk", "Lead", 13): "P3", key("crm_uk", "Lead", 14): "P3",
    key("crm_emea", "Lead", 5): "P4", key("crm_uk", "Lead", 15): "P4",
    key("crm_emea", "Lead", 6): "P5", key("crm_uk", "Lead", 16): "P5",
    key("crm_emea", "Lead", 7): "P6", key("crm_uk", "Lead", 17): "P6",
    key("crm_emea", "Lead", 8): "P7", key("crm_uk", "Lead", 18): "P7", key("crm_uk", "Contact", 23): "P7",
    key("crm_emea", "Lead", 9): "P8", key("crm_uk", "Lead", 19): "P8", key("crm_uk", "Contact", 24): "P8",
    key("crm_emea", "Lead", 40): "P9", key("crm_uk", "Lead", 41): "P9",
    key("crm_emea", "Lead", 30): "P10", key("crm_uk", "Lead", 31): "P10", key("crm_uk", "Contact", 32): "P10",
    key("crm_emea", "Lead", 33): "P11", key("crm_uk", "Lead", 34): "P11", key("crm_uk", "Contact", 35): "P11",
    key("ae_emea", "Prospect", 7003): "P11",
    key("crm_emea", "Lead", 36): "P12", key("crm_uk", "Lead", 37): "P12",
    key("crm_emea", "Lead", 42): "P13", key("crm_uk", "Lead", 43): "P13",
    key("crm_emea", "Lead", 44): "P14", key("crm_uk", "Lead", 45): "P14",
    key("crm_emea", "Lead", 50): "P15", key("crm_emea", "Lead", 51): "P15",
    key("ae_emea", "Prospect", 7004): "P15",
    key("crm_emea", "Lead", 60): "P16", key("crm_uk", "Lead", 61): "P16", key("crm_uk", "Lead", 62): "P16",
    key("crm_emea", "Lead", 70): "P17", key("crm_uk", "Lead", 71): "P17",
    key("crm_emea", "Lead", 80): "P18", key("crm_uk", "Lead", 81): "P18", key("crm_uk", "Contact", 86): "P18",
    key("crm_emea", "Lead", 82): "P19", key("crm_uk", "Lead", 83): "P19", key("crm_uk", "Contact", 87): "P19",
    key("crm_emea", "Lead", 84): "P20", key("crm_uk", "Lead", 85): "P20", key("crm_uk", "Contact", 88): "P20",
}
WEAK = key("crm_uk", "Lead", 17)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("write_policy")
    snapshot = write_snapshot(base / "snap", OBJECTS, SOURCES)
    rules = copy_rules(base / "identity_rules")
    warehouse = build_warehouse(base / "home", snapshot, PERSONS, rules)
    with duckdb.connect(str(warehouse)) as con:  # identity attached this record by a weak edge
        con.execute("update identity.global_person_map set match_probability = 0.97 where record_key = ?",
                    [WEAK])
        # P16 is a chain: the phone's record and the last one were never linked to each other
        con.execute("delete from identity.person_links where record_key_a = ? and record_key_b = ?",
                    sorted([key("crm_emea", "Lead", 60), key("crm_uk", "Lead", 62)]))
    run_dbt(warehouse)
    return warehouse, rules


def plan(warehouse: Path) -> dict[tuple[str, str], dict]:
    found = rows(warehouse, "select * from marts.writeback_plan")
    return {(f"{r['target_source']}:{r['object']}:{r['record_id']}", r["field"]): r for r in found}


def test_a_typo_in_the_owning_crm_loses_to_the_form_two_records_share(built):
    warehouse, _ = built
    golden = rows(warehouse, "select * from marts.golden_person where global_person_id = 'P1'")[0]
    assert golden["family_name"] == "Clark"
    fix = plan(warehouse)[(key("crm_emea", "Lead", 1), "LastName")]
    assert (fix["current_value"], fix["new_value"]) == ("Clrak", "Clark")
    assert "write correct" in fix["rule"]
    # a work e-mail is employer-bound: the contact, whose employer is unknown, does not get it
    assert (key("crm_uk", "Contact", 21), "Email") not in plan(warehouse)


def test_a_personal_email_is_never_replaced_by_a_work_email(built):
    warehouse, _ = built
    golden = rows(warehouse, "select email from marts.golden_person where global_person_id = 'P2'")[0]
    assert golden["email"] == "jan.nowak@northwind.de"  # the better supported address is golden ...
    changes = plan(warehouse)
    assert (key("crm_emea", "Lead", 2), "Email") not in changes  # ... but never written over another
    assert (key("ae_emea", "Prospect", 7002), "email") not in changes  # the prospect's mailing key


def test_invalid_values_are_never_written_and_each_is_a_finding(built):
    warehouse, _ = built
    changes = plan(warehouse)
    written = {row["new_value"] for row in changes.values()}
    for bad in ["maria@gnail.com", "12345", '=HYPERLINK("http://x")', "Unknown", "Ma\u202eria",
                "<b>Garcia</b>", "<script>x</script>@evil.com", LONG_COMPANY]:
        assert bad not in written
    # an invalid phone is never written, and a filled (even invalid) phone is not replaced
    assert (key("crm_emea", "Lead", 3), "Phone") not in changes
    assert changes[(key("crm_uk", "Lead", 13), "Phone")]["new_value"] == "+49301234567"
    # a placeholder name is corrected (names: write correct), its e-mail stays empty: no valid one
    assert changes[(key("crm_uk", "Lead", 13), "FirstName")]["new_value"] == "Maria"
    assert (key("crm_uk", "Lead", 13), "Email") not in changes
    findings = rows(warehouse, "select subject, detail from marts.governance_findings "
                               "where finding_type = 'invalid_value'")
    reasons = {(f["subject"].split(" ")[0], f["detail"].split(" — ")[0]) for f in findings}
    expected = {
        (key("crm_emea", "Lead", 3), "email: misspelled provider domain (gnail.com)"),
        (key("crm_emea", "Lead", 3), "phone: invalid phone number"),
        (key("crm_emea", "Lead", 3), "company: formula-leading text"),
        (key("crm_uk", "Lead", 13), "given_name: placeholder"),
        (key("crm_uk", "Lead", 14), "given_name: control or bidi character"),
        (key("crm_uk", "Lead", 14), "family_name: markup"),
        (key("crm_uk", "Lead", 14), "email: markup"),
        (key("crm_uk", "Lead", 16), "company: longer than the target field (255 characters)"),
    }
    assert expected <= reasons, expected - reasons


def test_a_refused_value_counts_as_empty_for_fill_empty(built):
    warehouse, _ = built
    changes = plan(warehouse)
    company = changes[(key("ae_emea", "Prospect", 7004), "company")]
    assert (company["current_value"], company["new_value"]) == ("n/a", "Vogt Design")
    assert "(placeholder)" in company["rule"]
    email = changes[(key("crm_emea", "Lead", 51), "Email")]
    assert (email["current_value"], email["new_value"]) == ("lena.vogt@gmail.cm", "lena.vogt@gmx.de")
    # the valid address is not touched, and the prospect's e-mail (its mailing key) never is
    assert (key("crm_emea", "Lead", 50), "Email") not in changes
    assert (key("ae_emea", "Prospect", 7004), "email") not in changes


def test_a_contact_point_is_copied_only_over_a_direct_link(built):
    warehouse, _ = built
    changes = plan(warehouse)
    assert changes[(key("crm_uk", "Lead", 61), "Phone")]["new_value"] == "+49307654321"
    assert (key("crm_uk", "Lead", 62), "Phone") not in changes
    # the name and the global id still reach the chained record: only contact points need the link
    assert (key("crm_uk", "Lead", 62), "Global_Person_Id__c") in changes


def test_a_role_mailbox_is_never_copied(built):
    warehouse, _ = built
    changes = plan(warehouse)
    assert (key("crm_uk", "Lead", 16), "Email") not in changes
    assert (key("crm_uk", "Lead", 41), "Email") not in changes  # administratie@: Dutch


def test_an_email_one_edit_from_the_persons_name_stays_on_its_record(built):
    warehouse, _ = built
    changes = plan(warehouse)
    assert (key("crm_uk", "Lead", 18), "Email") not in changes
    # a mistyped name beside the intact one, or after an initial, is a typo just the same
    assert (key("crm_uk", "Lead", 81), "Email") not in changes
    assert (key("crm_uk", "Lead", 83), "Email") not in changes
    # the same shape with the person's own name (ü written ue), or with an initial, is copied
    assert changes[(key("crm_uk", "Lead", 19), "Email")]["new_value"] == "simone.mueller@zellmeier.de"
    assert changes[(key("crm_uk", "Lead", 85), "Email")]["new_value"] == "bkerksma@gmail.com"
    findings = rows(warehouse, "select subject, detail from marts.governance_findings "
                               "where finding_type = 'suspected_typo' order by detail")
    assert sorted(f["subject"] for f in findings) == sorted(
        key("crm_emea", "Lead", n) + " email" for n in (8, 80, 82))
    findings = [f for f in findings if f["subject"] == key("crm_emea", "Lead", 8) + " email"]
    assert findings[0]["detail"].startswith(
        'email: local part "nachijet" is 1 edit(s) from the person\'s name "nachiket" — '
        '"nachijet.das@globalprime.in" stays on its record and is never copied to another')
    # the steward report's line for it says what to do
    with duckdb.connect(str(warehouse), read_only=True) as con:
        lines = con.execute(FINDINGS_SQL, {"order": GOVERNANCE_ORDER}).fetchall()
    actions = {line[1]: line[-2] for line in lines}
    assert actions["suspected_typo"].startswith("confirm the address with the person")


def test_swapped_names_are_corrected_only_with_a_margin_of_two_records(built):
    warehouse, _ = built
    changes = plan(warehouse)
    ambiguous = key("crm_uk", "Contact", 32)  # Murakami Kaori beside Kaori Murakami twice
    assert not [k for k in changes if k[0] == ambiguous and k[1] in ("FirstName", "LastName")]
    swapped = key("ae_emea", "Prospect", 7003)  # Yamada Taro beside Taro Yamada three times
    assert changes[(swapped, "firstName")]["new_value"] == "Taro"
    assert changes[(swapped, "lastName")]["new_value"] == "Yamada"


def test_a_private_person_as_company_is_a_placeholder(built):
    warehouse, _ = built
    findings = rows(warehouse, "select subject, detail from marts.governance_findings "
                               "where finding_type = 'invalid_value' and subject = ?",
                    [key("crm_emea", "Lead", 36) + " company"])
    assert [f["detail"].split(" — ")[0] for f in findings] == ["company: placeholder"]


def test_a_weakly_attached_record_gets_the_global_id_only(built):
    warehouse, _ = built
    changes = plan(warehouse)
    assert [field for (record, field) in changes if record == WEAK] == ["Global_Person_Id__c"]
    # its strongly attached sibling would have received the e-mail: the gate made the difference
    weak = rows(warehouse, "select * from marts.governance_findings where finding_type = 'weak_attachment'")
    assert [(w["source"], w["object"], w["record_count"]) for w in weak] == [("crm_uk", "Lead", 1)]


def test_a_format_only_difference_plans_nothing_unless_the_field_opts_in(built):
    warehouse, rules = built
    phones = [key("crm_emea", "Lead", 5), key("crm_uk", "Lead", 15)]
    assert not [k for k in plan(warehouse) if k[0] in phones and k[1] == "Phone"]
    path = rules / "field_dictionary.yaml"
    original = path.read_text(encoding="utf-8")
    data = yaml.safe_load(original)
    data["central_fields"]["phone"]["normalize_on_write"] = True
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    try:
        reload_rules(warehouse, rules)
        run_dbt(warehouse, upstream=False)
        written = [r for k, r in plan(warehouse).items() if k[0] in phones and k[1] == "Phone"]
        assert [r["new_value"] for r in written] == ["+49301234567"]
    finally:
        path.write_text(original, encoding="utf-8")
        reload_rules(warehouse, rules)
        run_dbt(warehouse, upstream=False)


def test_plan_checks_pass_and_catch_each_kind_of_bad_row(built, tmp_path):
    import shutil

    from aeglobal_pipeline.governance.plan_checks import (
        find_formula_values,
        find_invalid_new_values,
        find_overlong_values,
        find_replaced_contact_points,
    )

    finders = [find_invalid_new_values, find_replaced_contact_points, find_overlong_values,
               find_formula_values]
    with duckdb.connect(str(built[0]), read_only=True) as con:
        assert [finder(con) for finder in finders] == [[], [], [], []]
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(built[0], copy)
    bad = [("Phone", None, "+10897693440"), ("Email", "jan@gmail.com", "jan@northwind.de"),
           ("Company", None, "Y" * 256), ("FirstName", None, "=cmd|' /C calc'!A0"),
           # placeholder addresses (placeholder_values.csv) are no contact point: filling them is right
           ("Email", "bench12@example.com", "jan@northwind.de"),
           ("Email", "unknown@northwind.de", "jan@northwind.de")]
    with duckdb.connect(str(copy)) as con:
        con.executemany(
            "insert into marts.writeback_plan values ('crm_uk', 'Lead', ?, ?, ?, ?, 'x', 'test', 'P9')",
            [(f"BAD{i}", field, current, new) for i, (field, current, new) in enumerate(bad)],
        )
        caught = [[row["record_id"] for row in finder(con)] for finder in finders]
    assert caught == [["BAD0"], ["BAD1"], ["BAD2"], ["BAD3"]]


def test_an_initial_is_never_written_but_a_one_character_cjk_name_is(built):
    warehouse, _ = built
    changes = plan(warehouse)
    assert (key("crm_uk", "Lead", 43), "FirstName") not in changes
    assert changes[(key("crm_uk", "Lead", 45), "LastName")]["new_value"] == "이"


def test_the_full_name_in_lastname_is_fixed_in_the_plan_that_fills_firstname(built):
    warehouse, _ = built
    changes = plan(warehouse)
    full = key("crm_uk", "Lead", 71)  # "" / "Celso Baeza-Zapata" beside "Celso" / "Baeza"
    assert changes[(full, "FirstName")]["new_value"] == "Celso"
    assert (changes[(full, "LastName")]["current_value"], changes[(full, "LastName")]["new_value"]) == (
        "Celso Baeza-Zapata", "Baeza",
    )  # fmt: skip
