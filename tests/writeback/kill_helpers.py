"""Helpers of the kill-recovery tests: a snapshot, homes with their own sandbox, `aeglobal run
--apply` killed with its process group at a chosen moment, and the checks of the rerun."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sandbox_state import State, differences, sandbox_state
from snapshot_helpers import private_home

from aeglobal_pipeline.warehouse import connect

AEGLOBAL = str(Path(sys.executable).parent / "aeglobal")
RERUN_TIMEOUT = 900  # far above a run's time here: reaching it means the rerun hung


def run_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "AEGLOBAL_SOURCES"}
    # A killed writer's in-flight request lands within seconds here: a short bound keeps it quick.
    env.update(AEGLOBAL_HOME=str(home), DAGSTER_HOME=str(home / "dagster"),
               AEGLOBAL_WRITE_CONFIRM_SECONDS="15")
    return env


def run_apply(home: Path) -> subprocess.CompletedProcess:
    return subprocess.run([AEGLOBAL, "run", "--apply"], env=run_env(home), capture_output=True,
                          text=True, timeout=RERUN_TIMEOUT, check=False)


def kill_snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from aeglobal_pipeline.sandbox.generate import generate_snapshot

    out = tmp_path_factory.mktemp("kill_snapshot") / "snap"
    # `make soak SOAK_PERSONS=1500` runs the same kills on a larger snapshot.
    generate_snapshot(persons=int(os.environ.get("AEGLOBAL_SOAK_PERSONS", "150")), seed=11, out=out)
    return out


@contextmanager
def killable_home(tmp_path_factory: pytest.TempPathFactory, name: str, snapshot: Path) -> Iterator[Path]:
    from aeglobal_pipeline.sandbox.process import ensure_running
    from aeglobal_pipeline.sandbox.snapshot import load_snapshot

    home = tmp_path_factory.mktemp(name)
    (home / "dagster").mkdir()
    with private_home(home):
        load_snapshot(snapshot, home)
        ensure_running(home)  # started here, so killing the run's process group spares the server
        yield home


def fault_free_state(tmp_path_factory: pytest.TempPathFactory, snapshot: Path) -> State:
    with killable_home(tmp_path_factory, "fault_free", snapshot) as home:
        done = run_apply(home)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        return sandbox_state(snapshot)


def kill_then_rerun(home: Path, kill_when: Callable[[dict], bool]) -> subprocess.CompletedProcess:
    from aeglobal_pipeline.sandbox.control import SandboxControl

    control = SandboxControl.for_home(home)
    killed = subprocess.Popen([AEGLOBAL, "run", "--apply"], env=run_env(home), start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + RERUN_TIMEOUT
        while not kill_when(control.stats()):
            assert killed.poll() is None, "the run ended before the kill point"
            assert time.monotonic() < deadline, "the kill point was never reached"
            time.sleep(0.05)
    finally:
        os.killpg(killed.pid, signal.SIGKILL)  # the run and its dbt subprocesses
        killed.wait(timeout=60)
    return run_apply(home)


def check_recovered(rerun: subprocess.CompletedProcess, snapshot: Path, fault_free: State):
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    assert "released the pool slots of dead run" in rerun.stdout + rerun.stderr
    diff = differences(sandbox_state(snapshot), fault_free)
    assert not diff, f"{len(diff)} fields differ from the fault-free run, e.g. {diff[:10]}"
    with connect(read_only=True) as con:
        pending = con.execute("select count(*) from writeback.pending_writes").fetchone()[0]
        twice = con.execute(
            """select source, object, record_id, field, count(*) from writeback.changes_log
               where status = 'applied' group by all having count(*) > 1""").fetchall()
    assert pending == 0, "intents left behind"
    assert not twice, f"fields written twice: {twice[:10]}"
