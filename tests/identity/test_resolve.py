"""Identity resolution end to end on a tiny snapshot plus hand-made people.

Each test starts from a fresh warehouse (the trained model is shared) and runs the pipeline one
or more times, as `aeglobal run` would.
"""

from __future__ import annotations

import yaml
from identity_reads import decisions, global_ids
from standin import hand_record, put_records

from aeglobal_pipeline import warehouse
from aeglobal_pipeline.identity.resolve import resolve_identities
from aeglobal_pipeline.identity.stable_ids import LINEAGE_TABLE

# Two people with the same rare name at different companies, and a third person.
ZQ_WORK = [
    hand_record("crm_emea:Contact:ZQ1", "Zebulon", "Quartermaine", email="zq@acmetest.de",
                mobile_e164="+4915100000001", company="Acmetest GmbH", city="Berlin"),
    hand_record("crm_emea:Lead:ZQ2", "Zebulon", "Quartermaine", email="zq@acmetest.de",
                company="Acmetest GmbH", city="Berlin"),
]  # fmt: skip
ZQ_OTHER = [
    hand_record("crm_emea:Lead:ZQ3", "Zebulon", "Quartermaine", email="zebq77@gmx.de",
                mobile_e164="+4915100000002", company="Other Things AG", city="Hamburg"),
    # The AE connector links this prospect to the lead above: a deterministic link.
    hand_record("ae_emea:Prospect:ZQ4", "Zebulon", "Quartermaine", email="zebq77@gmx.de",
                crm_lead_key="crm_emea:Lead:ZQ3", company="Other Things AG", city="Hamburg"),
]  # fmt: skip
OF = [
    hand_record("crm_emea:Contact:OF1", "Ottoline", "Fairweather", email="ottoline@fairtest.de",
                mobile_e164="+4915100000003"),
    hand_record("crm_emea:Lead:OF2", "Ottoline", "Fairweather", email="ottoline@fairtest.de"),
    hand_record("ae_emea:Prospect:OF3", "Ottoline", "Fairweather", mobile_e164="+4915100000003",
                email="ottoline@fairtest.de"),
]  # fmt: skip


def _lineage(run_id: str) -> list[tuple]:
    with warehouse.connect(read_only=True) as con:
        return con.execute(
            f"SELECT global_person_id, event, other_global_person_id FROM {LINEAGE_TABLE} WHERE run_id = ?",  # noqa: S608
            [run_id],
        ).fetchall()


def _decide(identity_home, *decisions: tuple[str, str, str]) -> None:
    entries = [
        {"decision": kind, "records": [a, b], "by": "steward@example.com", "at": "2026-03-01", "why": "test"}
        for kind, a, b in decisions
    ]
    (identity_home.rules / "steward_decisions.yaml").write_text(yaml.safe_dump({"decisions": entries}))


def test_rerun_on_unchanged_data_keeps_every_id(identity_home):
    identity_home.reset_warehouse(ZQ_WORK + OF)
    resolve_identities(run_id="r1")
    first = global_ids()
    assert global_ids()["crm_emea:Contact:ZQ1"] == first["crm_emea:Lead:ZQ2"]
    _, summary = resolve_identities(run_id="r2")
    assert global_ids() == first
    assert _lineage("r2") == [] and summary.events == {}
    with warehouse.connect(read_only=True) as con:
        leftovers = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name LIKE '%splink%'"
        ).fetchall()[0][0]
    assert leftovers == 0  # Splink ran in memory only


def test_merge_keeps_the_older_id_and_is_recorded(identity_home):
    identity_home.reset_warehouse(ZQ_WORK)
    resolve_identities(run_id="m1")
    with warehouse.connect() as con:
        put_records(con, ZQ_OTHER)  # the namesake appears later: a separate, newer person
    resolve_identities(run_id="m2")
    ids = global_ids()
    older, newer = ids["crm_emea:Contact:ZQ1"], ids["crm_emea:Lead:ZQ3"]
    assert older != newer
    # One record changes: the second lead now carries the first person's work e-mail and company
    # (same human after all); its prospect stays linked to it, so the two persons merge.
    changed = hand_record(
        "crm_emea:Lead:ZQ3",
        "Zebulon",
        "Quartermaine",
        email="zq@acmetest.de",
        company="Acmetest GmbH",
        city="Berlin",
        mobile_e164="+4915100000001",
    )
    with warehouse.connect() as con:
        put_records(con, [changed])
    resolve_identities(run_id="m3")
    ids = global_ids()
    assert {ids[k] for k in ("crm_emea:Contact:ZQ1", "crm_emea:Lead:ZQ3", "ae_emea:Prospect:ZQ4")} == {older}
    assert (newer, "merged_into", older) in _lineage("m3")


def test_split_keeps_the_id_on_the_larger_part(identity_home):
    identity_home.reset_warehouse(OF)
    resolve_identities(run_id="s1")
    before = global_ids()["crm_emea:Contact:OF1"]
    assert global_ids()["ae_emea:Prospect:OF3"] == before
    # The prospect turns out to be someone else: new name, new mobile.
    with warehouse.connect() as con:
        put_records(con, [hand_record("ae_emea:Prospect:OF3", "Gwendolyn", "Stormcastle",
                                      mobile_e164="+4915100000009", email="gstorm@gmx.de")])  # fmt: skip
    resolve_identities(run_id="s2")
    ids = global_ids()
    assert ids["crm_emea:Contact:OF1"] == ids["crm_emea:Lead:OF2"] == before
    assert ids["ae_emea:Prospect:OF3"] != before
    assert (ids["ae_emea:Prospect:OF3"], "split_from", before) in _lineage("s2")


