"""Contingency-table metrics agree with brute-force pair and per-record counting."""

from __future__ import annotations

import itertools
import random

import duckdb
import pytest

from aeglobal_pipeline.identity.metrics import (
    quote_identifier,
    register_truth_csv,
    score_clusterings,
)


def _load(con, truth: dict, predicted: dict) -> None:
    con.execute("CREATE TABLE truth (record_key VARCHAR, person_id VARCHAR)")
    con.executemany("INSERT INTO truth VALUES (?, ?)", list(truth.items()))
    con.execute("CREATE TABLE pred (record_key VARCHAR, cluster_id VARCHAR)")
    con.executemany("INSERT INTO pred VALUES (?, ?)", list(predicted.items()))


def _brute_force(truth: dict, predicted: dict) -> dict:
    keys = sorted(truth)
    # Missing predictions are singletons, unknown predicted records are ignored.
    cluster = {k: predicted.get(k, ("missing", k)) for k in keys}
    tp = fp = fn = 0
    for x, y in itertools.combinations(keys, 2):
        same_truth, same_pred = truth[x] == truth[y], cluster[x] == cluster[y]
        tp += same_truth and same_pred
        fp += same_pred and not same_truth
        fn += same_truth and not same_pred
    b3_p = b3_r = 0.0
    for k in keys:
        pred_members = {m for m in keys if cluster[m] == cluster[k]}
        truth_members = {m for m in keys if truth[m] == truth[k]}
        overlap = len(pred_members & truth_members)
        b3_p += overlap / len(pred_members)
        b3_r += overlap / len(truth_members)
    return {
        "tp": tp,
        "precision": tp / (tp + fp) if tp + fp else 1.0,
        "recall": tp / (tp + fn) if tp + fn else 1.0,
        "b3_precision": b3_p / len(keys),
        "b3_recall": b3_r / len(keys),
    }


def _score(truth: dict, predicted: dict):
    with duckdb.connect() as con:
        _load(con, truth, predicted)
        return score_clusterings(con, "truth", "pred")


def test_hand_made_example():
    truth = {"a": "P1", "b": "P1", "c": "P1", "d": "P2", "e": "P2", "f": "P3"}
    predicted = {"a": "X", "b": "X", "c": "Y", "d": "Y", "e": "Y", "f": "Z", "g": "Z"}
    s = _score(truth, predicted)
    # truth pairs: ab ac bc de = 4; predicted pairs over truth records: ab, cd ce de = 4; TP: ab, de
    assert (s.true_positive_pairs, s.predicted_pairs, s.truth_pairs) == (2, 4, 4)
    assert s.pairwise_precision == pytest.approx(0.5)
    assert s.pairwise_recall == pytest.approx(0.5)
    assert s.pairwise_f1 == pytest.approx(0.5)
    # B-cubed precision per record: a,b 1; c 1/3; d,e 2/3; f 1 → (2 + 1/3 + 4/3 + 1) / 6
    assert s.bcubed_precision == pytest.approx((2 + 1 / 3 + 4 / 3 + 1) / 6)
    # B-cubed recall: a,b 2/3; c 1/3; d,e 1; f 1 → (4/3 + 1/3 + 2 + 1) / 6
    assert s.bcubed_recall == pytest.approx((4 / 3 + 1 / 3 + 2 + 1) / 6)
    assert (s.records, s.missing_from_predicted, s.missing_from_truth) == (6, 0, 1)


def test_perfect_and_all_singletons():
    truth = {f"r{i}": f"P{i // 3}" for i in range(12)}
    perfect = _score(truth, {k: "c" + v for k, v in truth.items()})
    assert perfect.pairwise_f1 == 1.0 and perfect.bcubed_f1 == 1.0
    singletons = _score(truth, {k: k for k in truth})
    assert singletons.pairwise_precision == 1.0 and singletons.pairwise_recall == 0.0
    assert singletons.pairwise_f1 == 0.0
    assert singletons.bcubed_precision == 1.0
    assert singletons.bcubed_recall == pytest.approx(1 / 3)


@pytest.mark.parametrize("seed", range(25))
def test_matches_brute_force_on_random_clusterings(seed):
    rng = random.Random(seed)
    n = rng.randint(1, 40)
    truth = {f"r{i}": f"P{rng.randint(0, max(1, n // 3))}" for i in range(n)}
    predicted = {k: f"C{rng.randint(0, max(1, n // 2))}" for k in truth if rng.random() > 0.1}
    predicted.update({f"extra{i}": "C0" for i in range(rng.randint(0, 3))})
    expected = _brute_force(truth, predicted)
    s = _score(truth, predicted)
    assert s.true_positive_pairs == expected["tp"]
    assert s.pairwise_precision == pytest.approx(expected["precision"])
    assert s.pairwise_recall == pytest.approx(expected["recall"])
    assert s.bcubed_precision == pytest.approx(expected["b3_precision"])
    assert s.bcubed_recall == pytest.approx(expected["b3_recall"])
    assert s.missing_from_predicted == sum(k not in predicted for k in truth)


def test_integer_cluster_ids_and_custom_columns():
    with duckdb.connect() as con:
        con.execute("CREATE TABLE t AS SELECT * FROM (VALUES ('a', 1), ('b', 1), ('c', 2)) v(k, p)")
        con.execute("CREATE TABLE p AS SELECT * FROM (VALUES ('a', 7), ('b', 7), ('c', 7)) v(k, c)")
        s = score_clusterings(
            con, "t", "p", truth_key="k", truth_cluster="p", predicted_key="k", predicted_cluster="c"
        )
    assert (s.true_positive_pairs, s.predicted_pairs, s.truth_pairs) == (1, 3, 1)


def test_duplicate_keys_are_rejected():
    with duckdb.connect() as con:
        con.execute(
            "CREATE TABLE t AS SELECT * FROM (VALUES ('a', 'P'), ('a', 'Q')) v(record_key, person_id)"
        )
        con.execute("CREATE TABLE p AS SELECT * FROM (VALUES ('a', 'X')) v(record_key, cluster_id)")
        with pytest.raises(ValueError, match="duplicate"):
            score_clusterings(con, "t", "p")


def test_quote_identifier_escapes_and_rejects():
    assert quote_identifier('main.we"ird') == '"main"."we""ird"'
    with pytest.raises(ValueError):
        quote_identifier("a..b")


def test_register_truth_csv(tmp_path):
    path = tmp_path / "snap.truth.csv"
    path.write_text(
        "source,object,record_id,person_id\ncrm_emea,Lead,00Q1,P1\nae_emea,Prospect,5,P1\n",
        encoding="utf-8",
    )
    with duckdb.connect() as con:
        register_truth_csv(con, path)
        rows = con.execute("SELECT * FROM truth ORDER BY record_key").fetchall()
    assert rows == [("ae_emea:Prospect:5", "P1"), ("crm_emea:Lead:00Q1", "P1")]
