"""The dbt project, located relative to the package (no fixed paths)."""

from __future__ import annotations

import fcntl
import hashlib
import os
import sys
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject

from aeglobal_pipeline.config import warehouse_path

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def dbt_resource() -> DbtCliResource:
    # aeglobal-dbt (dbt with an offline `--version`, transform/dbt_command.py) lives next to the
    # running interpreter; PATH may not include the virtual environment.
    return DbtCliResource(
        project_dir=dbt_project, dbt_executable=str(Path(sys.executable).with_name("aeglobal-dbt"))
    )


PARSED_FROM = ".aeglobal_parsed_from"  # beside the manifest: what it was parsed from
SKIPPED_DIRS = {"target", "logs", "dbt_packages"}


def point_dbt_at_warehouse() -> str:
    """Set the variable profiles.yml reads to this home's warehouse, whatever the environment
    held: dbt's partial parsing starts over whenever the profile differs from the parse's."""
    os.environ["AEGLOBAL_WAREHOUSE"] = str(warehouse_path())
    return os.environ["AEGLOBAL_WAREHOUSE"]


def project_fingerprint() -> str:
    """Everything `dbt parse` reads: the project's files (path, size, mtime), the warehouse path
    (dbt-duckdb names the database after it) and the dbt version."""
    from importlib.metadata import version

    digest = hashlib.sha256(f"{warehouse_path()}|{version('dbt-core')}".encode())
    for folder, subfolders, files in os.walk(DBT_PROJECT_DIR):
        if Path(folder) == DBT_PROJECT_DIR:
            subfolders[:] = [d for d in subfolders if d not in SKIPPED_DIRS]
        subfolders.sort()
        for name in sorted(f for f in files if not f.startswith(".")):
            path = Path(folder) / name
            stat = path.stat()
            digest.update(f"{path.relative_to(DBT_PROJECT_DIR)}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    return digest.hexdigest()


def ensure_manifest(*, refresh: bool = False) -> Path:
    """Parse the project when its manifest is missing or, with `refresh`, out of date.

    `dagster dev` re-parses on load by itself; the CLI and tests come through here. A parse
    costs several seconds per run, so `refresh` skips it when nothing dbt reads has changed.
    """
    manifest = dbt_project.manifest_path
    if manifest.exists() and not refresh:
        return manifest
    point_dbt_at_warehouse()
    stamp = manifest.parent / PARSED_FROM
    lock_path = DBT_PROJECT_DIR / ".parse.lock"
    with open(lock_path, "a+") as lock:
        # Parallel test workers or runs must not write target/manifest.json at the same time.
        fcntl.flock(lock, fcntl.LOCK_EX)
        current = project_fingerprint()
        up_to_date = manifest.exists() and stamp.exists() and stamp.read_text(encoding="utf-8") == current
        if not up_to_date:
            dbt_resource().cli(["parse", "--quiet"], target_path=dbt_project.target_path).wait()
            stamp.write_text(current, encoding="utf-8")
    return manifest