def test_cannot_link_splits_exactly_that_cluster_and_survives(identity_home):
    identity_home.reset_warehouse(OF + ZQ_WORK)
    resolve_identities(run_id="c1")
    before = global_ids()
    assert before["crm_emea:Contact:OF1"] == before["ae_emea:Prospect:OF3"]
    _decide(identity_home, ("cannot_link", "crm_emea:Contact:OF1", "ae_emea:Prospect:OF3"))
    resolve_identities(run_id="c2")
    after = global_ids()
    assert after["crm_emea:Contact:OF1"] != after["ae_emea:Prospect:OF3"]
    of_keys = {k for k in before if k.split(":")[2].startswith("OF")}
    assert {k for k in before if before[k] != after[k]} <= of_keys  # nothing else moved
    resolve_identities(run_id="c3")
    assert global_ids() == after


def test_must_link_joins_two_clusters(identity_home):
    identity_home.reset_warehouse(OF + ZQ_WORK)
    resolve_identities(run_id="j1")
    before = global_ids()
    assert before["crm_emea:Contact:OF1"] != before["crm_emea:Contact:ZQ1"]
    _decide(identity_home, ("must_link", "crm_emea:Contact:OF1", "crm_emea:Contact:ZQ1"))
    resolve_identities(run_id="j2")
    after = global_ids()
    joined = {after[k] for k in ("crm_emea:Contact:OF1", "crm_emea:Lead:OF2", "crm_emea:Contact:ZQ1",
                                 "crm_emea:Lead:ZQ2")}  # fmt: skip
    assert len(joined) == 1
    kept = joined.pop()
    retired = ({before["crm_emea:Contact:OF1"], before["crm_emea:Contact:ZQ1"]} - {kept}).pop()
    assert (retired, "merged_into", kept) in _lineage("j2")


def test_role_mailboxes_shared_by_different_people_do_not_merge_them(identity_home):
    office = {"company": "Brunsvik Handel GmbH", "phone_e164": "+4930123456", "street": "Hauptstr. 1",
              "postal_code": "10115", "city": "Berlin", "email": "info@brunsvik-handel.de"}  # fmt: skip
    people = [
        hand_record("crm_emea:Contact:RM1", "Hildegard", "Brunsvik", **office),
        hand_record("crm_emea:Lead:RM2", "Casimir", "Oyelaran", **office),
        # The connector matched the prospect's shared mailbox to Hildegard's contact.
        hand_record("ae_emea:Prospect:RM3", "Casimir", "Oyelaran", crm_contact_key="crm_emea:Contact:RM1",
                    **office),
    ]  # fmt: skip
    identity_home.reset_warehouse(people)
    resolve_identities(run_id="rm1")
    ids = global_ids()
    assert ids["crm_emea:Contact:RM1"] != ids["crm_emea:Lead:RM2"]
    assert ids["crm_emea:Contact:RM1"] != ids["ae_emea:Prospect:RM3"]
    with warehouse.connect(read_only=True) as con:
        decision = con.execute(
            "SELECT decision FROM identity.person_links WHERE record_key_a = ? AND record_key_b = ? "
            "AND decision LIKE '%must_link%'",
            ["ae_emea:Prospect:RM3", "crm_emea:Contact:RM1"],
        ).fetchall()
    assert decision == [("rejected_must_link:connector_link",)]


def test_a_close_name_without_an_employer_to_compare_needs_a_second_identifier(identity_home):
    """"Guo Chenghao" (one reading of "Chenghao Guo") on a record whose company is a placeholder:
    with no employer to compare, name, city and postal code are no second identifier (vetoed,
    not left for a steward as a near miss); the person's own mobile is (on a record that names
    no employer either)."""
    shanghai = {"city": "Shanghai", "country_code": "CN", "postal_code": "200120"}
    placeholder = {"company": "Individual Contacts", "company_norm": None}
    people = [
        hand_record("crm_apac:Contact:GC1", "Chenghao", "Guo", company="Apexnet Technology Co., Ltd.",
                    email="chenghao.guo@apexnet.cn", mobile_e164="+8613912345678", street="88 Century Avenue",
                    **shanghai),
        hand_record("crm_apac:Lead:GC2", "Guo", "Chenghao", **placeholder, **shanghai),
        hand_record("ae_apac:Prospect:GC3", "Chenghao", "Guo", mobile_e164="+8613912345678", **placeholder,
                    **shanghai),
    ]  # fmt: skip
    identity_home.reset_warehouse(people)
    resolve_identities(run_id="close1")
    ids = global_ids()
    assert ids["crm_apac:Contact:GC1"] == ids["ae_apac:Prospect:GC3"]
    assert ids["crm_apac:Lead:GC2"] != ids["crm_apac:Contact:GC1"]
    assert decisions("crm_apac:Contact:GC1", "crm_apac:Lead:GC2") == ["vetoed"]
