"""Global person ids that stay with the same person across runs (DESIGN.md rule 6).

Given this run's clusters and last run's map (record → id), `assign_ids` decides:
- an id goes to the cluster that holds most of its previous records (a split keeps the id on
  the larger part; the other parts get new ids, lineage event `split_from`);
- a cluster that wins several ids keeps the OLDEST and retires the others (`merged_into`);
- a cluster that wins none gets a new id (`issued`); an id left without records is `retired`.
Records that carry a written-back Global_Person_Id__c but are unknown to the map adopt it
(`adopted`), so ids survive a rebuilt warehouse.

Ids look like `GP-7QK2M9XR4B` (Crockford base32, 50 bits): derived from the cluster's smallest
record key, the run id and an attempt counter through SHA-256, checked against every id ever
issued — opaque, safe for a Salesforce text field, and not derived from personal data.
"""

from __future__ import annotations

import base64
import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

ID_PREFIX = "GP-"
ID_CHARS = 10
_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # no I, L, O, U: easy to read aloud and type
_TO_CROCKFORD = str.maketrans(_B32, _CROCKFORD)

EVENT_ISSUED = "issued"
EVENT_ADOPTED = "adopted"
EVENT_MERGED_INTO = "merged_into"  # retired id → the id it merged into
EVENT_SPLIT_FROM = "split_from"  # new id → the id whose cluster it split from
EVENT_RETIRED = "retired"  # no records left


def candidate_id(seed: str, run_id: str, attempt: int = 0) -> str:
    digest = hashlib.sha256(f"{seed}\x1f{run_id}\x1f{attempt}".encode()).digest()
    return ID_PREFIX + base64.b32encode(digest).decode().translate(_TO_CROCKFORD)[:ID_CHARS]


def new_person_id(seed: str, run_id: str, taken: set[str],
                  is_known: Callable[[str], bool] | None = None) -> str:
    """A fresh id, deterministic for (seed, run_id), never one in `taken` (nor one `is_known`
    says was issued before, when the caller did not load every id ever issued into `taken`)."""
    attempt = 0
    while True:
        candidate = candidate_id(seed, run_id, attempt)
        if candidate not in taken and not (is_known and is_known(candidate)):
            taken.add(candidate)
            return candidate
        attempt += 1


@dataclass
class Assignment:
    id_of_record: dict[str, str]
    events: list[tuple[str, str, str | None]] = field(default_factory=list)  # (id, event, other)

    def count(self, event: str) -> int:
        return sum(1 for _, e, _ in self.events if e == event)


def assign_ids(
    cluster_of: Mapping[str, str],
    previous: Mapping[str, str],
    issued_at: Mapping[str, datetime],
    run_id: str,
    *,
    known_ids: Iterable[str] = (),
    adopted: Iterable[str] = (),
    is_known: Callable[[str], bool] | None = None,
) -> Assignment:
    """Give every cluster an id (see module docstring).

    cluster_of: record → cluster key; previous: record → last id (including adopted written
    ids); issued_at: id → when first issued (older wins a merge); known_ids: every id ever
    issued, so a new id never reuses one (or, for a run over part of the records, `is_known`
    answering that question); adopted: ids first seen this run in the CRM.

    Given a part of the clusters whose records include every record that held any of their
    previous ids (as an incremental map run does), this gives that part exactly the ids and
    events a run over all clusters would give it.
    """
    members: dict[str, list[str]] = defaultdict(list)
    for record, cluster in cluster_of.items():
        members[cluster].append(record)

    # How many of each id's previous records each cluster now holds.
    holdings: dict[str, dict[str, int]] = defaultdict(dict)  # id → cluster → records
    for record, cluster in cluster_of.items():
        old = previous.get(record)
        if old is not None:
            by_cluster = holdings[old]
            by_cluster[cluster] = by_cluster.get(cluster, 0) + 1

    # Each id goes to the cluster with most of its records (ties: bigger cluster, then key).
    won: dict[str, list[str]] = defaultdict(list)  # cluster → ids it won
    for old, by_cluster in holdings.items():
        if len(by_cluster) == 1:  # the usual case: all its records are still together
            winner = next(iter(by_cluster))
        else:
            winner = min(by_cluster, key=lambda c: (-by_cluster[c], -len(members[c]), c))
        won[winner].append(old)

    never = datetime.max.replace(tzinfo=None)

    def age(person_id: str) -> tuple:
        when = issued_at.get(person_id)
        return ((when.replace(tzinfo=None) if when else never), person_id)

    taken = set(known_ids) | set(holdings)
    events: list[tuple[str, str, str | None]] = [(pid, EVENT_ADOPTED, None) for pid in sorted(set(adopted))]
    id_of_cluster: dict[str, str] = {}
    for cluster in sorted(members):
        candidates = won.get(cluster, [])
        if len(candidates) > 1:
            candidates = sorted(candidates, key=age)
        if candidates:
            keep, *retire = candidates
            id_of_cluster[cluster] = keep
            events += [(old, EVENT_MERGED_INTO, keep) for old in retire]
            continue
        fresh = new_person_id(cluster, run_id, taken, is_known)
        id_of_cluster[cluster] = fresh
        events.append((fresh, EVENT_ISSUED, None))
        # Parts of earlier persons that lost their id to a larger part: record where they came from.
        sources = sorted({previous[r] for r in members[cluster] if r in previous})
        events += [(fresh, EVENT_SPLIT_FROM, old) for old in sources]

    placed = {pid for pids in won.values() for pid in pids}
    events += [(old, EVENT_RETIRED, None) for old in sorted(set(previous.values()) - placed)]
    id_of_record = {record: id_of_cluster[cluster] for record, cluster in cluster_of.items()}
    return Assignment(id_of_record, events)


