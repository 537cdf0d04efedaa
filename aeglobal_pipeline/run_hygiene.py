"""Run hygiene: a run whose process died gives back its Dagster pool claims.

A SIGKILLed run never reports its end, so Dagster keeps it STARTED with its claim on the
`warehouse` pool (limit 1), and every later run would wait for that slot forever. Before a run
waits, and while it waits, `release_dead_runs` looks at every run holding (or queued for) a pool
slot and decides whether it is still alive; a dead one is reported failed and its slots freed,
through DagsterInstance's public run and concurrency methods (`report_run_failed`,
`event_log_storage.free_concurrency_slots_for_run`, what the UI's "free slots" action calls),
never by editing Dagster's tables.

Alive means the run's worker process exists: its pid comes from the `aeglobal/pid` tag
(`aeglobal run`, with `aeglobal/host`) or, for runs the default launcher started on this host,
from the engine event Dagster logs when a worker starts (`pid` metadata); a pid reused by a
younger process counts as gone. A run on
another host or without a pid is alive while its heartbeat (the `aeglobal/heartbeat` tag or its
newest event) is younger than `stale_after` seconds.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

HOST_TAG = "aeglobal/host"
PID_TAG = "aeglobal/pid"
HEARTBEAT_TAG = "aeglobal/heartbeat"
STALE_AFTER_SECONDS = 15 * 60  # a run elsewhere with no event or heartbeat for this long is dead
HEARTBEAT_SECONDS = 20
FINISHED = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}
Log = Callable[[str], None]


def this_host() -> str:
    return socket.gethostname()


def run_tags() -> dict[str, str]:
    """Tags that let a later run tell whether this process is still alive."""
    return {HOST_TAG: this_host(), PID_TAG: str(os.getpid()), HEARTBEAT_TAG: _now_text()}


def _now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class PoolUser:
    """A run that holds or waits for slots of one or more pools."""

    run_id: str
    holds: list[str] = field(default_factory=list)  # "pool:step" it claimed
    waits: list[str] = field(default_factory=list)  # "pool:step" it queued for
    status: str = "unknown"
    alive: bool = True
    why: str = ""

    def text(self) -> str:
        held = f"holds {', '.join(self.holds)}" if self.holds else "holds nothing"
        queued = f", waits for {', '.join(self.waits)}" if self.waits else ""
        return f"run {self.run_id} ({self.status}; {self.why}) {held}{queued}"


def pool_users(instance: dg.DagsterInstance) -> dict[str, PoolUser]:
    """Every run with a claimed or pending slot, by run id."""
    storage = instance.event_log_storage
    users: dict[str, PoolUser] = {}
    if not storage.supports_global_concurrency_limits:
        return users
    for pool in sorted(storage.get_concurrency_keys()):
        info = storage.get_concurrency_info(pool)
        for slot in info.claimed_slots:
            users.setdefault(slot.run_id, PoolUser(slot.run_id)).holds.append(f"{pool}:{slot.step_key}")
        for step in info.pending_steps:
            if step.assigned_timestamp is None:  # assigned steps are among claimed_slots
                users.setdefault(step.run_id, PoolUser(step.run_id)).waits.append(
                    f"{pool}:{step.step_key}")
    return users


def _process_start(pid: int) -> float | None:
    """When a local process started (Linux /proc), to tell a reused pid from the run's own."""
    try:
        ticks = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
        boot = next(float(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime"))
    except (OSError, ValueError, IndexError, StopIteration):
        return None
    return boot + ticks / os.sysconf("SC_CLK_TCK")


def pid_alive(pid: int, started_after: float | None = None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    start = _process_start(pid)
    # A process younger than the run cannot be its worker: the pid was reused.
    return not (started_after and start and start > started_after + 2)


def _worker_pid(instance: dg.DagsterInstance, run: dg.DagsterRun) -> int | None:
    if run.tags.get(PID_TAG, "").isdigit():
        return int(run.tags[PID_TAG])
    events = instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT,
                                          limit=20).records
    for record in events:
        event = record.event_log_entry.dagster_event
        metadata = getattr(event.event_specific_data, "metadata", None) or {}
        pid = metadata.get("pid")
        if pid is not None and str(pid.value).isdigit():
            return int(pid.value)
    return None


def _last_seen(instance: dg.DagsterInstance, run_id: str, tags: dict[str, str]) -> float:
    seen = 0.0
    newest = instance.get_records_for_run(run_id, limit=1, ascending=False).records
    if newest:
        seen = newest[0].timestamp
    if tags.get(HEARTBEAT_TAG):
        with contextlib.suppress(ValueError):
            seen = max(seen, datetime.fromisoformat(tags[HEARTBEAT_TAG]).timestamp())
    return seen


def judge(instance: dg.DagsterInstance, user: PoolUser, stale_after: float) -> PoolUser:
    """Fill in whether a pool user is alive and why."""
    record = instance.get_run_record_by_id(user.run_id)
    if record is None:
        user.status, user.alive, user.why = "unknown", False, "no such run in this instance"
        return user
    run = record.dagster_run
    user.status = run.status.value
    if run.status in FINISHED:
        user.alive, user.why = False, "finished without releasing its slots"
        return user
    local = (run.tags[HOST_TAG] == this_host() if HOST_TAG in run.tags
             # Untagged runs (UI, schedules) are local only with the default launcher.
             else isinstance(instance.run_launcher, dg.DefaultRunLauncher))
    pid = _worker_pid(instance, run) if local else None
    if pid is not None:
        started = record.start_time or record.create_timestamp.timestamp()
        user.alive = pid_alive(pid, started)
        user.why = f"pid {pid} {'running' if user.alive else 'gone'} on {this_host()}"
        return user
    age = time.time() - _last_seen(instance, user.run_id, dict(run.tags))
    user.alive = age < stale_after
    user.why = f"last heartbeat {age:.0f} s ago (stale after {stale_after:.0f} s)"
    return user


def release_dead_runs(instance: dg.DagsterInstance, *, exclude: frozenset[str] = frozenset(),
                      stale_after: float = STALE_AFTER_SECONDS, log: Log = print) -> list[PoolUser]:
    """Report dead pool users failed and free their slots; returns the runs released."""
    released = []
    for user in pool_users(instance).values():
        if user.run_id in exclude or judge(instance, user, stale_after).alive:
            continue
        run = instance.get_run_by_id(user.run_id)
        if run is not None and run.status not in FINISHED:
            instance.report_run_failed(
                run, f"aeglobal: the run's process is gone ({user.why}); marked failed and its "
                     f"pool slots released so later runs can proceed")
        instance.event_log_storage.free_concurrency_slots_for_run(user.run_id)
        log(f"released the pool slots of dead {user.text()}")
        released.append(user)
    return released


def describe_wait(instance: dg.DagsterInstance, run_id: str,
                  stale_after: float = STALE_AFTER_SECONDS) -> str | None:
    """What `run_id` waits for and on whom, or None when it is not waiting for a slot."""
    users = pool_users(instance)
    mine = users.get(run_id)
    if mine is None or not mine.waits:
        return None
    pools = {w.split(":", 1)[0] for w in mine.waits}
    holders = [judge(instance, u, stale_after).text() for rid, u in users.items()
               if rid != run_id and any(h.split(":", 1)[0] in pools for h in u.holds)]
    limits = {p: instance.event_log_storage.get_concurrency_info(p).slot_count for p in pools}
    return (f"run {run_id} waits for pool slot(s) {', '.join(mine.waits)} (limits {limits}); "
            f"held by: {'; '.join(holders) or 'nobody (a slot should free up shortly)'}")


class RunWatch:
    """While a run executes: keep its heartbeat fresh, and when it waits for a pool slot, say on
    whom and release holders that died meanwhile."""

    def __init__(self, instance: dg.DagsterInstance, run_id: str, log: Log = print,
                 interval: float = HEARTBEAT_SECONDS, stale_after: float = STALE_AFTER_SECONDS):
        self.instance, self.run_id, self.log = instance, run_id, log
        self.interval, self.stale_after = interval, stale_after
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="aeglobal-run-watch", daemon=True)
        self._last_wait: str | None = None

    def __enter__(self) -> RunWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        # A first look soon after the start: a run queued behind another says so right away.
        delay = min(2.0, self.interval)
        while not self._stop.wait(delay):
            delay = self.interval
            try:
                self.tick()
            except Exception as error:  # a watcher problem must never fail the run
                self.log(f"run watch: {type(error).__name__}: {error}")

    def tick(self) -> None:
        if self.instance.get_run_by_id(self.run_id) is None:
            return
        self.instance.add_run_tags(self.run_id, {HEARTBEAT_TAG: _now_text()})
        wait = describe_wait(self.instance, self.run_id, self.stale_after)
        if wait is None:
            self._last_wait = None
            return
        if wait != self._last_wait:
            self.log(wait)
            self._last_wait = wait
        release_dead_runs(self.instance, exclude=frozenset({self.run_id}),
                          stale_after=self.stale_after, log=self.log)


@dg.sensor(name="release_dead_run_slots", minimum_interval_seconds=60,
           default_status=dg.DefaultSensorStatus.RUNNING,
           description="Marks runs whose process died as failed and frees their pool slots.")
def release_dead_run_slots(context: dg.SensorEvaluationContext) -> dg.SkipReason:
    """Under `dagster dev`: a run worker that was killed keeps its `warehouse` slot otherwise."""
    released = release_dead_runs(context.instance, log=context.log.info)
    return dg.SkipReason(f"released the slots of {len(released)} dead run(s)" if released
                         else "every run holding a pool slot is alive")
