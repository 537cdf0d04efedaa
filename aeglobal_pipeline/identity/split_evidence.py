"""What the parts of each false split share, and what kept them apart (`aeglobal evaluate`).

A true person spread over several global ids gives part pairs (two predicted clusters of one
person); each misses |part a| × |part b| record pairs. For every part pair this reads the
warehouse's own record features (identity.record_features) and says which identifiers any record
of one part shares with any record of the other, classed by the strongest; then the best-scored
link between the two parts in identity.person_links (highest match probability) and its
decision. So an operator tells "the matcher had evidence and did not use it" from "the records
carry nothing beyond the name", on any estate's truth file.

Works on the table `joined(record_key, person_id, gid)` that identity.evaluate builds. Only the
split persons' records are read from the warehouse, so it stays small at 1M records.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from aeglobal_pipeline.identity.features import STORED_FEATURES_TABLE
from aeglobal_pipeline.identity.stable_ids import LINKS_TABLE

# Evidence classes, strongest first (the index is the class's rank in the SQL below).
PERSONAL, CONTACT, COMPANY_ADDRESS, NAME_ONLY, NOTHING = range(5)
CLASSES = (
    "personal identifier",
    "contact point",
    "company or address only",
    "name only",
    "nothing, not even the name",
)


@dataclass(frozen=True)
class Identifier:
    label: str
    evidence_class: int
    value_sql: str  # over record_features columns; constants only
    where_sql: str = "TRUE"


# A personal e-mail is one at a free-mail domain (the feature step already drops role mailboxes).
# The name is order-free (a given/family swap still shares it) and needs both parts.
IDENTIFIERS = (
    Identifier("personal e-mail", PERSONAL, "email_match", "coalesce(is_free_mail, false)"),
    Identifier("mobile", PERSONAL, "mobile_match"),
    Identifier("birthdate", PERSONAL, "CAST(birthdate AS VARCHAR)"),
    Identifier("work e-mail", CONTACT, "email_match", "NOT coalesce(is_free_mail, false)"),
    Identifier("phone", CONTACT, "phone_match"),
    Identifier("company", COMPANY_ADDRESS, "company_norm"),
    Identifier("street", COMPANY_ADDRESS, "street_norm"),
    Identifier("postal code", COMPANY_ADDRESS, "postal_norm"),
    Identifier(
        "name", NAME_ONLY,
        "least(given_name_norm, family_name_norm) || ' ' || greatest(given_name_norm, family_name_norm)",
        "given_name_norm IS NOT NULL AND family_name_norm IS NOT NULL",  # least() skips a null
    ),
)
FEATURE_COLUMNS = ("email_match", "is_free_mail", "mobile_match", "phone_match", "birthdate",
                   "company_norm", "street_norm", "postal_norm", "given_name_norm", "family_name_norm")

# What became of the best-scored link between two parts (the index is its rank in the SQL).
OUTCOMES = ("vetoed", "grey zone", "kept apart", "other link", "no scored link")
OUTCOME_SQL = """CASE WHEN l.decision IS NULL THEN 4 WHEN l.decision = 'vetoed' THEN 0
                      WHEN l.decision = 'grey_zone' THEN 1 WHEN l.decision = 'kept_apart' THEN 2 ELSE 3 END"""


@dataclass
class EvidenceClassRow:
    evidence_class: str
    part_pairs: int = 0
    missed_pairs: int = 0
    by_outcome: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))  # missed pairs


@dataclass
class SplitEvidence:
    classes: list[EvidenceClassRow]
    shared: dict[str, tuple[int, int]]  # identifier → (part pairs, missed pairs) sharing it

    @property
    def missed_pairs(self) -> int:
        return sum(row.missed_pairs for row in self.classes)

    def to_dict(self) -> dict:
        return {
            "missed_pairs": self.missed_pairs,
            "part_pairs": sum(row.part_pairs for row in self.classes),
            "by_class": {
                row.evidence_class: {"part_pairs": row.part_pairs, "missed_pairs": row.missed_pairs,
                                     "missed_pairs_by_best_link": dict(row.by_outcome)}
                for row in self.classes
            },
            "sharing_each_identifier": {
                label: {"part_pairs": pairs, "missed_pairs": missed}
                for label, (pairs, missed) in self.shared.items()
            },
        }

    def lines(self) -> list[str]:
        header = f"  {'strongest shared':<27}{'part pairs':>11}{'missed':>9}" + "".join(
            f"{o:>{max(len(o) + 2, 9)}}" for o in OUTCOMES
        )
        lines = [
            "missed pairs (false splits) by what the parts share: "
            f"{self.missed_pairs:,} missed pairs in {sum(r.part_pairs for r in self.classes):,} part pairs",
            header,
        ]
        for row in self.classes:
            lines.append(
                f"  {row.evidence_class:<27}{row.part_pairs:>11,}{row.missed_pairs:>9,}"
                + "".join(f"{row.by_outcome[o]:>{max(len(o) + 2, 9)},}" for o in OUTCOMES)
            )
        lines.append("  (link columns: missed pairs by the decision on the best-scored link between the two")
        lines.append("   parts; other link: accepted or must-link, cut by clustering)")
        shared = ", ".join(f"{label} {n:,} ({missed:,})" for label, (n, missed) in self.shared.items())
        lines.append(f"  part pairs (missed pairs) sharing each identifier: {shared or 'none'}")
        return lines


OpenSource = Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]


def split_evidence(memory: duckdb.DuckDBPyConnection, open_source: OpenSource) -> SplitEvidence:
    """The breakdown for `joined` on `memory`; record features and links read from the connection
    `open_source()` opens for that read alone (the warehouse, or `memory` itself). Raises
    duckdb.CatalogException when the source lacks them."""
    memory.execute(
        """CREATE OR REPLACE TEMP TABLE split_records AS
           SELECT record_key, person_id, gid FROM joined
           WHERE person_id IN (
               SELECT person_id FROM joined GROUP BY person_id HAVING count(DISTINCT gid) > 1
           )"""
    )
    keys = memory.sql("SELECT record_key FROM split_records").to_arrow_table()
    with open_source() as source:
        features, links = _read_split_inputs(source, keys)
    for name, table in (("split_features", features), ("split_links", links)):
        memory.register(f"{name}_arrow", table)
        memory.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {name}_arrow")  # noqa: S608
        memory.unregister(f"{name}_arrow")
    _classify_part_pairs(memory)
    return _summarise(memory)


def _read_split_inputs(source: duckdb.DuckDBPyConnection, keys: pa.Table) -> tuple[pa.Table, pa.Table]:
    source.register("split_record_keys", keys)
    try:
        features = source.sql(
            f"""SELECT record_key, {", ".join(FEATURE_COLUMNS)} FROM {STORED_FEATURES_TABLE}
                WHERE record_key IN (SELECT record_key FROM split_record_keys)"""  # noqa: S608 - constants
        ).to_arrow_table()
        links = source.sql(
            f"""SELECT record_key_a, record_key_b, match_probability, decision FROM {LINKS_TABLE}
                WHERE record_key_a IN (SELECT record_key FROM split_record_keys)
                  AND record_key_b IN (SELECT record_key FROM split_record_keys)"""  # noqa: S608 - constants
        ).to_arrow_table()
    finally:
        source.unregister("split_record_keys")
    return features, links


def _identifier_values_sql() -> str:
    # One row per (part, identifier, value); the identifier's index names it (constants only).
    return "\nUNION ALL\n".join(
        f"""SELECT s.person_id, s.gid, {i} AS identifier, {ident.evidence_class} AS evidence_class,
                   {ident.value_sql} AS value
            FROM split_records AS s JOIN split_features AS f USING (record_key)
            WHERE ({ident.value_sql}) IS NOT NULL AND {ident.where_sql}"""  # noqa: S608 - constants only
        for i, ident in enumerate(IDENTIFIERS)
    )


def _classify_part_pairs(memory: duckdb.DuckDBPyConnection) -> None:
    """Tables part_pairs (person, the two parts, missed pairs, evidence class, link outcome) and
    shared_identifiers (which identifiers each part pair shares)."""
    memory.execute(
        f"""CREATE OR REPLACE TEMP TABLE shared_identifiers AS
            WITH identifier_values AS ({_identifier_values_sql()})
            SELECT DISTINCT a.person_id, a.gid AS gid_a, b.gid AS gid_b, a.identifier, a.evidence_class
            FROM identifier_values AS a JOIN identifier_values AS b
              ON a.person_id = b.person_id AND a.identifier = b.identifier AND a.value = b.value
             AND a.gid < b.gid"""  # noqa: S608 - constants only
    )
    memory.execute(
        f"""CREATE OR REPLACE TEMP TABLE part_pairs AS
            WITH parts AS (SELECT person_id, gid, count(*) AS n FROM split_records GROUP BY ALL),
            pairs AS (
                SELECT a.person_id, a.gid AS gid_a, b.gid AS gid_b, a.n * b.n AS missed
                FROM parts AS a JOIN parts AS b ON a.person_id = b.person_id AND a.gid < b.gid
            ),
            strongest AS (
                SELECT person_id, gid_a, gid_b, min(evidence_class) AS evidence_class
                FROM shared_identifiers GROUP BY ALL
            ),
            cross_links AS (
                SELECT a.person_id, least(a.gid, b.gid) AS gid_a, greatest(a.gid, b.gid) AS gid_b,
                       l.decision, coalesce(l.match_probability, 1.0) AS probability
                FROM split_links AS l
                JOIN split_records AS a ON a.record_key = l.record_key_a
                JOIN split_records AS b ON b.record_key = l.record_key_b
                WHERE a.person_id = b.person_id AND a.gid <> b.gid
            ),
            best_link AS (
                SELECT person_id, gid_a, gid_b, arg_max(decision, probability) AS decision
                FROM cross_links GROUP BY ALL
            )
            SELECT p.*, coalesce(s.evidence_class, {NOTHING}) AS evidence_class,
                   {OUTCOME_SQL} AS outcome
            FROM pairs AS p
            LEFT JOIN strongest AS s USING (person_id, gid_a, gid_b)
            LEFT JOIN best_link AS l USING (person_id, gid_a, gid_b)"""  # noqa: S608 - constants only
    )


def _summarise(memory: duckdb.DuckDBPyConnection) -> SplitEvidence:
    rows = [EvidenceClassRow(name) for name in CLASSES]
    for evidence_class, outcome, part_pairs, missed in memory.execute(
        "SELECT evidence_class, outcome, count(*), sum(missed)::BIGINT FROM part_pairs GROUP BY ALL"
    ).fetchall():
        row = rows[evidence_class]
        row.part_pairs += part_pairs
        row.missed_pairs += missed
        row.by_outcome[OUTCOMES[outcome]] += missed
    shared = {
        IDENTIFIERS[identifier].label: (int(pairs), int(missed))
        for identifier, pairs, missed in memory.execute(
            """SELECT s.identifier, count(*), sum(p.missed)::BIGINT
               FROM shared_identifiers AS s JOIN part_pairs AS p USING (person_id, gid_a, gid_b)
               GROUP BY s.identifier ORDER BY s.identifier"""
        ).fetchall()
    }
    return SplitEvidence(rows, shared)
