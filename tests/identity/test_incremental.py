"""An incremental identity run groups records exactly as a full run on the same final data would.

The second run after a small change scores only pairs touching changed records and keeps the
rest (`identity.incremental`), and re-clusters only the components where something changed
(`identity.map_scope`); the checks compare it with a full refresh in the same home (same
partition, same ids), with a full run from the same starting point and the same run id (same
map, match probabilities, lineage and summary) and with a full run from scratch (same partition).
"""

from __future__ import annotations

import random
import shutil
from dataclasses import asdict

from standin import delete_records, hand_record, put_records

from aeglobal_pipeline import warehouse
from aeglobal_pipeline.config import warehouse_path
from aeglobal_pipeline.identity.resolve import resolve_identities
from aeglobal_pipeline.identity.stable_ids import LINEAGE_TABLE, LINKS_TABLE, MAP_TABLE


def _records() -> list[dict]:
    with warehouse.connect(read_only=True) as con:
        cursor = con.execute("SELECT * FROM intermediate.int_person_records ORDER BY record_key")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _map() -> dict[str, str]:
    with warehouse.connect(read_only=True) as con:
        return dict(con.execute(f"SELECT record_key, global_person_id FROM {MAP_TABLE}").fetchall())  # noqa: S608


def _scored_pairs() -> set[tuple]:
    with warehouse.connect(read_only=True) as con:
        return set(con.execute(
            f"""SELECT record_key_a, record_key_b, decision, round(match_probability, 9), evidence
                FROM {LINKS_TABLE} WHERE decision NOT LIKE '%must_link:%'"""  # noqa: S608
        ).fetchall())


