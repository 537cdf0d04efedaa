"""One person's name typed in another order or into one field.

"Guo Chenghao" beside "Chenghao Guo" at one company is one person typed family first: no one's
family name is Chenghao. "Wei Zhang" beside "Zhang Wei" may be two colleagues (Wei is a family
name too), so only the person's own identifiers join those. "Josep Rovira" typed into LastName
with FirstName left empty is the name "Josep" + "Rovira"; two records holding only one
compound family name ("García López") may be two relatives and are not made one name.
"""

from __future__ import annotations

from identity_reads import global_ids, scored_links
from standin import hand_record

from aeglobal_pipeline.identity.resolve import resolve_identities

APEX = {"company": "Apexnet Technology Co., Ltd.", "phone_e164": "+862155501000",
        "street": "88 Century Avenue", "postal_code": "200120", "city": "Shanghai",
        "country_code": "CN"}  # fmt: skip
HENER = {"company": "Hener S.L.", "phone_e164": "+34932160500", "street": "Carrer de Mallorca 120",
         "postal_code": "08036", "city": "Barcelona", "country_code": "ES"}  # fmt: skip


def test_a_swapped_name_with_one_reading_joins_and_one_with_two_readings_does_not(identity_home):
    people = [
        hand_record("crm_apac:Contact:GC1", "Chenghao", "Guo", email="chenghao.guo@apexnet.cn", **APEX),
        hand_record("crm_apac:Lead:GC2", "Guo", "Chenghao", **APEX),  # typed family first
        # two colleagues: Wei is a family name too, so either record may be either person
        hand_record("crm_apac:Contact:ZW1", "Wei", "Zhang", email="wei.zhang@apexnet.cn", **APEX),
        hand_record("crm_apac:Contact:ZW2", "Zhang", "Wei", email="zhang.wei@apexnet.cn", **APEX),
    ]
    identity_home.reset_warehouse(people)
    resolve_identities(run_id="order1")
    ids = global_ids()
    assert ids["crm_apac:Contact:GC1"] == ids["crm_apac:Lead:GC2"]
    assert ids["crm_apac:Contact:ZW1"] != ids["crm_apac:Contact:ZW2"]
    one_reading = scored_links("crm_apac:Contact:GC1", "crm_apac:Lead:GC2")
    assert [decision for decision, _ in one_reading.values()] == ["accepted"]
    two_readings = scored_links("crm_apac:Contact:ZW1", "crm_apac:Contact:ZW2")
    assert {decision for decision, _ in two_readings.values()} <= {"vetoed", "kept_apart"}


def test_the_full_name_in_one_field_is_the_name_in_two(identity_home):
    people = [
        hand_record("crm_emea:Contact:JR1", "Josep", "Rovira", email="josep.rovira@hener.es", **HENER),
        hand_record("crm_emea:Lead:JR2", None, "Josep Rovira", **HENER),  # a form's one name field
        # relatives with only the compound family name on file: not one name
        hand_record("crm_emea:Lead:GL1", None, "García López", street="Calle Mayor 3", postal_code="28013",
                    city="Madrid", country_code="ES", phone_e164="+34915550123"),
        hand_record("crm_emea:Lead:GL2", None, "García López", street="Calle Mayor 3", postal_code="28013",
                    city="Madrid", country_code="ES", phone_e164="+34915550123"),
    ]
    identity_home.reset_warehouse(people)
    resolve_identities(run_id="order2")
    ids = global_ids()
    assert ids["crm_emea:Contact:JR1"] == ids["crm_emea:Lead:JR2"]
    assert ids["crm_emea:Lead:GL1"] != ids["crm_emea:Lead:GL2"]
