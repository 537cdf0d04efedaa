"""Shared fixtures: tiny snapshots and a sandbox server per test module.

Each module that uses `sandbox` gets its own `$AEGLOBAL_HOME` (a tmp dir), a snapshot loaded into
it, and a server subprocess that is stopped by its own pid when the module ends.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from snapshot_helpers import default_objects, write_snapshot


@dataclass
class Sandbox:
    home: Path
    snapshot: Path

    @property
    def endpoint(self):
        from aeglobal_pipeline.sandbox.process import ensure_running

        return ensure_running(self.home)

    def sf(self, name: str = "crm_emea"):
        from aeglobal_pipeline.config import load_sources
        from aeglobal_pipeline.sources.salesforce_client import connect_salesforce

        return connect_salesforce(load_sources().by_name(name))

    def ae(self, name: str = "ae_emea"):
        from aeglobal_pipeline.config import load_sources
        from aeglobal_pipeline.sources.account_engagement import connect_account_engagement

        return connect_account_engagement(load_sources().by_name(name))

    @property
    def control(self):
        from aeglobal_pipeline.sandbox.control import SandboxControl

        return SandboxControl.for_home(self.home)


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
