"""A swapped name whose order the estate's own records settle is one person's name typed in two
orders; one they do not settle may be two colleagues.

"Hindess Luke" beside "Luke Hindess" at one company: the estate writes Luke as a given name
again and again and Hindess only as a family name, so the name has one reading. "James Thomas"
beside "Thomas James": both parts are common in both roles, so only the person's own identifiers
join them. The counts are the model's (frozen when it is trained), not the day's data.
"""

from __future__ import annotations

import pyarrow.parquet as pq
from identity_reads import decisions, global_ids
from standin import hand_record

from aeglobal_pipeline.identity.model import latest_model
from aeglobal_pipeline.identity.name_roles import ROLES_FILE
from aeglobal_pipeline.identity.resolve import resolve_identities, train_step

WEXLEY = {"company": "Wexley Tools Inc.", "phone_e164": "+16175550100", "street": "12 Harbor Rd",
          "postal_code": "02110", "city": "Boston", "country_code": "US"}  # fmt: skip
FAMILIES = ["Abbott", "Barker", "Carver", "Dunmore", "Eastwick", "Fairley", "Garrow", "Hollis",
            "Ingram", "Jessop", "Kember", "Lowther", "Marwood", "Norcott", "Orchard", "Pennick",
            "Quayle", "Rudge", "Sallis", "Tandy", "Upton", "Varley", "Wragg", "Yeoman"]  # fmt: skip


def _elsewhere(key: str, given: str, family: str, n: int) -> dict:
    """Someone else, somewhere else: a record that only adds to the estate's name counts."""
    return hand_record(key, given, family, company=f"Firm {n} Ltd", city=f"Town {n}", country_code="GB",
                       postal_code=f"{10000 + n}", email=f"p{n}@firm{n}.co.uk")  # fmt: skip


def test_a_swap_the_estates_names_settle_joins_and_one_they_do_not_stays_apart(identity_home):
    estate = [_elsewhere(f"crm_emea:Contact:LK{n}", "Luke", family, n) for n, family in enumerate(FAMILIES)]
    estate += [_elsewhere(f"crm_emea:Contact:TJ{n}", *names, 100 + n) for n, names in enumerate(
        [("Thomas", "Barnes"), ("Thomas", "Cole"), ("Thomas", "Dale"), ("Anna", "Thomas"), ("Mark", "Thomas"),
         ("Ruth", "Thomas"), ("James", "Hart"), ("James", "Kerr"), ("James", "Lowe"), ("Ella", "James"),
         ("Owen", "James"), ("Sara", "James")])]  # fmt: skip
    people = [
        hand_record("crm_na:Contact:LH1", "Luke", "Hindess", email="luke.hindess@wexleytools.com", **WEXLEY),
        hand_record("crm_na:Lead:LH2", "Hindess", "Luke", **WEXLEY),  # typed family first
        # two colleagues: each name is a given and a family name alike in this estate
        hand_record("crm_na:Contact:JT1", "James", "Thomas", email="james.thomas@wexleytools.com", **WEXLEY),
        hand_record("crm_na:Contact:JT2", "Thomas", "James", email="thomas.james@wexleytools.com", **WEXLEY),
    ]  # fmt: skip
    identity_home.reset_warehouse(estate + people)
    train_step(retrain=True)  # the counts are the model's: trained on this estate
    model = latest_model()
    roles = {row["name"]: row for row in pq.read_table(model.path / ROLES_FILE).to_pylist()}
    assert model.manifest["name_roles"] == {"file": ROLES_FILE, "names": len(roles)}
    assert (roles["hindess"]["as_given"], roles["hindess"]["as_family"]) == (1, 1)
    assert roles["luke"]["as_given"] >= len(FAMILIES) + 1
    resolve_identities(run_id="order-odds1")
    ids = global_ids()
    assert ids["crm_na:Contact:LH1"] == ids["crm_na:Lead:LH2"]
    assert ids["crm_na:Contact:JT1"] != ids["crm_na:Contact:JT2"]
    assert decisions("crm_na:Contact:LH1", "crm_na:Lead:LH2") == ["accepted"]
    assert set(decisions("crm_na:Contact:JT1", "crm_na:Contact:JT2")) <= {"vetoed", "kept_apart"}
