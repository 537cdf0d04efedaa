"""Shared fixtures: tiny snapshots and a sandbox server per test module.

Each module that uses `sandbox` gets its own `$AEGLOBAL_HOME` (a tmp dir), a snapshot loaded into
it, and a server subprocess that is stopped by its own pid when the module ends.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from snapshot_helpers import Sandbox, default_objects, serving, write_snapshot


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    home = tmp_path_factory.mktemp("aeglobal_home")
    snapshot = write_snapshot(tmp_path_factory.mktemp("snapshot"), default_objects())
    with serving(home, snapshot) as running:
        yield running
