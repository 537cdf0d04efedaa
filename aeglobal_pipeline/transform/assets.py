"""dbt models as Dagster assets (`dbt build` in two steps around identity; dbt tests become asset checks)."""

import shutil
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from aeglobal_pipeline import warehouse
from aeglobal_pipeline.rules_check.asset import CONFIGURATION_CHECK_KEY
from aeglobal_pipeline.transform.project import (
    dbt_project,
    ensure_manifest,
    point_dbt_at_warehouse,
    project_fingerprint,
)

GROUP_BY_FOLDER = {"staging": "staging", "intermediate": "person_records", "marts": "marts"}


class DbtBuildConfig(dg.Config):
    # Rebuild incremental models (person records, governance, marts) from scratch.
    full_refresh: bool = False


# Incremental models redo only what changed in the data; when the dbt project itself changed
# since a step last built (a model, macro, seed or test), that step rebuilds from scratch.
BUILDS_TABLE = "dbt_state.builds"


def _built_from(step: str) -> str | None:
    with warehouse.connect() as con:
        con.execute("create schema if not exists dbt_state")
        con.execute(
            f"create table if not exists {BUILDS_TABLE} "
            "(step varchar primary key, project_fingerprint varchar, built_at timestamptz)"
        )
        row = con.execute(
            f"select project_fingerprint from {BUILDS_TABLE} where step = ?", [step]  # noqa: S608
        ).fetchone()
    return row[0] if row else None


# dagster-dbt gives every dbt command a target directory of its own (manifest, compiled SQL, log:
# about 5 MB at this project's size). The newest few per step are kept for debugging; older ones
# would fill the disk of a daily schedule. A directory younger than an hour may belong to a run
# still going, so it is never removed.
KEPT_TARGET_DIRS = 10
MIN_TARGET_DIR_AGE_SECONDS = 3600


def prune_target_dirs(target_root: Path, step: str, keep: int = KEPT_TARGET_DIRS) -> int:
    """Remove all but the newest `keep` target directories of `step`; returns how many went."""
    dirs = sorted((d for d in target_root.glob(f"{step}-*") if d.is_dir()),
                  key=lambda d: d.stat().st_mtime, reverse=True)
    cutoff = time.time() - MIN_TARGET_DIR_AGE_SECONDS
    removed = 0
    for old in dirs[keep:]:
        if old.stat().st_mtime < cutoff:
            shutil.rmtree(old, ignore_errors=True)
            removed += 1
    return removed


def _record_build(step: str, fingerprint: str) -> None:
    with warehouse.connect() as con:
        con.execute(
            f"insert or replace into {BUILDS_TABLE} values (?, ?, now())", [step, fingerprint]  # noqa: S608
        )


class AeglobalDbtTranslator(DagsterDbtTranslator):
    """Groups by model folder; seeds are reference data."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "reference_data"
        fqn = dbt_resource_props.get("fqn", [])
        return GROUP_BY_FOLDER.get(fqn[1] if len(fqn) > 2 else "", "marts")

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> list[str]:
        return ["team:data-engineering"]

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: Any) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        # Like the extracts, every dbt node waits for the configuration check, so a job of any
        # subset of them (the per-group jobs) stops at a bad rules or sources file.
        return spec.merge_attributes(deps=[CONFIGURATION_CHECK_KEY])


# Identity resolution (Python) sits between the two halves of the dbt project, so they are two
# assets: canonical person records before it, governance and marts after it.
PERSON_RECORDS_SELECT = "resource_type:seed path:models/staging path:models/intermediate"
GOVERNANCE_SELECT = "path:models/intermediate/governance path:models/marts"


def _dbt_assets(
    manifest: Path, name: str, select: str, exclude: str, description: str
) -> dg.AssetsDefinition:
    @dbt_assets(
        manifest=manifest,
        project=dbt_project,
        dagster_dbt_translator=AeglobalDbtTranslator(),
        select=select,
        exclude=exclude,
        name=name,
        pool="warehouse",
    )
    def _models(context: dg.AssetExecutionContext, dbt: DbtCliResource, config: DbtBuildConfig) -> Iterator:
        point_dbt_at_warehouse()
        fingerprint = project_fingerprint()
        project_changed = _built_from(name) != fingerprint
        if project_changed and not config.full_refresh:
            context.log.info(f"{name}: the dbt project changed since its last build; rebuilding from scratch")
        args = ["build", "--full-refresh"] if config.full_refresh or project_changed else ["build"]
        # dbt's unit tests check the SQL, which a run does not change: the test suite runs them
        # (tests/governance/test_governance_marts.py), as dbt recommends for production.
        args += ["--exclude-resource-type", "unit_test"]
        invocation = dbt.cli(args, context=context)
        yield from invocation.stream()
        if invocation.is_successful():
            _record_build(name, fingerprint)
        prune_target_dirs(invocation.target_path.parent, name)

    _models.__doc__ = description
    return _models


def build_dbt_assets() -> list[dg.AssetsDefinition]:
    # Under `dagster dev` (make ui) re-parse on every load so model edits show up.
    manifest = ensure_manifest(refresh=dbt_project.preparer.using_dagster_dev())
    return [
        _dbt_assets(
            manifest, "dbt_person_records", PERSON_RECORDS_SELECT, "path:models/intermediate/governance",
            "Staging views, reference seeds and canonical person records, built and tested by dbt.",
        ),
        _dbt_assets(
            manifest, "dbt_governance_marts", GOVERNANCE_SELECT, "",
            "Survivorship, consent, sharing, golden_person, conflicts, write-back plan and KPIs.",
        ),
    ]
