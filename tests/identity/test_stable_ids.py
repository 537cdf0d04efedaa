"""Stable ids: unchanged people keep ids, merges keep the oldest, splits keep the larger part."""

from __future__ import annotations

import re
from datetime import datetime

from aeglobal_pipeline.identity.stable_ids import (
    EVENT_ISSUED,
    EVENT_MERGED_INTO,
    EVENT_SPLIT_FROM,
    assign_ids,
    new_person_id,
)

T1, T2 = datetime(2025, 1, 1), datetime(2025, 6, 1)


def test_ids_are_opaque_short_and_unique():
    taken: set[str] = set()
    first = new_person_id("crm:Lead:1", "run-1", taken)
    assert first == new_person_id("crm:Lead:1", "run-1", set())  # deterministic
    again = new_person_id("crm:Lead:1", "run-1", taken)  # same inputs, but collision-checked
    assert again != first
    for pid in (first, again):
        assert re.fullmatch(r"GP-[0-9A-HJKMNP-TV-Z]{10}", pid)


def test_unchanged_clusters_keep_their_ids():
    clusters = {"a": "a", "b": "a", "c": "c"}
    first = assign_ids(clusters, {}, {}, "run-1")
    assert first.count(EVENT_ISSUED) == 2
    second = assign_ids(clusters, first.id_of_record, dict.fromkeys(first.id_of_record.values(), T1), "run-2")
    assert second.id_of_record == first.id_of_record
    assert second.events == []


def test_merge_keeps_the_oldest_id():
    previous = {"a": "GP-OLD", "b": "GP-NEW"}
    result = assign_ids({"a": "a", "b": "a"}, previous, {"GP-OLD": T1, "GP-NEW": T2}, "run-3")
    assert set(result.id_of_record.values()) == {"GP-OLD"}
    assert result.events == [("GP-NEW", EVENT_MERGED_INTO, "GP-OLD")]


def test_split_keeps_the_id_on_the_larger_part():
    previous = dict.fromkeys("abc", "GP-X")
    result = assign_ids({"a": "a", "b": "a", "c": "c"}, previous, {"GP-X": T1}, "run-4")
    assert result.id_of_record["a"] == result.id_of_record["b"] == "GP-X"
    fresh = result.id_of_record["c"]
    assert fresh != "GP-X"
    assert (fresh, EVENT_SPLIT_FROM, "GP-X") in result.events
