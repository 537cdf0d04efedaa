"""`aeglobal evaluate`: the current identity map scored against ground truth.

Truth: CSV with source, object, record_id, person_id (the generator's `<DIR>.truth.csv`).
Hard negatives (optional): CSV with record_key_a, record_key_b, reason — pairs of different
people that look alike; a pair is "wrongly merged" when both records share a global id.
Scores come from `identity.metrics` (contingency-table counting, no pair enumeration); what the
parts of each false split share, from `identity.split_evidence`.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from aeglobal_pipeline import warehouse
from aeglobal_pipeline.identity.metrics import ClusteringScores, register_truth_csv, score_clusterings
from aeglobal_pipeline.identity.split_evidence import OpenSource, SplitEvidence, split_evidence
from aeglobal_pipeline.identity.stable_ids import MAP_TABLE

TOP = 10


@dataclass
class ClusterError:
    """A predicted cluster spanning several true persons (false merge) or a true person spread
    over several predicted clusters (false split), with the record keys involved."""

    cluster: str
    parts: int  # persons (merge) or clusters (split) involved
    wrong_pairs: int
    record_keys: list[str]


@dataclass
class HardNegativeResult:
    pairs: int
    merged: int
    by_reason: dict[str, tuple[int, int]] = field(default_factory=dict)  # reason → (merged, pairs)

    @property
    def merged_share(self) -> float:
        return self.merged / self.pairs if self.pairs else 0.0


@dataclass
class EvaluationReport:
    scores: ClusteringScores
    false_merges: list[ClusterError]
    false_splits: list[ClusterError]
    hard_negatives: HardNegativeResult | None
    split_evidence: SplitEvidence | None = None
    split_evidence_note: str | None = None  # why there is no breakdown

    def __str__(self) -> str:
        s = self.scores
        lines = [
            f"records scored: {s.records:,}  (missing from the map: {s.missing_from_predicted:,}; "
            f"in the map but not in truth: {s.missing_from_truth:,})",
            f"persons (truth): {s.truth_clusters:,}  global ids (predicted): {s.predicted_clusters:,}",
            f"pairwise  precision {s.pairwise_precision:.4f}  recall {s.pairwise_recall:.4f}  "
            f"F1 {s.pairwise_f1:.4f}",
            f"B-cubed   precision {s.bcubed_precision:.4f}  recall {s.bcubed_recall:.4f}  "
            f"F1 {s.bcubed_f1:.4f}",
        ]
        if self.hard_negatives is not None:
            h = self.hard_negatives
            lines.append(f"hard negatives wrongly merged: {h.merged:,} of {h.pairs:,} ({h.merged_share:.2%})")
            for reason, (merged, total) in sorted(h.by_reason.items()):
                lines.append(f"  {reason}: {merged} of {total}")
        for title, errors in (
            ("largest false merges", self.false_merges),
            ("largest false splits", self.false_splits),
        ):
            lines.append(f"{title}:")
            if not errors:
                lines.append("  none")
            for e in errors:
                keys = ", ".join(e.record_keys[:6]) + (" …" if len(e.record_keys) > 6 else "")
                lines.append(f"  {e.cluster}: {e.parts} parts, {e.wrong_pairs} wrong pairs — {keys}")
        if self.split_evidence is not None:
            lines.extend(self.split_evidence.lines())
        else:
            lines.append(f"missed pairs (false splits) by what the parts share: {self.split_evidence_note}")
        return "\n".join(lines)


def default_hard_negatives(truth_csv: Path) -> Path | None:
    """`X.truth.csv` → `X.hard_negatives.csv` when that file exists."""
    name = Path(truth_csv).name
    if not name.endswith(".truth.csv"):
        return None
    candidate = Path(truth_csv).with_name(name.removesuffix(".truth.csv") + ".hard_negatives.csv")
    return candidate if candidate.exists() else None


def evaluate(truth_csv: Path, hard_negatives_csv: Path | None = None) -> EvaluationReport:
    """Score identity.global_person_map in the warehouse against `truth_csv`."""
    with warehouse.connect(read_only=True) as con:
        predicted = con.sql(f"SELECT record_key, global_person_id FROM {MAP_TABLE}").to_arrow_table()  # noqa: S608
    with duckdb.connect() as memory:
        memory.register("predicted_arrow", predicted)
        memory.execute("CREATE TABLE predicted AS SELECT * FROM predicted_arrow")
        # the warehouse opened again only to read the split persons' features and links, not
        # held (and locked) while the scores are counted
        return evaluate_relation(memory, Path(truth_csv), hard_negatives_csv,
                                 evidence_source=lambda: warehouse.connect(read_only=True))


def evaluate_relation(
    con: duckdb.DuckDBPyConnection,
    truth_csv: Path,
    hard_negatives_csv: Path | None = None,
    evidence_source: OpenSource | None = None,
) -> EvaluationReport:
    """Score table `predicted(record_key, global_person_id)` on `con` against truth; the false
    splits' evidence is read from identity.record_features / person_links on the connection
    `evidence_source()` opens (default `con`)."""
    register_truth_csv(con, truth_csv, "truth")
    scores = score_clusterings(con, "truth", "predicted", predicted_cluster="global_person_id")
    con.execute(
        """CREATE OR REPLACE TEMP TABLE joined AS
           SELECT t.record_key, t.person_id, coalesce(p.global_person_id, 'missing:' || t.record_key) AS gid
           FROM truth AS t LEFT JOIN predicted AS p USING (record_key)"""
    )
    merges = _errors(con, group="gid", part="person_id")
    splits = _errors(con, group="person_id", part="gid")
    hard = _hard_negatives(con, hard_negatives_csv) if hard_negatives_csv else None
    report = EvaluationReport(scores, merges, splits, hard)
    try:
        report.split_evidence = split_evidence(con, evidence_source or (lambda: nullcontext(con)))
    except duckdb.CatalogException:
        report.split_evidence_note = "not available (no identity.record_features / person_links yet)"
    return report


def _errors(con: duckdb.DuckDBPyConnection, *, group: str, part: str) -> list[ClusterError]:
    # group/part are the two constant column names of `joined`, never user input.
    rows = con.execute(
        f"""
        WITH cells AS (SELECT {group} AS g, {part} AS p, count(*) AS n FROM joined GROUP BY ALL),
        grouped AS (
            SELECT g, count(*) AS parts, sum(n) AS size, sum(n * n) AS same FROM cells GROUP BY g
            HAVING count(*) > 1
        )
        SELECT g, parts, ((size * size - same) / 2)::BIGINT AS wrong_pairs
        FROM grouped ORDER BY wrong_pairs DESC, g LIMIT {TOP}
        """  # noqa: S608 - constants only
    ).fetchall()
    errors = []
    for g, parts, wrong in rows:
        keys = [
            f"{k} ({p})"
            for k, p in con.execute(
                f"SELECT record_key, {part} FROM joined WHERE {group} = ? ORDER BY {part}, record_key",  # noqa: S608
                [g],
            ).fetchall()
        ]
        errors.append(ClusterError(str(g), int(parts), int(wrong), keys))
    return errors


def _hard_negatives(con: duckdb.DuckDBPyConnection, path: Path) -> HardNegativeResult:
    relation = con.read_csv(str(path), header=True, all_varchar=True)
    relation.create_view("hard_negatives", replace=True)
    rows = con.execute(
        """
        SELECT h.reason, count(*) AS pairs,
               count(*) FILTER (WHERE a.global_person_id = b.global_person_id) AS merged
        FROM hard_negatives AS h
        LEFT JOIN predicted AS a ON a.record_key = h.record_key_a
        LEFT JOIN predicted AS b ON b.record_key = h.record_key_b
        GROUP BY h.reason
        """
    ).fetchall()
    by_reason = {reason: (int(merged), int(pairs)) for reason, pairs, merged in rows}
    return HardNegativeResult(
        pairs=sum(p for _, p in by_reason.values()),
        merged=sum(m for m, _ in by_reason.values()),
        by_reason=by_reason,
    )
