"""Salutation as evidence that two records are two people.

Colleagues at one company who share family name, switchboard and office and have close given
names (Johanna / Johannes) are often told apart by nothing but "Ms." and "Mr.". A salutation is
sometimes wrong (a picklist default), so the person's own identifiers override it, and where
the given names are the same it is the salutation that is wrong; "Ms." and "Mrs." name one sex.
"""

from __future__ import annotations

from identity_reads import global_ids, scored_links
from standin import hand_record

from aeglobal_pipeline.identity.resolve import resolve_identities

OFFICE = {"company": "Brandt Logistik GmbH", "phone_e164": "+4940309981000", "street": "Hafenstraße 5",
          "postal_code": "20457", "city": "Hamburg", "country_code": "DE"}  # fmt: skip


def test_johanna_and_johannes_at_one_office_stay_apart_even_through_a_blank_salutation(identity_home):
    people = [
        hand_record("crm_emea:Contact:JR1", "Johanna", "Richter", salutation="Ms.", **OFFICE),
        hand_record("crm_emea:Contact:JR2", "Johannes", "Richter", salutation="Mr.", **OFFICE),
        # no salutation: close enough to either name to join it, so it must not join both
        hand_record("crm_emea:Lead:JR3", "Johanna", "Richter", **OFFICE),
    ]
    identity_home.reset_warehouse(people)
    resolve_identities(run_id="sal1")
    ids = global_ids()
    assert ids["crm_emea:Contact:JR1"] != ids["crm_emea:Contact:JR2"]
    links = scored_links("crm_emea:Contact:JR1", "crm_emea:Contact:JR2")
    assert [decision for decision, _ in links.values()] == ["kept_apart"]


def test_a_wrong_salutation_yields_to_the_persons_own_mobile_or_the_same_given_name(identity_home):
    mobile = {"mobile_e164": "+4915112345678"}
    people = [
        hand_record("crm_emea:Contact:FA1", "Francisca", "Alvarez", salutation="Ms.", **mobile, **OFFICE),
        # the picklist's default left on her lead, with a typo in her name: her mobile joins them
        hand_record("crm_emea:Lead:FA2", "Franziska", "Alvarez", salutation="Mr.", **mobile, **OFFICE),
        # her colleague: nothing of his own is shared
        hand_record("crm_emea:Lead:FA3", "Francisco", "Alvarez", salutation="Mr.", **OFFICE),
        # the same given name says one sex: the salutation is what is wrong
        hand_record("crm_emea:Lead:FA4", "Francisca", "Alvarez", salutation="Mr.", **OFFICE),
    ]
    identity_home.reset_warehouse(people)
    resolve_identities(run_id="sal2")
    ids = global_ids()
    assert ids["crm_emea:Contact:FA1"] == ids["crm_emea:Lead:FA2"] == ids["crm_emea:Lead:FA4"]
    assert ids["crm_emea:Lead:FA3"] != ids["crm_emea:Contact:FA1"]
    links = scored_links("crm_emea:Contact:FA1", "crm_emea:Lead:FA2")
    assert [decision for decision, _ in links.values()] == ["accepted"]


def test_ms_and_mrs_and_a_title_naming_no_sex_are_no_contradiction(identity_home):
    people = [
        hand_record("crm_emea:Contact:MK1", "Maria", "Keller", salutation="Ms.", **OFFICE),
        hand_record("crm_emea:Lead:MK2", "Maria", "Keller", salutation="Mrs.", **OFFICE),
        hand_record("crm_emea:Lead:MK3", "Maria", "Keller", salutation="Dr.", **OFFICE),
    ]
    identity_home.reset_warehouse(people)
    resolve_identities(run_id="sal3")
    ids = global_ids()
    assert ids["crm_emea:Contact:MK1"] == ids["crm_emea:Lead:MK2"] == ids["crm_emea:Lead:MK3"]
    links = scored_links("crm_emea:Contact:MK1", "crm_emea:Lead:MK2", "crm_emea:Lead:MK3")
    assert {decision for decision, _ in links.values()} == {"accepted"}
