"""The dbt project, located relative to the package (no fixed paths)."""

from __future__ import annotations

import fcntl
import os
import sys
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject

from aeglobal_pipeline.config import warehouse_path

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def dbt_resource() -> DbtCliResource:
    # dbt lives next to the running interpreter; PATH may not include the virtual environment.
    return DbtCliResource(
        project_dir=dbt_project, dbt_executable=str(Path(sys.executable).with_name("dbt"))
    )


def ensure_manifest(*, refresh: bool = False) -> Path:
    """Parse the project when its manifest is missing, or always with `refresh`.

    `dagster dev` re-parses on load by itself; the CLI and tests come through here.
    """
    manifest = dbt_project.manifest_path
    if manifest.exists() and not refresh:
        return manifest
    os.environ.setdefault("AEGLOBAL_WAREHOUSE", str(warehouse_path()))
    lock_path = DBT_PROJECT_DIR / ".parse.lock"
    with open(lock_path, "a+") as lock:
        # Parallel test workers or runs must not write target/manifest.json at the same time.
        fcntl.flock(lock, fcntl.LOCK_EX)
        if refresh or not manifest.exists():
            dbt_resource().cli(["parse", "--quiet"], target_path=dbt_project.target_path).wait()
    return manifest
