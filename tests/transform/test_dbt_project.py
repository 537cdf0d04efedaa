"""Where dbt looks (the warehouse of $AEGLOBAL_HOME, whatever the environment held) and what its
commands leave behind."""

from __future__ import annotations

import os
import time

from aeglobal_pipeline.transform.assets import prune_target_dirs
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


def test_old_dbt_target_directories_are_pruned_but_young_ones_kept(tmp_path):
    """Each dbt command leaves a target directory; the newest ten per step stay, and none younger
    than an hour goes (another run may still be writing it)."""
    now = time.time()
    for age_hours in range(14):
        directory = tmp_path / f"dbt_governance_marts-run{age_hours:02d}-abc"
        directory.mkdir()
        os.utime(directory, (now - age_hours * 3600 - 60, now - age_hours * 3600 - 60))
    young = tmp_path / "dbt_governance_marts-young-abc"
    young.mkdir()
    os.utime(young, (now - 3000, now - 3000))
    other_step = tmp_path / "dbt_person_records-run99-abc"
    other_step.mkdir()
    os.utime(other_step, (now - 99 * 3600, now - 99 * 3600))

    assert prune_target_dirs(tmp_path, "dbt_governance_marts", keep=10) == 5
    left = sorted(d.name for d in tmp_path.iterdir())
    assert "dbt_governance_marts-young-abc" in left and "dbt_person_records-run99-abc" in left
    assert len([n for n in left if n.startswith("dbt_governance_marts-")]) == 10
    assert "dbt_governance_marts-run00-abc" in left and "dbt_governance_marts-run13-abc" not in left
    # Even with nothing to keep, directories younger than an hour stay.
    assert prune_target_dirs(tmp_path, "dbt_governance_marts", keep=0) == 8
    assert sorted(d.name for d in tmp_path.glob("dbt_governance_marts-*")) == [
        "dbt_governance_marts-run00-abc", "dbt_governance_marts-young-abc"]


def test_the_dbt_command_answers_its_version_offline_and_runs_dbt_otherwise():
    """dagster-dbt asks `--version` once per run; dbt's own answer asks PyPI for the newest release."""
    import re
    import subprocess
    from importlib.metadata import version
    from pathlib import Path

    from aeglobal_pipeline.transform.project import dbt_resource

    command = Path(dbt_resource().dbt_executable)
    assert command.name == "aeglobal-dbt"
    unreachable = {"HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}
    answer = subprocess.run([command, "--version"], capture_output=True, text=True, check=True,
                            env={**os.environ, **unreachable})
    assert re.search(r"(\d+\.\d+\.\d+)", answer.stdout).group(1) == version("dbt-core")
    # Anything else is dbt's own command line.
    listed = subprocess.run([command, "--help"], capture_output=True, text=True, check=True)
    assert "An ELT tool for managing your SQL transformations" in listed.stdout
