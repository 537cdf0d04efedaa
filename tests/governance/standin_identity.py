"""TEST STAND-IN for identity resolution's `identity.global_person_map` and `identity.person_links`.

The real tables come from aeglobal_pipeline/identity (Splink + stable ids). Governance tests only
need *a* mapping of records to persons, so this builds one from the generator's ground truth
(`<snapshot>.truth.csv`) or from an explicit dict. It is NOT identity resolution.
"""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb

MAP_DDL = """create or replace table identity.global_person_map (
    record_key varchar primary key, source varchar, object varchar, record_id varchar,
    global_person_id varchar not null, match_probability double, run_id varchar)"""
LINKS_DDL = """create or replace table identity.person_links (
    record_key_a varchar, record_key_b varchar, match_weight double, match_probability double,
    decision varchar, evidence varchar, model_version varchar, run_id varchar)"""


def write_identity(con: duckdb.DuckDBPyConnection, persons: dict[str, str],
                   grey_pairs: list[tuple[str, str, float]] = ()) -> int:
    """persons: record_key → global_person_id; grey_pairs: (record_key_a, record_key_b, p)."""
    con.execute("create schema if not exists identity")
    con.execute(MAP_DDL)
    con.execute(LINKS_DDL)
    rows = []
    for key, person in sorted(persons.items()):
        source, obj, record_id = key.split(":", 2)
        rows.append((key, source, obj, record_id, person, 1.0, "standin"))
    if rows:
        con.executemany("insert into identity.global_person_map values (?, ?, ?, ?, ?, ?, ?)", rows)
    links = [(a, b, 0.0, p, "grey_zone", "{}", "standin", "standin") for a, b, p in grey_pairs]
    # Every two records of one person linked directly, as identity's accepted pairs would be
    # (the write-back copies a contact point only over such a link); a < b as identity stores them.
    members: dict[str, list[str]] = {}
    for key, person in persons.items():
        members.setdefault(person, []).append(key)
    for keys in members.values():
        ordered = sorted(keys)
        links += [(a, b, 0.0, 1.0, "accepted", "{}", "standin", "standin")
                  for i, a in enumerate(ordered) for b in ordered[i + 1:]]
    if links:
        con.executemany("insert into identity.person_links values (?, ?, ?, ?, ?, ?, ?, ?)", links)
    return len(rows)


def persons_from_truth(truth_csv: Path) -> dict[str, str]:
    with Path(truth_csv).open(encoding="utf-8") as handle:
        return {
            f"{r['source']}:{r['object']}:{r['record_id']}": "G" + r["person_id"]
            for r in csv.DictReader(handle)
        }
