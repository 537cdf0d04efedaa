"""The dbt project, located relative to the package (no fixed paths)."""

from __future__ import annotations

import os
from pathlib import Path

from dagster_dbt import DbtProject

from aeglobal_pipeline.config import warehouse_path

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def dbt_environment() -> dict[str, str]:
    """Environment for dbt subprocesses: the warehouse of $AEGLOBAL_HOME."""
    return {**os.environ, "AEGLOBAL_WAREHOUSE": str(warehouse_path())}


def ensure_manifest() -> Path:
    """Parse the project when its manifest is missing (outside `dagster dev`)."""
    if not dbt_project.manifest_path.exists():
        os.environ.setdefault("AEGLOBAL_WAREHOUSE", str(warehouse_path()))
        dbt_project.preparer.prepare(dbt_project)
    return dbt_project.manifest_path
