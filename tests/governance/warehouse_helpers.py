"""A governed warehouse for tests, without the sandbox server or Dagster: fast.

Raw tables are loaded straight from a snapshot directory's CSVs (the shape extraction writes),
identity comes from the TEST STAND-IN in standin_identity.py, rules from a copy of
identity_rules/ the test may edit, and dbt builds only the models the marts need.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
from standin_identity import write_identity

from aeglobal_pipeline.config import parse_sources
from aeglobal_pipeline.governance.rules import load_rules
from aeglobal_pipeline.governance.tables import write_rules
from aeglobal_pipeline.sources.raw_views import UNION_VIEWS, refresh_union_view, write_source_systems

ROOT = Path(__file__).resolve().parents[2]
DBT_DIR = ROOT / "dbt_project"
MARTS = ["golden_person", "identity_conflicts", "writeback_plan", "kpi_lifecycle_by_region",
         "governance_findings"]  # fmt: skip


def copy_rules(target: Path) -> Path:
    shutil.copytree(ROOT / "identity_rules", target)
    return target


def load_raw(con: duckdb.DuckDBPyConnection, snapshot: Path) -> None:
    """raw.<source>__<object> from DIR/<source>/<Object>.csv, plus the union views and systems."""
    sources = parse_sources(snapshot / "sources.yaml")
    con.execute("create schema if not exists raw")
    for source in sources.sources:
        for obj in source.objects:
            path = snapshot / source.name / f"{obj}.csv"
            if not path.exists():
                continue
            id_column = "id" if obj == "Prospect" else "Id"
            deleted = "isDeleted" if obj == "Prospect" else "IsDeleted"
            rel = con.read_csv(str(path), header=True, all_varchar=True)
            con.register("snapshot_rows", rel)
            has_deleted = deleted in rel.columns
            con.execute(
                f"""create or replace table raw.{source.name}__{obj.lower()} as
                select *, ? || ':' || {id_column} as _record_key, ? as _source, ? as _object,
                       {f"coalesce(lower({deleted}) = 'true', false)" if has_deleted else 'false'}
                           as _is_deleted,
                       'test' as _run_id, now() as _extracted_at
                from snapshot_rows""",  # noqa: S608 - names from a validated sources.yaml
                [f"{source.name}:{obj}", source.name, obj],
            )
            con.unregister("snapshot_rows")
    for obj in UNION_VIEWS:
        refresh_union_view(con, obj)
    write_source_systems(con, sources)


def build_warehouse(home: Path, snapshot: Path, persons: dict[str, str], rules: Path,
                    grey_pairs: list[tuple[str, str, float]] = ()) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    path = home / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        load_raw(con, snapshot)
        write_identity(con, persons, list(grey_pairs))
        write_rules(con, load_rules(rules))
    return path


def reload_rules(warehouse: Path, rules: Path) -> None:
    with duckdb.connect(str(warehouse)) as con:
        write_rules(con, load_rules(rules))


def run_dbt(warehouse: Path, *, upstream: bool = True, tests: bool = False) -> str:
    """Build the marts (and, with `upstream`, everything they need) into `warehouse`."""
    selection = [("+" if upstream else "") + m for m in MARTS]
    if not upstream:
        selection.append("path:models/intermediate/governance")
    arguments = ["build", "--select", *selection]
    if not tests:
        arguments += ["--exclude", "resource_type:test", "resource_type:unit_test"]
    return dbt(warehouse, arguments)


def dbt(warehouse: Path, arguments: list[str], project: Path = DBT_DIR) -> str:
    """Run a dbt command on `warehouse`; its output, or an AssertionError with the tail of it."""
    command = [str(Path(sys.executable).with_name("dbt")), *arguments, "--project-dir", str(project),
               "--profiles-dir", str(project), "--target-path", str(warehouse.parent / "dbt_target"),
               "--log-path", str(warehouse.parent / "dbt_logs")]
    env = {**os.environ, "AEGLOBAL_WAREHOUSE": str(warehouse)}
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise AssertionError(f"dbt failed:\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}")
    return result.stdout


def rows(warehouse: Path, sql: str, params: list | None = None) -> list[dict]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        cursor = con.execute(sql, params or [])
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