# --- warehouse tables -------------------------------------------------------------------------

MAP_TABLE = "identity.global_person_map"
LINEAGE_TABLE = "identity.global_person_lineage"
LINKS_TABLE = "identity.person_links"
RUNS_TABLE = "identity.identity_runs"

DDL = (
    f"""CREATE TABLE IF NOT EXISTS {MAP_TABLE} (
        record_key VARCHAR PRIMARY KEY, source VARCHAR, object VARCHAR, record_id VARCHAR,
        global_person_id VARCHAR NOT NULL, match_probability DOUBLE, run_id VARCHAR)""",
    f"""CREATE TABLE IF NOT EXISTS {LINEAGE_TABLE} (
        global_person_id VARCHAR NOT NULL, event VARCHAR NOT NULL, other_global_person_id VARCHAR,
        run_id VARCHAR, "at" TIMESTAMPTZ)""",
    f"""CREATE TABLE IF NOT EXISTS {LINKS_TABLE} (
        record_key_a VARCHAR, record_key_b VARCHAR, match_weight DOUBLE, match_probability DOUBLE,
        decision VARCHAR, evidence VARCHAR, model_version VARCHAR, run_id VARCHAR)""",
    f"""CREATE TABLE IF NOT EXISTS {RUNS_TABLE} (
        run_id VARCHAR, step VARCHAR, "at" TIMESTAMPTZ, model_version VARCHAR, summary JSON)""",
)


def ensure_tables(con) -> None:
    for statement in DDL:
        con.execute(statement)


def table_exists(con, qualified: str) -> bool:
    schema, name = qualified.split(".")
    return bool(
        con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
            [schema, name],
        ).fetchall()[0][0]
    )


def read_previous(con) -> tuple[dict[str, str], dict[str, datetime], set[str]]:
    """(record → id of the last run, id → first issued, every id ever seen) from the warehouse."""
    previous: dict[str, str] = {}
    issued: dict[str, datetime] = {}
    known: set[str] = set()
    if table_exists(con, MAP_TABLE):
        previous = dict(con.execute(f"SELECT record_key, global_person_id FROM {MAP_TABLE}").fetchall())  # noqa: S608
    if table_exists(con, LINEAGE_TABLE):
        # Naive UTC timestamps: converting a million tz-aware values costs seconds in pytz.
        rows = con.execute(
            f"""SELECT global_person_id, timezone('UTC', min("at") FILTER (
                           WHERE event IN ('{EVENT_ISSUED}', '{EVENT_ADOPTED}')))
                FROM {LINEAGE_TABLE} GROUP BY 1"""  # noqa: S608 - constants
        ).fetchall()
        issued = {pid: at for pid, at in rows if at is not None}
        known = {pid for pid, _ in rows}
    known |= set(previous.values())
    return previous, issued, known
