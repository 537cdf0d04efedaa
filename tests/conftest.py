"""Shared fixtures: tiny snapshots and a sandbox server per test module; the suite's file order.

Each module that uses `sandbox` gets its own `$AEGLOBAL_HOME` (a tmp dir), a snapshot loaded into
it, and a server subprocess that is stopped by its own pid when the module ends.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from snapshot_helpers import Sandbox, default_objects, serving, write_snapshot

# `pytest -n 2 --dist loadfile` hands whole files to the two workers in collection order
# (`--no-loadscope-reorder` in pyproject.toml; xdist's default puts files with many tests first).
# The end-to-end files, longest first, so no long file starts last while the other worker idles
# (measured with --durations on 2 cores, 2026-12-07). Every other file follows in path order.
LONGEST_FIRST = (
    "test_incremental_pipeline.py",
    "writeback/test_kill_recovery_runs.py",
    "sources/test_deployment_shapes_ae.py",
    "transform/test_person_records.py",
    "writeback/test_echo.py",
    "report/test_report_browser.py",
    "sources/test_deployment_shapes.py",
    "sandbox/test_snapshot_exports.py",
    "governance/test_consent_sharing_invariants.py",
    "warehouse/test_compact.py",
    "governance/test_write_policy.py",
    "governance/test_incremental_contract.py",
    "governance/test_governance_marts.py",
    "governance/test_planted_values.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    tests_dir = config.rootpath / "tests"
    missing = [name for name in LONGEST_FIRST if not (tests_dir / name).is_file()]
    if missing:  # a renamed file would silently lose its place
        raise pytest.UsageError(f"tests/conftest.py LONGEST_FIRST names no file: {missing}")
    rank = {name: position for position, name in enumerate(LONGEST_FIRST)}

    def file_rank(item: pytest.Item) -> int:
        try:
            relative = item.path.relative_to(tests_dir).as_posix()
        except ValueError:
            return len(rank)
        return rank.get(relative, len(rank))

    items.sort(key=file_rank)  # stable: tests keep their order within a file


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    home = tmp_path_factory.mktemp("aeglobal_home")
    snapshot = write_snapshot(tmp_path_factory.mktemp("snapshot"), default_objects())
    with serving(home, snapshot) as running:
        yield running
