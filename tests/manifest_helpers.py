"""What the dbt manifest says about the incremental governance contract, for the tests that hold
the project to it (macros/governance/incremental_governance.sql)."""

from __future__ import annotations

import json
from pathlib import Path

CHANGED_PERSONS = "int_governance__changed_persons"
STORED = {"table", "incremental"}


def load_manifest(path: Path | None = None) -> dict:
    """The project's manifest (parsed first when missing), or the one at `path`."""
    if path is None:
        from aeglobal_pipeline.transform.project import ensure_manifest

        path = ensure_manifest()
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _models(manifest: dict) -> list[dict]:
    return [node for node in manifest["nodes"].values() if node["resource_type"] == "model"]


def person_keyed_models(manifest: dict) -> set[str]:
    """Incremental models that read int_governance__changed_persons: an incremental build
    deletes and re-appends only the rows of the persons it lists (every caller of
    for_changed_persons or delete_changed_persons; no model declares it)."""
    changed = f"model.{manifest['metadata']['project_name']}.{CHANGED_PERSONS}"
    return {
        node["name"] for node in _models(manifest)
        if node["config"]["materialized"] == "incremental" and changed in node["depends_on"]["nodes"]
    }


def stored_models(manifest: dict) -> dict[str, str]:
    """Every model dbt stores as a table in the warehouse: name → `schema.table`."""
    return {
        node["name"]: f"{node['schema']}.{node['alias']}"
        for node in _models(manifest) if node["config"]["materialized"] in STORED
    }
