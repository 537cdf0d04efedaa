"""Shared fixtures: tiny snapshots and a sandbox server per test module.

Each module that uses `sandbox` gets its own `$AEGLOBAL_HOME` (a tmp dir), a snapshot loaded into
it, and a server subprocess that is stopped by its own pid when the module ends.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from snapshot_helpers import Sandbox, default_objects, write_snapshot


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    from aeglobal_pipeline.sandbox.process import ensure_running, stop
    from aeglobal_pipeline.sandbox.snapshot import load_snapshot

    home = tmp_path_factory.mktemp("aeglobal_home")
    snapshot = write_snapshot(tmp_path_factory.mktemp("snapshot"), default_objects())
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AEGLOBAL_HOME", str(home))
        patch.delenv("AEGLOBAL_SOURCES", raising=False)
        load_snapshot(snapshot, home)
        ensure_running(home)
        try:
            yield Sandbox(home, snapshot)
        finally:
            stop(home)
