"""dbt models as Dagster assets (one `dbt build` per run; dbt tests become asset checks)."""

import os
from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from aeglobal_pipeline.config import warehouse_path
from aeglobal_pipeline.transform.project import dbt_project, ensure_manifest

GROUP_BY_FOLDER = {"staging": "staging", "intermediate": "person_records", "marts": "marts"}


class AeglobalDbtTranslator(DagsterDbtTranslator):
    """Groups by model folder; seeds are reference data."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "reference_data"
        fqn = dbt_resource_props.get("fqn", [])
        return GROUP_BY_FOLDER.get(fqn[1] if len(fqn) > 2 else "", "marts")

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> list[str]:
        return ["team:data-engineering"]


def build_dbt_assets() -> dg.AssetsDefinition:
    manifest = ensure_manifest()

    @dbt_assets(
        manifest=manifest,
        project=dbt_project,
        dagster_dbt_translator=AeglobalDbtTranslator(),
        pool="warehouse",
    )
    def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource) -> Iterator:
        """Staging views, canonical person records and marts, built and tested by dbt."""
        os.environ["AEGLOBAL_WAREHOUSE"] = str(warehouse_path())
        yield from dbt.cli(["build"], context=context).stream()

    return dbt_models
