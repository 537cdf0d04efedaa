"""FEBRL3 with households: look-alike relatives built from FEBRL3's own original records.

FEBRL3 holds no relatives, so a model that merges twins or a father and son loses nothing on it.
Real customer files do hold them. This adds, for a seeded share of persons, ONE relative who lives
at the person's address (copied from the person's `rec-N-org` record) and is a true person of
their own: a spouse, a father or son, a twin or a sibling (shares in RELATIVES), the relatives
other than a father or son with another given name of FEBRL3's, not a spelling variant of the
person's (parents do not name twins Matthew and Matteus). Every pair of a
relative's record with one of the person's records is a hard negative (reason = the relative's
kind), the file `aeglobal evaluate` reads beside the truth. Relatives are clean records (no FEBRL
noise): a relative's record is usually typed once, and clean is the harder case for the matcher.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

import duckdb

SHARE = 0.15  # of FEBRL3's persons, each gets one relative
# kind → (share of relatives, birthdate offset in days as (min, max) either way, new given name)
RELATIVES = {
    "spouse": (0.30, (1, 6 * 365), True),
    "father_son": (0.25, (20 * 365, 40 * 365), False),  # one given and family name, no suffix
    "sibling": (0.25, (365, 8 * 365), True),
    "twins": (0.20, (0, 0), True),
}
OLDEST, YOUNGEST = date(1900, 1, 1), date(2010, 12, 31)
FIRST_ID = 10_000  # relatives' person numbers, clear of FEBRL3's 0..4999
VARIANT_SIMILARITY = 0.85  # a relative's given name is another name, not a spelling variant


@dataclass(frozen=True)
class HardNegative:
    rec_id_a: str  # the relative's record
    rec_id_b: str  # one of the original person's records
    reason: str


def add_households(
    rows: list[dict[str, str]], share: float = SHARE, seed: int = 7
) -> tuple[list[dict[str, str]], list[HardNegative]]:
    """FEBRL3 rows plus one relative for `share` of the persons, and the hard-negative pairs."""
    rng = random.Random(seed)
    records_of: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        records_of[row["person"]].append(row["rec_id"])
    # A relative copies the original record, so it needs the fields a relative is told apart by.
    needed = ("given_name", "surname", "birthdate")
    originals = sorted(
        (r for r in rows if r["rec_id"].endswith("-org") and all(r[f] for f in needed)),
        key=lambda r: int(r["person"]),
    )
    given_pool = sorted({r["given_name"] for r in originals})
    variants = _spelling_variants(given_pool)
    chosen = rng.sample(originals, min(len(originals), round(share * len(records_of))))
    kinds = rng.choices(list(RELATIVES), weights=[w for w, _, _ in RELATIVES.values()], k=len(chosen))
    relatives, negatives = [], []
    for number, (original, kind) in enumerate(zip(chosen, kinds, strict=True), start=FIRST_ID):
        others = [g for g in given_pool if g not in variants[original["given_name"]]]
        relative = _relative(original, kind, number, others, rng)
        relatives.append(relative)
        own_records = records_of[original["person"]]
        negatives += [HardNegative(relative["rec_id"], record, kind) for record in own_records]
    return rows + relatives, negatives


def _relative(original: dict[str, str], kind: str, number: int, other_names: list[str],
              rng: random.Random) -> dict[str, str]:
    _, (low, high), new_given = RELATIVES[kind]
    relative = dict(original, rec_id=f"rec-{number}-org", person=str(number),
                    soc_sec_id=str(rng.randrange(1_000_000, 10_000_000)))
    if new_given:
        relative["given_name"] = rng.choice(other_names)
    born = date.fromisoformat(original["birthdate"])
    offset = timedelta(days=rng.randint(low, high))
    older, younger = born - offset, born + offset
    prefer_older = rng.random() < 0.5
    relative["birthdate"] = (older if (prefer_older and older >= OLDEST) or younger > YOUNGEST
                             else younger).isoformat()
    return relative


def _spelling_variants(names: list[str]) -> dict[str, set[str]]:
    """name → the names that are a spelling variant or a typo of it (Jaro-Winkler >= 0.85, or one
    edit apart): `Matthew` / `Matteus`, `Amy` / `Any` are one name, not two relatives'."""
    with duckdb.connect() as con:
        pairs = con.execute(
            """SELECT a.name, b.name
               FROM unnest(?::VARCHAR[]) AS a(name), unnest(?::VARCHAR[]) AS b(name)
               WHERE jaro_winkler_similarity(a.name, b.name) >= ?
                  OR damerau_levenshtein(a.name, b.name) <= 1""",
            [names, names, VARIANT_SIMILARITY],
        ).fetchall()
    variants = defaultdict(set)
    for a, b in pairs:
        variants[a].add(b)
    return variants


def merged_share(cluster_of: dict[str, str], negatives: list[HardNegative]) -> dict[str, tuple[int, int]]:
    """reason → (pairs merged, pairs) for a clustering keyed by FEBRL rec_id."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for pair in negatives:
        counts[pair.reason][0] += cluster_of.get(pair.rec_id_a, "a") == cluster_of.get(pair.rec_id_b, "b")
        counts[pair.reason][1] += 1
    return {reason: (merged, total) for reason, (merged, total) in sorted(counts.items())}
