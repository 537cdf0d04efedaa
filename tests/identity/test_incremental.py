"""An incremental identity run groups records exactly as a full run on the same final data would.

The second run after a small change scores only pairs touching changed records and keeps the
rest (`identity.incremental`); the checks compare it with a full refresh in the same home (same
partition, same ids) and with a full run from scratch (same partition).
"""

from __future__ import annotations

import random

from standin import delete_records, put_records

from aeglobal_pipeline import warehouse
from aeglobal_pipeline.identity.resolve import resolve_identities
from aeglobal_pipeline.identity.stable_ids import LINKS_TABLE, MAP_TABLE


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
