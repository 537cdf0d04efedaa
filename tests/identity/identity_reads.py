"""What a finished identity run left in the warehouse, read the same way by every identity test."""

from __future__ import annotations

from aeglobal_pipeline import warehouse
from aeglobal_pipeline.identity.stable_ids import MAP_TABLE


def global_ids() -> dict[str, str]:
    """record key → global person id."""
    with warehouse.connect(read_only=True) as con:
        return dict(con.execute(f"SELECT record_key, global_person_id FROM {MAP_TABLE}").fetchall())  # noqa: S608


def scored_links(*keys: str) -> dict[tuple[str, str], tuple[str, float]]:
    """(record_key_a, record_key_b) → (decision, match probability) for the scored pairs among keys."""
    with warehouse.connect(read_only=True) as con:
        rows = con.execute(
            "SELECT record_key_a, record_key_b, decision, match_probability FROM identity.person_links "
            "WHERE list_contains(?, record_key_a) AND list_contains(?, record_key_b)",
            [list(keys), list(keys)],
        ).fetchall()
    return {(a, b): (decision, p) for a, b, decision, p in rows}


def decisions(*keys: str) -> list[str]:
    """The decisions on the scored pairs among keys."""
    return [decision for decision, _ in scored_links(*keys).values()]
