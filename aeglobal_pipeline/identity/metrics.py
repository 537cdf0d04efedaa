"""Clustering quality against ground truth, computed in DuckDB by counting.

Both scores are derived from the contingency table n[i, j] = number of records that truth puts in
person i and the prediction puts in cluster j. With a[i] = sum_j n[i, j] (truth cluster sizes) and
b[j] = sum_i n[i, j] (predicted cluster sizes):

- pairwise: true-positive pairs = sum C(n[i, j], 2); predicted pairs = sum C(b[j], 2);
  truth pairs = sum C(a[i], 2). Precision = TP / predicted pairs, recall = TP / truth pairs.
- B-cubed (Bagga & Baldwin): precision = sum n[i, j]^2 / b[j] / N, recall = sum n[i, j]^2 / a[i] / N.

No pair is ever enumerated, so this runs on millions of records in seconds.

Scope: the records of the truth relation. A truth record the prediction does not contain is
scored as a singleton cluster (dropping records costs recall, never helps); a predicted record
that truth does not know is ignored. Both are counted in the result so a caller can flag them.
Convention for empty denominators: precision/recall is 1.0 when there is nothing to get wrong
(no predicted pairs / no truth pairs); F1 is 0.0 when precision + recall is 0.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb


@dataclass(frozen=True)
class ClusteringScores:
    records: int  # truth records scored
    truth_clusters: int
    predicted_clusters: int  # over the scored records, missing ones counted as singletons
    missing_from_predicted: int  # truth records the prediction lacks (scored as singletons)
    missing_from_truth: int  # predicted records truth lacks (ignored)
    true_positive_pairs: int
    predicted_pairs: int
    truth_pairs: int
    pairwise_precision: float
    pairwise_recall: float
    pairwise_f1: float
    bcubed_precision: float
    bcubed_recall: float
    bcubed_f1: float

    def to_dict(self) -> dict[str, int | float]:
        return asdict(self)


def quote_identifier(name: str) -> str:
    """Quote a possibly schema-qualified relation or column name for DuckDB SQL."""
    parts = name.split(".")
    if not name or any(not part for part in parts):
        raise ValueError(f"not a relation or column name: {name!r}")
    return ".".join('"' + part.replace('"', '""') + '"' for part in parts)


def _f1(precision: float, recall: float) -> float:
    total = precision + recall
    return 0.0 if total == 0 else 2 * precision * recall / total


def _ratio(numerator: float, denominator: float) -> float:
    return 1.0 if denominator == 0 else numerator / denominator


def _assert_unique_keys(con: duckdb.DuckDBPyConnection, relation: str, key: str) -> None:
    duplicates = con.execute(
        f"SELECT count(*) - count(DISTINCT {key}), count(*) FILTER (WHERE {key} IS NULL) "  # noqa: S608 - quoted identifiers
        f"FROM {relation}"
    ).fetchall()[0]
    if duplicates[0] or duplicates[1]:
        raise ValueError(
            f"{relation}: {duplicates[0]} duplicate and {duplicates[1]} null values in {key}; "
            "each record must appear exactly once"
        )


def score_clusterings(
    con: duckdb.DuckDBPyConnection,
    truth_relation: str,
    predicted_relation: str,
    *,
    truth_key: str = "record_key",
    truth_cluster: str = "person_id",
    predicted_key: str = "record_key",
    predicted_cluster: str = "cluster_id",
) -> ClusteringScores:
    """Score `predicted_relation` (record → cluster) against `truth_relation` (record → person).

    Relations are table or view names visible on `con` (schema-qualified allowed). Keys must be
    unique and non-null in each relation; cluster ids may be of any type.
    """
    truth, predicted = quote_identifier(truth_relation), quote_identifier(predicted_relation)
    t_key, t_cluster = quote_identifier(truth_key), quote_identifier(truth_cluster)
    p_key, p_cluster = quote_identifier(predicted_key), quote_identifier(predicted_cluster)
    _assert_unique_keys(con, truth, t_key)
    _assert_unique_keys(con, predicted, p_key)

    # Identifiers are quoted above; no user value is interpolated into the SQL text.
    sql = f"""
        WITH joined AS (
            SELECT CAST(t.{t_cluster} AS VARCHAR) AS truth_cluster,
                   -- a record the prediction lacks becomes its own singleton cluster
                   coalesce('p:' || CAST(p.{p_cluster} AS VARCHAR),
                            'missing:' || CAST(t.{t_key} AS VARCHAR)) AS predicted_cluster,
                   p.{p_key} IS NULL AS is_missing
            FROM {truth} AS t LEFT JOIN {predicted} AS p ON t.{t_key} = p.{p_key}
        ),
        cells AS (
            SELECT truth_cluster, predicted_cluster, count(*)::BIGINT AS n
            FROM joined GROUP BY ALL
        ),
        cells_sized AS (
            SELECT n,
                   sum(n) OVER (PARTITION BY truth_cluster) AS a,
                   sum(n) OVER (PARTITION BY predicted_cluster) AS b
            FROM cells
        ),
        truth_sizes AS (SELECT sum(n) AS a FROM cells GROUP BY truth_cluster),
        predicted_sizes AS (SELECT sum(n) AS b FROM cells GROUP BY predicted_cluster)
        SELECT
            (SELECT count(*) FROM joined),
            (SELECT count(*) FROM truth_sizes),
            (SELECT count(*) FROM predicted_sizes),
            (SELECT count(*) FILTER (WHERE is_missing) FROM joined),
            (SELECT count(*) FROM {predicted} AS p
                WHERE NOT EXISTS (SELECT 1 FROM {truth} AS t WHERE t.{t_key} = p.{p_key})),
            (SELECT coalesce(sum(n * (n - 1) // 2), 0)::HUGEINT FROM cells),
            (SELECT coalesce(sum(b * (b - 1) // 2), 0)::HUGEINT FROM predicted_sizes),
            (SELECT coalesce(sum(a * (a - 1) // 2), 0)::HUGEINT FROM truth_sizes),
            (SELECT coalesce(sum(n * n / b), 0)::DOUBLE FROM cells_sized),
            (SELECT coalesce(sum(n * n / a), 0)::DOUBLE FROM cells_sized)
    """  # noqa: S608 - only quoted identifiers are interpolated
    row = con.execute(sql).fetchall()[0]
    records, truth_clusters, predicted_clusters, missing_p, missing_t = (int(v) for v in row[:5])
    tp, predicted_pairs, truth_pairs = int(row[5]), int(row[6]), int(row[7])
    precision, recall = _ratio(tp, predicted_pairs), _ratio(tp, truth_pairs)
    b3_precision = _ratio(float(row[8]), records)
    b3_recall = _ratio(float(row[9]), records)
    return ClusteringScores(
        records=records,
        truth_clusters=truth_clusters,
        predicted_clusters=predicted_clusters,
        missing_from_predicted=missing_p,
        missing_from_truth=missing_t,
        true_positive_pairs=tp,
        predicted_pairs=predicted_pairs,
        truth_pairs=truth_pairs,
        pairwise_precision=precision,
        pairwise_recall=recall,
        pairwise_f1=_f1(precision, recall),
        bcubed_precision=b3_precision,
        bcubed_recall=b3_recall,
        bcubed_f1=_f1(b3_precision, b3_recall),
    )


def register_truth_csv(con: duckdb.DuckDBPyConnection, path: Path | str, view_name: str = "truth") -> str:
    """Expose a generator truth file (source, object, record_id, person_id) as a temporary view
    `view_name(record_key, person_id)` with record keys `<source>:<Object>:<Id>`."""
    relation = con.read_csv(str(path), header=True, all_varchar=True)
    relation.project("source || ':' || object || ':' || record_id AS record_key, person_id").create_view(
        view_name, replace=True
    )
    return view_name
