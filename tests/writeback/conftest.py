"""Fixtures for write-back tests: a freshly loaded sandbox, extracted raw tables, a plan.

`world` reloads the module's sandbox snapshot (so each test starts from the same org state),
empties the warehouse, extracts crm_emea Lead/Contact and ae_emea prospects through the real
clients (so raw stamps exist), and clears faults and call statistics.
"""

from __future__ import annotations

import pytest
from kill_helpers import fault_free_state, kill_snapshot
from writeback_helpers import World

from aeglobal_pipeline.config import warehouse_path


@pytest.fixture
def world(sandbox) -> World:
    from aeglobal_pipeline.sandbox.snapshot import load_snapshot

    load_snapshot(sandbox.snapshot, sandbox.home)
    for path in warehouse_path().parent.glob("warehouse.duckdb*"):
        if not path.name.endswith(".lock"):
            path.unlink()
    (sandbox.home / "writeback.lock").unlink(missing_ok=True)
    world = World(sandbox)
    world.extract()
    sandbox.control.clear_faults()
    sandbox.control.reset_stats()
    return world


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory):
    """The kill-recovery tests' generated snapshot (one per module: both kills of
    test_kill_recovery_runs.py start from it and compare with one fault-free run)."""
    return kill_snapshot(tmp_path_factory)


@pytest.fixture(scope="module")
def fault_free(tmp_path_factory: pytest.TempPathFactory, snapshot):
    """The sandbox state after an uninterrupted `aeglobal run --apply` over `snapshot`."""
    return fault_free_state(tmp_path_factory, snapshot)
