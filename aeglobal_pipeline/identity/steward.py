"""`aeglobal steward decide`: append a validated decision to steward_decisions.yaml.

The file stays hand-editable and reviewable: the entry is appended as text (comments survive),
then the whole file is validated — unknown record keys, a pair already decided, and a
contradiction with existing decisions are refused — before it replaces the old file.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from pathlib import Path

import duckdb

from aeglobal_pipeline.config import ConfigError
from aeglobal_pipeline.identity.decisions import Decision, load_decisions
from aeglobal_pipeline.identity.settings import rules_dir
from aeglobal_pipeline.warehouse import connect


class DecisionRefused(ConfigError):
    """The decision was not recorded; the message says why."""


def known_record_keys(keys: list[str]) -> set[str]:
    """Which of `keys` the last run resolved (identity.global_person_map)."""
    try:
        with connect(read_only=True) as con:
            rows = con.execute(
                "select record_key from identity.global_person_map where record_key in "
                "(select unnest(?::varchar[]))",
                [keys],
            ).fetchall()
    except (FileNotFoundError, duckdb.CatalogException) as error:
        raise DecisionRefused(
            "no identity.global_person_map in the warehouse yet: run `aeglobal run` first"
        ) from error
    return {row[0] for row in rows}


def _entry_text(decision: Decision) -> str:
    # JSON strings are valid YAML scalars and quote whatever a steward types.
    return (
        f"  - decision: {decision.decision}\n"
        f"    records: [{json.dumps(decision.records[0])}, {json.dumps(decision.records[1])}]\n"
        f"    by: {json.dumps(decision.by)}\n"
        f"    at: {decision.at.isoformat()}\n"
        f"    why: {json.dumps(decision.why, ensure_ascii=False)}\n"
    )


def record_decision(
    kind: str, record_a: str, record_b: str, *, by: str, why: str, path: Path | None = None
) -> Decision:
    """Validate and append one decision; returns it. Raises DecisionRefused or ConfigError."""
    path = path or rules_dir() / "steward_decisions.yaml"
    decision = Decision(
        decision=kind.replace("-", "_"), records=[record_a, record_b], by=by,
        at=dt.datetime.now(dt.UTC).replace(microsecond=0), why=why,
    )
    unknown = sorted(set(decision.records) - known_record_keys(decision.records))
    if unknown:
        raise DecisionRefused(f"unknown record keys (not in the last run): {', '.join(unknown)}")
    existing = load_decisions(path)
    pair = tuple(sorted(decision.records))
    for a, b, index in existing.must_links + existing.cannot_links:
        if (a, b) == pair:
            raise DecisionRefused(f"{existing.path}: decisions[{index}] already decides {a}, {b}")

    text = path.read_text(encoding="utf-8") if path.exists() else "decisions:\n"
    text = text.replace("decisions: []", "decisions:")
    if not text.endswith("\n"):
        text += "\n"
    text += _entry_text(decision)
    with tempfile.NamedTemporaryFile(
        "w", dir=path.parent, suffix=".yaml", delete=False, encoding="utf-8"
    ) as candidate:
        candidate.write(text)
    try:
        load_decisions(Path(candidate.name))  # contradictions with must-link chains, schema
    except ConfigError as error:
        os.unlink(candidate.name)
        raise DecisionRefused(str(error).replace(candidate.name, str(path))) from error
    os.replace(candidate.name, path)
    return decision
