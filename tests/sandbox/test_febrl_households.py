"""scripts/febrl_baseline.py --households: the relatives it adds to FEBRL3 are separate true
persons, look like the relative they claim to be, and every (relative, person) pair is a hard
negative that `aeglobal evaluate` counts."""

from __future__ import annotations

import csv
import sys
from collections import Counter
from datetime import date
from pathlib import Path

import duckdb
import pytest

from aeglobal_pipeline.identity.evaluate import evaluate_relation

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


@pytest.fixture(scope="module")
def scripts():
    sys.path.insert(0, str(SCRIPTS))
    try:
        import febrl_baseline
        import febrl_households
    finally:
        sys.path.remove(str(SCRIPTS))
    return febrl_baseline, febrl_households


@pytest.fixture(scope="module")
def households(scripts, tmp_path_factory):
    baseline, households = scripts
    rows = [r for r in baseline.read_febrl3() if int(r["person"]) < 200]  # every record of 200 persons
    with_relatives, negatives = households.add_households(rows, share=0.2, seed=3)
    snap = tmp_path_factory.mktemp("febrl") / "snap"
    truth = baseline.write_snapshot(with_relatives, snap, negatives)
    return rows, with_relatives, negatives, truth


def _years_apart(a: str, b: str) -> float:
    return abs((date.fromisoformat(a) - date.fromisoformat(b)).days) / 365


def test_relatives_are_seeded_and_look_like_their_kind(scripts, households):
    _, module = scripts
    rows, with_relatives, negatives, _ = households
    assert module.add_households(rows, share=0.2, seed=3) == (with_relatives, negatives)
    original_of = {n.rec_id_a: n.rec_id_b for n in negatives if n.rec_id_b.endswith("-org")}
    by_id = {r["rec_id"]: r for r in with_relatives}
    kind_of = {n.rec_id_a: n.reason for n in negatives}
    variants = module._spelling_variants(sorted({r["given_name"] for r in rows if r["given_name"]}))
    named = module._spelling_variants(["matthew", "matteus", "amy", "any", "james", "jayden"])
    assert named["matthew"] == {"matthew", "matteus"} and named["amy"] == {"amy", "any"}
    assert named["james"] == {"james"}  # twins James and Jayden are two names
    assert len(with_relatives) - len(rows) == len(original_of) == 40
    assert set(kind_of.values()) == set(module.RELATIVES)
    for relative_id, original_id in original_of.items():
        relative, original = by_id[relative_id], by_id[original_id]
        kind, years = kind_of[relative_id], _years_apart(relative["birthdate"], original["birthdate"])
        address = ("street_number", "address_1", "suburb", "postcode", "state")
        assert [relative[f] for f in (*address, "surname")] == [original[f] for f in (*address, "surname")]
        assert (relative["given_name"] == original["given_name"]) == (kind == "father_son")
        if kind != "father_son":  # another name, not a spelling variant or a typo of it
            assert relative["given_name"] not in variants[original["given_name"]]
        low, high = {"twins": (0, 0), "spouse": (0, 6), "sibling": (1, 8), "father_son": (20, 40)}[kind]
        assert low <= years <= high + 0.01, (kind, relative, original)


def test_hard_negatives_pair_each_relative_with_every_record_of_its_person(households):
    _, _, negatives, truth = households
    with truth.open(encoding="utf-8", newline="") as handle:
        person_of = {
            f"{r['source']}:{r['object']}:{r['record_id']}": r["person_id"] for r in csv.DictReader(handle)
        }
    negatives_csv = truth.with_name("snap.hard_negatives.csv")
    with negatives_csv.open(encoding="utf-8", newline="") as handle:
        pairs = list(csv.DictReader(handle))
    assert len(pairs) == len(negatives)
    records_per_person = Counter(person_of.values())
    per_relative = Counter(p["record_key_a"] for p in pairs)
    for pair in pairs:
        person_a, person_b = person_of[pair["record_key_a"]], person_of[pair["record_key_b"]]
        assert person_a != person_b
        assert per_relative[pair["record_key_a"]] == records_per_person[person_b]
        assert records_per_person[person_a] == 1  # a relative is one clean record

    # What `aeglobal evaluate` reads: nothing merged when the map is the truth; all merged when
    # each relative joins the person it lives with.
    with duckdb.connect() as con:
        relative_joins = {p["record_key_a"]: person_of[p["record_key_b"]] for p in pairs}
        for name, map_of in (("truth", {}), ("merged", relative_joins)):
            con.execute(f"CREATE TABLE {name}_map (record_key VARCHAR, global_person_id VARCHAR)")
            con.executemany(f"INSERT INTO {name}_map VALUES (?, ?)",  # noqa: S608
                            [(key, map_of.get(key, person)) for key, person in person_of.items()])
        con.execute("CREATE VIEW predicted AS SELECT * FROM truth_map")
        apart = evaluate_relation(con, truth, negatives_csv).hard_negatives
        con.execute("CREATE OR REPLACE VIEW predicted AS SELECT * FROM merged_map")
        merged = evaluate_relation(con, truth, negatives_csv).hard_negatives
    assert (apart.merged, apart.pairs) == (0, len(pairs))
    assert (merged.merged, merged.pairs) == (len(pairs), len(pairs))
    totals = {reason: total for reason, (_, total) in merged.by_reason.items()}
    assert totals == Counter(p["reason"] for p in pairs)
