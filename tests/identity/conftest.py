"""Identity fixtures: a tiny generated snapshot in a private $AEGLOBAL_HOME with a model trained once."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # the test stand-in normaliser

import standin

from aeglobal_pipeline import warehouse
from aeglobal_pipeline.identity.settings import rules_dir


@dataclass
class IdentityHome:
    home: Path
    rules: Path
    snapshot: Path

    def reset_warehouse(self, extra_rows: list[dict] = ()) -> None:
        """Fresh int_person_records (snapshot + hand-made rows), no identity tables, no decisions."""
        (self.rules / "steward_decisions.yaml").write_text("decisions: []\n")
        with warehouse.connect() as con:
            con.execute("DROP SCHEMA IF EXISTS identity CASCADE")
            con.execute("CREATE SCHEMA identity")
            standin.build_int_person_records(self.snapshot, con)
            if extra_rows:
                standin.put_records(con, list(extra_rows))


@pytest.fixture(scope="module")
def identity_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IdentityHome]:
    from aeglobal_pipeline.identity.resolve import train_step
    from aeglobal_pipeline.sandbox.generate import generate_snapshot

    home = tmp_path_factory.mktemp("identity_home")
    rules = home / "rules"
    rules.mkdir()
    for name in ("matching.yaml", "nicknames.yaml"):
        shutil.copy(rules_dir() / name, rules / name)
    snapshot = generate_snapshot(300, 5, home / "snapshot").out
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AEGLOBAL_HOME", str(home))
        patch.setenv("AEGLOBAL_RULES", str(rules))
        identity = IdentityHome(home, rules, snapshot)
        identity.reset_warehouse()
        train_step(retrain=True)  # once per module; every run below reuses it
        yield identity
