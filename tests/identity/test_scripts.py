"""One name written two ways: in two scripts, in two orders, in one field.

"张伟" on one org's record, "Wei Zhang" on another's: the name comparison meets the two through
their Latin forms (anyascii), order-free; like a reversed Latin name, that agreement joins
records only with the person's own identifiers.

"Guo Chenghao" beside "Chenghao Guo" at one company is one person typed family first: no one's
family name is Chenghao. "Wei Zhang" beside "Zhang Wei" may be two colleagues (Wei is a family
name too), so only the person's own identifiers join those. "Josep Rovira" typed into LastName
with FirstName left empty is the name "Josep" + "Rovira"; two records holding only one
compound family name ("García López") may be two relatives and are not made one name.
"""

from __future__ import annotations

import pyarrow as pa
from identity_reads import decisions, global_ids, scored_links
from standin import hand_record

from aeglobal_pipeline.identity.features import RECORD_COLUMNS, in_memory, load_records
from aeglobal_pipeline.identity.resolve import resolve_identities

HUAXIN = {"company": "Huaxin Precision Co., Ltd.", "phone_e164": "+862161230000", "city": "Shanghai",
          "postal_code": "200120", "country_code": "CN"}  # fmt: skip
LINGTONG = {"company": "Lingtong Logistics Co., Ltd.", "phone_e164": "+862085550000", "city": "Guangzhou",
            "postal_code": "510620", "country_code": "CN"}  # fmt: skip
APEX = {"company": "Apexnet Technology Co., Ltd.", "phone_e164": "+862155501000",
        "street": "88 Century Avenue", "postal_code": "200120", "city": "Shanghai",
        "country_code": "CN"}  # fmt: skip
HENER = {"company": "Hener S.L.", "phone_e164": "+34932160500", "street": "Carrer de Mallorca 120",
         "postal_code": "08036", "city": "Barcelona", "country_code": "ES"}  # fmt: skip


def _decision(a: str, b: str) -> str | None:
    return scored_links(a, b).get(tuple(sorted([a, b])), (None, None))[0]


def test_names_in_other_scripts_get_their_latin_form():
    records = pa.Table.from_pylist([
        hand_record("crm_apac:Lead:LF1", "伟", "张"),
        hand_record("crm_apac:Lead:LF2", "Xiao-Ming", "Wang"),
        hand_record("crm_apac:Lead:LF3", "현지", "한"),
        hand_record("crm_emea:Lead:LF4", "Иван", "Петров"),
        hand_record("crm_emea:Lead:LF5", "Γιώργος", "Παπαδόπουλος"),
    ]).select(list(RECORD_COLUMNS))
    memory = in_memory()
    load_records(memory, records, nicknames=[("wei", 0)], placeholders=[])
    rows = {key: rest for key, *rest in memory.execute(
        "SELECT record_key, name_script, given_name_latin, family_name_latin, name_latin_key "
        "FROM person_features"
    ).fetchall()}
    assert rows["crm_apac:Lead:LF1"] == ["cjk", "wei", "zhang", "wei zhang"]
    assert rows["crm_apac:Lead:LF2"] == ["latin", "xiaoming", "wang", "wang xiaoming"]
    assert rows["crm_apac:Lead:LF3"] == ["cjk", "hyeonji", "han", "han hyeonji"]
    assert rows["crm_emea:Lead:LF4"] == ["cyrillic", "ivan", "petrov", "ivan petrov"]
    assert rows["crm_emea:Lead:LF5"][:2] == ["greek", "giorgos"]


def test_one_name_in_two_scripts_joins_on_the_persons_own_identifiers(identity_home):
    people = [
        # family name first in FirstName, as written at home, with the same work mailbox
        hand_record("crm_apac:Contact:SC1", "伟", "张", email="zhang.wei@huaxin-precision.cn", **HUAXIN),
        hand_record("ae_apac:Prospect:SC2", "Zhang", "Wei", email="zhang.wei@huaxin-precision.cn", **HUAXIN),
        # Cyrillic and Latin at two employers with one personal mobile, nothing else in common
        hand_record("crm_emea:Contact:SC3", "Иван", "Петров", mobile_e164="+79161234567",
                    company="ООО Северсталь Трейд", country_code="RU"),
        hand_record("crm_emea:Lead:SC4", "Ivan", "Petrov", mobile_e164="+79161234567",
                    company="Severstal Trade", country_code="RU"),
        # the same order, one company and office, and the same birthdate
        hand_record("crm_apac:Contact:SC5", "慧敏", "徐", birthdate="1988-02-14", **HUAXIN),
        hand_record("crm_apac:Lead:SC6", "Huimin", "Xu", birthdate="1988-02-14", **HUAXIN),
    ]  # fmt: skip
    identity_home.reset_warehouse(people)
    resolve_identities(run_id="sc1")
    ids = global_ids()
    assert ids["crm_apac:Contact:SC1"] == ids["ae_apac:Prospect:SC2"]
    assert ids["crm_emea:Contact:SC3"] == ids["crm_emea:Lead:SC4"]
    assert ids["crm_apac:Contact:SC5"] == ids["crm_apac:Lead:SC6"]


def test_one_name_in_two_scripts_is_no_evidence_alone(identity_home):
    """张伟 and Wei Zhang at two employers share nothing but the name; 李强 and "Li Qiang"
    (FirstName Li: typed family first, or another person) and 明辉 董 and "Minghui Dong" at one
    employer share the office and its switchboard, as two colleagues called Zhang Wei and Wei
    Zhang do."""
    people = [
        hand_record("crm_apac:Contact:SD1", "伟", "张", email="zhang.wei@huaxin-precision.cn", **HUAXIN),
        hand_record("crm_apac:Lead:SD2", "Wei", "Zhang", email="wzhang@lingtong-logistics.cn", **LINGTONG),
        hand_record("crm_apac:Contact:SD3", "强", "李", **HUAXIN),
        hand_record("ae_apac:Prospect:SD4", "Li", "Qiang", **HUAXIN),
        hand_record("crm_apac:Contact:SD5", "明辉", "董", **HUAXIN),
        hand_record("crm_apac:Lead:SD6", "Minghui", "Dong", **HUAXIN),
    ]  # fmt: skip
    identity_home.reset_warehouse(people)
    resolve_identities(run_id="sd1")
    ids = global_ids()
    assert ids["crm_apac:Contact:SD1"] != ids["crm_apac:Lead:SD2"]
    assert ids["crm_apac:Contact:SD3"] != ids["ae_apac:Prospect:SD4"]
    assert _decision("crm_apac:Contact:SD1", "crm_apac:Lead:SD2") in (None, "vetoed", "kept_apart")
    # the colleagues' pair is scored (their Latin forms agree) and vetoed: shared office and
    # switchboard are no evidence of one person
    assert _decision("crm_apac:Contact:SD3", "ae_apac:Prospect:SD4") in ("vetoed", "kept_apart")
    assert _decision("crm_apac:Contact:SD5", "crm_apac:Lead:SD6") in ("vetoed", "kept_apart")
    assert ids["crm_apac:Contact:SD5"] != ids["crm_apac:Lead:SD6"]


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
    assert decisions("crm_apac:Contact:GC1", "crm_apac:Lead:GC2") == ["accepted"]
    assert set(decisions("crm_apac:Contact:ZW1", "crm_apac:Contact:ZW2")) <= {"vetoed", "kept_apart"}


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
