"""Constrained clustering: cannot-links cut the weakest separating edges, must-links hold."""

from __future__ import annotations

import pytest

from aeglobal_pipeline.identity.clustering import DETERMINISTIC_WEIGHT, cluster_records


def _groups(result) -> set[frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for key, cluster in result.cluster_of.items():
        groups.setdefault(cluster, set()).add(key)
    return {frozenset(g) for g in groups.values()}


def test_components_without_constraints():
    result = cluster_records("abcdef", [("a", "b", 10), ("b", "c", 5), ("d", "e", 7)])
    assert _groups(result) == {frozenset("abc"), frozenset("de"), frozenset("f")}
    assert result.cluster_of["c"] == "a"  # cluster key: smallest record key


def test_cannot_link_cuts_the_weakest_edge_between_the_sides():
    # a-b strong, b-c weak, c-d strong: a cannot-link a/d must cut b-c and nothing else.
    edges = [("a", "b", 20), ("b", "c", 3), ("c", "d", 18), ("x", "y", 9)]
    result = cluster_records("abcdxy", edges, cannot_links=[("a", "d")])
    assert _groups(result) == {frozenset("ab"), frozenset("cd"), frozenset("xy")}
    assert result.edges_cut_cannot_link == 1


def test_must_link_joins_and_is_never_split():
    result = cluster_records("abcd", [("a", "b", 10)], must_links=[("b", "c")], cannot_links=[("a", "d")])
    assert _groups(result) == {frozenset("abc"), frozenset("d")}
    with pytest.raises(ValueError, match="contradicts"):
        cluster_records("ab", [], must_links=[("a", "b")], cannot_links=[("a", "b")])


def test_cannot_link_beats_deterministic_links():
    edges = [("a", "b", DETERMINISTIC_WEIGHT), ("b", "c", DETERMINISTIC_WEIGHT), ("a", "c", 4)]
    result = cluster_records("abc", edges, cannot_links=[("a", "c")])
    assert result.cluster_of["a"] != result.cluster_of["c"]


def test_oversized_clusters_break_on_weak_edges():
    chain = [(f"r{i}", f"r{i + 1}", 10.0) for i in range(9)]
    chain[4] = ("r4", "r5", 1.0)  # the weak link in the middle
    result = cluster_records([f"r{i}" for i in range(10)], chain, max_cluster_size=5)
    assert _groups(result) == {frozenset(f"r{i}" for i in range(5)), frozenset(f"r{i}" for i in range(5, 10))}


def test_order_of_input_does_not_matter():
    edges = [("a", "b", 5), ("c", "d", 5), ("b", "c", 5), ("d", "e", 1)]
    first = cluster_records("abcde", edges, cannot_links=[("a", "e")], max_cluster_size=4)
    second = cluster_records("edcba", list(reversed(edges)), cannot_links=[("e", "a")], max_cluster_size=4)
    assert first.cluster_of == second.cluster_of


def test_each_component_clusters_alone_as_in_the_whole():
    """What incremental map runs rely on: a component's clusters do not depend on the rest."""
    import random

    rng = random.Random(7)
    for _ in range(200):
        records = [f"r{i:02d}" for i in range(rng.randint(2, 30))]
        edges = [(rng.choice(records), rng.choice(records), rng.choice([1.0, 2.0, 3.0, DETERMINISTIC_WEIGHT]))
                 for _ in range(rng.randint(0, 40))]
        cannot = [(rng.choice(records), rng.choice(records)) for _ in range(2)]
        cannot = [(a, b) for a, b in cannot if a != b]
        cap = rng.randint(2, 6)
        whole = cluster_records(records, edges, cannot_links=cannot, max_cluster_size=cap)
        component = {key: whole.component_of.get(key, key) for key in records}
        assert sum(s.edges_used for s in whole.components.values()) == whole.edges_used
        assert sum(s.edges_cut_size for s in whole.components.values()) == whole.edges_cut_size
        for key in set(component.values()):
            members = [r for r in records if component[r] == key]
            part = cluster_records(members, [e for e in edges if component[e[0]] == key],
                                   cannot_links=cannot, max_cluster_size=cap)
            assert part.cluster_of == {r: whole.cluster_of[r] for r in members}
            assert all(e[0] in members and e[1] in members for e in edges if component[e[0]] == key)
            if len(members) > 1:
                stats = whole.components[key]
                assert stats.records == len(members)
                assert (stats.edges_used, stats.edges_cut_size) == (part.edges_used, part.edges_cut_size)
