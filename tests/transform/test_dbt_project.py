"""Where dbt looks: the warehouse of $AEGLOBAL_HOME, whatever the environment held before."""

from __future__ import annotations

import os

from aeglobal_pipeline.transform.project import point_dbt_at_warehouse, project_fingerprint


def test_dbt_reads_this_homes_warehouse_whatever_the_environment_held(tmp_path, monkeypatch):
    """A variable inherited from another home (a benchmark's earlier size, a shell export) would
    make the parse and the build see different profiles, and dbt re-parse on every build."""
    home = tmp_path / "home"
    monkeypatch.setenv("AEGLOBAL_HOME", str(home))
    monkeypatch.delenv("AEGLOBAL_WAREHOUSE", raising=False)
    fingerprint = project_fingerprint()
    monkeypatch.setenv("AEGLOBAL_WAREHOUSE", str(tmp_path / "other-home" / "warehouse.duckdb"))
    assert project_fingerprint() == fingerprint
    assert point_dbt_at_warehouse() == str(home / "warehouse.duckdb")
    assert os.environ["AEGLOBAL_WAREHOUSE"] == str(home / "warehouse.duckdb")