def _partition(mapping: dict[str, str]) -> set[frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for key, gid in mapping.items():
        groups.setdefault(gid, set()).add(key)
    return {frozenset(g) for g in groups.values()}


def _change(records: list[dict], rng: random.Random) -> set[str]:
    """Edit, delete and add a few records (about 3% of them); returns the touched record keys."""
    picked = rng.sample(records, 18)
    edits, deletes, copies = picked[:8], picked[8:12], picked[12:]
    for row in edits[:4]:  # a typo in the family name, as a CRM user would make
        row["family_name_norm"] = (row["family_name_norm"] or "x") + "e"
    for row in edits[4:]:  # a job change: new company and a new work address
        row["company_norm"], row["email_norm"], row["phone_e164"] = "brand new works", None, None
    new_rows = []
    for number, row in enumerate(copies):  # the same person entered again in another system
        copy = dict(row)
        copy["record_key"] = f"ae_emea:Prospect:NEW{number}"
        copy.update(source="ae_emea", object="Prospect", record_id=f"NEW{number}")
        new_rows.append(copy)
    with warehouse.connect() as con:
        put_records(con, edits + new_rows)
        delete_records(con, [row["record_key"] for row in deletes])
    return {row["record_key"] for row in edits + deletes + new_rows}


def test_incremental_run_groups_exactly_like_a_full_run(identity_home):
    identity_home.reset_warehouse()
    first, _ = resolve_identities(run_id="inc1")
    assert first.scoring["mode"] == "full"
    before = _map()

    touched = _change(_records(), random.Random(11))
    links, _ = resolve_identities(run_id="inc2")
    assert links.scoring["mode"] == "incremental"
    # Edited and new records are re-scored; deleted ones are simply gone.
    assert links.scoring["changed"] == 8 + 6
    assert links.scoring["kept_pairs"] > 0
    incremental_pairs, incremental_map = _scored_pairs(), _map()

    again, _ = resolve_identities(run_id="inc3", full_refresh=True)
    assert again.scoring["mode"] == "full"
    assert _scored_pairs() == incremental_pairs
    assert _map() == incremental_map  # same groups and the same ids

    # Unchanged people keep their ids: a group none of whose records was touched.
    for group in _partition(before):
        if not group & touched:
            assert {incremental_map[k] for k in group} == {before[next(iter(group))]}, sorted(group)

    # A full run from scratch (no previous ids) on the same data draws the same partition.
    with warehouse.connect() as con:
        con.execute("DROP SCHEMA identity CASCADE")
        con.execute("CREATE SCHEMA identity")
    resolve_identities(run_id="inc4")
    assert _partition(_map()) == _partition(incremental_map)


def test_new_record_of_a_known_person_joins_them_incrementally(identity_home):
    identity_home.reset_warehouse()
    resolve_identities(run_id="join1")
    records = _records()
    target = next(r for r in records if r["email_norm"] and r["given_name_norm"] and r["family_name_norm"])
    copy = dict(target, record_key="crm_na:Lead:JOIN1", source="crm_na", object="Lead", record_id="JOIN1")
    with warehouse.connect() as con:
        put_records(con, [copy])
    links, _ = resolve_identities(run_id="join2")
    assert links.scoring == {**links.scoring, "mode": "incremental", "changed": 1}
    ids = _map()
    assert ids["crm_na:Lead:JOIN1"] == ids[target["record_key"]]


def test_changed_matching_rules_force_a_full_run(identity_home):
    identity_home.reset_warehouse()
    resolve_identities(run_id="rules1")
    matching = identity_home.rules / "matching.yaml"
    original = matching.read_text()
    try:
        matching.write_text(original.replace("grey_zone_lower: 0.5", "grey_zone_lower: 0.6"))
        links, _ = resolve_identities(run_id="rules2")
    finally:
        matching.write_text(original)
    assert (links.scoring["mode"], links.scoring["reason"]) == ("full", "matching.yaml changed")


# --- the map: only changed components are re-clustered, and that changes nothing ---------------

# One person in four records: CAP1-CAP3 share e-mail, company and name; CAP3 and CAP4 share a
# mobile. With max_cluster_size 3, CAP4's link to CAP3 is cut: CAP4 stands alone, in the same
# component. No change below touches CAP4 or any of its links.
_RAV = {"company": "Ravtest GmbH", "city": "Berlin"}
CAPPED = [
    hand_record("crm_emea:Contact:CAP1", "Philippa", "Ravensworth", email="philippa@ravtest.de",
                mobile_e164="+4915100000101", **_RAV),
    hand_record("crm_emea:Lead:CAP2", "Philippa", "Ravensworth", email="philippa@ravtest.de",
                mobile_e164="+4915100000101", **_RAV),
    hand_record("ae_emea:Prospect:CAP3", "Philippa", "Ravensworth", email="philippa@ravtest.de",
                mobile_e164="+4915100000102", **_RAV),
    hand_record("crm_emea:Lead:CAP4", "Philippa", "Ravensworth", email="pippa.r@gmx.de",
                mobile_e164="+4915100000102", city="Potsdam"),
]  # fmt: skip


def _state(run_id: str) -> dict:
    with warehouse.connect(read_only=True) as con:
        rows = con.execute(
            f"SELECT record_key, global_person_id, match_probability FROM {MAP_TABLE}"  # noqa: S608
        ).fetchall()
        events = con.execute(
            f"""SELECT global_person_id, event, other_global_person_id FROM {LINEAGE_TABLE}
                WHERE run_id = ? ORDER BY ALL""",  # noqa: S608
            [run_id],
        ).fetchall()
    return {"map": set(rows), "events": events}


def _incremental_equals_full(run_id: str) -> dict:
    """Run incrementally, then from the same starting point in full with the same run id: the
    map (ids, match probabilities), this run's lineage and the summaries must be identical."""
    path = warehouse_path()
    backup = path.with_name("before-" + path.name)
    shutil.copy(path, backup)
    links, incremental = resolve_identities(run_id=run_id)
    assert (links.scoring["mode"], incremental.mode) == ("incremental", "incremental")
    assert incremental.records_reclustered < incremental.records / 2
    expected = _state(run_id)
    shutil.copy(backup, path)
    _, full = resolve_identities(run_id=run_id, full_refresh=True)
    assert full.mode == "full"
    assert _state(run_id) == expected
    skip = {"seconds", "mode", "reason", "records_reclustered"}
    assert {k: v for k, v in asdict(incremental).items() if k not in skip} == {
        k: v for k, v in asdict(full).items() if k not in skip}
    return expected


def _ids_of(state: dict) -> dict[str, str]:
    return {key: gid for key, gid, _ in state["map"]}


def test_a_change_reclusters_its_whole_component(identity_home):
    matching = identity_home.rules / "matching.yaml"
    original = matching.read_text()
    try:
        matching.write_text(original.replace("max_cluster_size: 40", "max_cluster_size: 3"))
        identity_home.reset_warehouse(CAPPED)
        resolve_identities(run_id="cap1")
        before = _map()
        capped = ("crm_emea:Contact:CAP1", "crm_emea:Lead:CAP2", "ae_emea:Prospect:CAP3")
        assert len({before[key] for key in capped}) == 1
        assert before["crm_emea:Lead:CAP4"] != before["ae_emea:Prospect:CAP3"]  # cut by the cap
        with warehouse.connect() as con:
            delete_records(con, ["crm_emea:Contact:CAP1"])
        after = _ids_of(_incremental_equals_full("cap2"))
        # Room under the cap: the untouched CAP4, whose links did not change, joins CAP2 and CAP3.
        assert after["crm_emea:Lead:CAP4"] == after["ae_emea:Prospect:CAP3"] == after["crm_emea:Lead:CAP2"]
    finally:
        matching.write_text(original)


def test_merges_splits_and_steward_decisions_incrementally(identity_home):
    from test_resolve import OF, ZQ_OTHER, ZQ_WORK, _decide

    identity_home.reset_warehouse(ZQ_WORK + ZQ_OTHER + OF)
    resolve_identities(run_id="ms1")
    ids = _map()
    assert ids["crm_emea:Contact:ZQ1"] != ids["crm_emea:Lead:ZQ3"]
    # A merge: the second lead now carries the first person's work e-mail and mobile.
    with warehouse.connect() as con:
        put_records(con, [hand_record("crm_emea:Lead:ZQ3", "Zebulon", "Quartermaine", email="zq@acmetest.de",
                                      company="Acmetest GmbH", city="Berlin", mobile_e164="+4915100000001")])
    state = _incremental_equals_full("ms2")
    assert any(event == "merged_into" for _, event, _ in state["events"])
    # A split: the prospect turns out to be someone else.
    with warehouse.connect() as con:
        put_records(con, [hand_record("ae_emea:Prospect:OF3", "Gwendolyn", "Stormcastle",
                                      mobile_e164="+4915100000009", email="gstorm@gmx.de")])
    state = _incremental_equals_full("ms3")
    assert any(event == "split_from" for _, event, _ in state["events"])
    # A steward must-link joins two people; a cannot-link splits one (no record changes).
    _decide(identity_home, ("must_link", "crm_emea:Contact:OF1", "crm_emea:Contact:ZQ1"),
            ("cannot_link", "crm_emea:Contact:ZQ1", "ae_emea:Prospect:ZQ4"))
    ids = _ids_of(_incremental_equals_full("ms4"))
    assert ids["crm_emea:Contact:OF1"] == ids["crm_emea:Contact:ZQ1"] != ids["ae_emea:Prospect:ZQ4"]
    # Decisions withdrawn: the records they named are re-clustered as the links alone say.
    _decide(identity_home)
    ids = _ids_of(_incremental_equals_full("ms5"))
    assert ids["crm_emea:Contact:OF1"] != ids["crm_emea:Contact:ZQ1"] == ids["ae_emea:Prospect:ZQ4"]


def test_a_new_record_bringing_a_known_id_along(identity_home):
    from test_resolve import OF

    identity_home.reset_warehouse(OF)
    resolve_identities(run_id="w1")
    known = _map()["crm_emea:Contact:OF1"]
    # A record of someone else arrives carrying that id as its written-back global id: the
    # person who holds it (more records) keeps it, wherever it is in the map.
    stranger = hand_record("crm_na:Lead:W1", "Gwendolyn", "Stormcastle", email="gstorm@gmx.de",
                           written_global_person_id=known)
    with warehouse.connect() as con:
        # The stand-in snapshot has no written-back ids, so the column came out untyped.
        con.execute("ALTER TABLE intermediate.int_person_records ALTER written_global_person_id TYPE VARCHAR")
        put_records(con, [stranger])
    ids = _ids_of(_incremental_equals_full("w2"))
    assert ids["crm_emea:Contact:OF1"] == known != ids["crm_na:Lead:W1"]


def test_only_same_column_equalities_count_as_symmetric_blocking_rules():
    from aeglobal_pipeline.identity.incremental import is_symmetric

    assert is_symmetric('(l."phone_match" = r."phone_match") AND (l."family_initial" = r."family_initial")')
    assert is_symmetric('l."email_match" = r."email_match"')
    for rule in ('l."a" = r."b"', '(l."a" = r."a") OR (l."b" = r."b")',
                 'l."a" = r."a" AND levenshtein(l."x", r."x") < 2', 'l."a" < r."a"'):
        assert not is_symmetric(rule), rule
