"""`aeglobal run --apply` SIGKILLed (the whole process group), then run again: no hang, and the
sandbox ends exactly where a run without the kill leaves it, field by field.

One snapshot (150 persons; $AEGLOBAL_SOAK_PERSONS for more) is loaded into separate homes:
a fault-free reference, and one home per kill. The rerun must release the dead run's
`warehouse` pool slot (else it waits forever), settle the killed writer's intents with their
echo stamps before survivorship runs (else our own writes rank as the newest user edits and the
plan changes), and write the rest once.
"""

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


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "AEGLOBAL_SOURCES"}
    # A killed writer's in-flight request lands within seconds here: a short bound keeps it quick.
    env.update(AEGLOBAL_HOME=str(home), DAGSTER_HOME=str(home / "dagster"),
               AEGLOBAL_WRITE_CONFIRM_SECONDS="15")
    return env


def _run(home: Path) -> subprocess.CompletedProcess:
    return subprocess.run([AEGLOBAL, "run", "--apply"], env=_env(home), capture_output=True,
                          text=True, timeout=RERUN_TIMEOUT, check=False)


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from aeglobal_pipeline.sandbox.generate import generate_snapshot

    out = tmp_path_factory.mktemp("kill_snapshot") / "snap"
    # `make soak SOAK_PERSONS=1500` runs the same kills on a larger snapshot.
    generate_snapshot(persons=int(os.environ.get("AEGLOBAL_SOAK_PERSONS", "150")), seed=11, out=out)
    return out


@contextmanager
def _home(tmp_path_factory: pytest.TempPathFactory, name: str, snapshot: Path) -> Iterator[Path]:
    from aeglobal_pipeline.sandbox.process import ensure_running
    from aeglobal_pipeline.sandbox.snapshot import load_snapshot

    home = tmp_path_factory.mktemp(name)
    (home / "dagster").mkdir()
    with private_home(home):
        load_snapshot(snapshot, home)
        ensure_running(home)  # started here, so killing the run's process group spares the server
        yield home


@pytest.fixture(scope="module")
def fault_free(tmp_path_factory: pytest.TempPathFactory, snapshot: Path) -> State:
    with _home(tmp_path_factory, "fault_free", snapshot) as home:
        done = _run(home)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        return sandbox_state(snapshot)


def _kill_then_rerun(home: Path, kill_when: Callable[[dict], bool]) -> subprocess.CompletedProcess:
    from aeglobal_pipeline.sandbox.control import SandboxControl

    control = SandboxControl.for_home(home)
    killed = subprocess.Popen([AEGLOBAL, "run", "--apply"], env=_env(home), start_new_session=True,
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
    return _run(home)


def _check_recovered(rerun: subprocess.CompletedProcess, snapshot: Path, fault_free: State):
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


def test_a_run_killed_mid_write_back_is_recovered_by_the_next_run(tmp_path_factory, snapshot,
                                                                  fault_free):
    with _home(tmp_path_factory, "killed_mid_run", snapshot) as home:
        # Targets are written in order (ae_emea, ae_na, crm_apac, ...): once crm_apac's first write
        # arrives, both business units are written and logged; the kill ends the run there.
        rerun = _kill_then_rerun(home, lambda stats: stats.get("crm_apac", {}).get("composite", 0) >= 1)
        _check_recovered(rerun, snapshot, fault_free)


def test_a_run_killed_during_an_in_flight_request_is_recovered_by_the_next_run(
        tmp_path_factory, snapshot, fault_free):
    from aeglobal_pipeline.sandbox.control import SandboxControl

    with _home(tmp_path_factory, "killed_in_flight", snapshot) as home:
        # crm_emea's sObject Collections PATCH is held 4 s at the server: the kill lands while it
        # is in flight, and the server commits it after its client is gone.
        SandboxControl.for_home(home).add_latency(4000, count=1, source="crm_emea",
                                                  path="/composite/sobjects")
        rerun = _kill_then_rerun(home, lambda stats: stats.get("crm_emea", {}).get("composite", 0) >= 1)
        _check_recovered(rerun, snapshot, fault_free)
