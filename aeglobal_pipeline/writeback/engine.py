"""Applying plan rows to targets: batches, optimistic concurrency, retries and the audit trail.

Per batch: re-read the records' stamps and values → decide (skip what already holds the new
value, mark records changed since extraction `stale`) → log intents → write → log outcomes.
A failed attempt goes round the loop again from the re-read, so a request whose outcome is
unknown (timeout, a 5xx after the server wrote) is recognised as applied instead of sent twice.
A write whose answer was lost (timeout, dropped connection) is re-read for a bounded time longer
than the server's commit window before it may be sent again: a late landing counts as ours.
The outcomes of a batch and the stamps its writes produced are logged in one transaction.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from aeglobal_pipeline.writeback.audit import Outcome, log_intents, log_outcomes
from aeglobal_pipeline.writeback.echo import read_echoes, store_in
from aeglobal_pipeline.writeback.plan import PlanRow, rule_family
from aeglobal_pipeline.writeback.retry import CallFailed, Failure, RetryPolicy
from aeglobal_pipeline.writeback.targets import Current, RecordWrite, Target
from aeglobal_pipeline.writeback.values import canonical, same_stamp, same_value

DEFAULT_BULK_THRESHOLD = 2_000
BULK_BATCH_RECORDS = 10_000  # Bulk API 2.0 splits jobs internally at 10,000 records
AE_BATCH_RECORDS = 100


@dataclass
class WritebackOptions:
    bulk_threshold: int = DEFAULT_BULK_THRESHOLD  # records per target above which Bulk 2.0 is used
    composite_batch: int = 200
    bulk_batch: int = BULK_BATCH_RECORDS
    ae_batch: int = AE_BATCH_RECORDS
    ae_max_in_flight: int = 5
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    bulk_poll_seconds: float = 0.5
    request_timeout: float | None = 120.0  # seconds a write or read may take before it times out


@dataclass
class Health:
    """Counts of one run, per target (`source.Object`)."""

    statuses: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    rules: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    errors: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    retried: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    records_written: Counter = field(default_factory=Counter)
    write_mode: dict[str, str] = field(default_factory=dict)
    # Field writes whose answer was lost and whose landing could not be read back: left as
    # intents for the next run's reconciliation, never sent twice.
    unconfirmed: Counter = field(default_factory=Counter)

    def add(self, outcomes: list[Outcome]) -> None:
        written: dict[str, set[str]] = defaultdict(set)
        for o in outcomes:
            target = f"{o.row.target_source}.{o.row.object}"
            self.statuses[target][o.status] += 1
            self.rules[target][f"{rule_family(o.row.rule)}:{o.status}"] += 1
            if o.error and o.status in ("rejected", "stale", "skipped"):
                self.errors[target][o.error.split(":", 1)[0]] += 1
            if o.status in ("applied", "rolled_back"):
                written[target].add(o.row.record_id)
        for target, ids in written.items():
            self.records_written[target] += len(ids)

    def as_dict(self) -> dict:
        def plain(counters: dict[str, Counter]) -> dict:
            return {k: dict(v) for k, v in sorted(counters.items())}

        return {"statuses": plain(self.statuses), "rules": plain(self.rules),
                "errors": plain(self.errors), "retried": plain(self.retried),
                "records_written": dict(self.records_written), "write_mode": self.write_mode,
                "unconfirmed": dict(self.unconfirmed)}


def _text(value: object) -> str | None:
    return None if value is None else canonical(value)


@dataclass
class _Decision:
    settled: list[Outcome]
    write: RecordWrite | None


def decide(rows: list[PlanRow], current: Current | Failure | None, sent_before: bool,
           applied_status: str = "applied", first_seen: Current | None = None) -> _Decision:
    """What to do with one record's planned field changes, given what the target holds now."""
    if current is None or isinstance(current, Failure):
        failure = current if isinstance(current, Failure) else Failure("NOT_FOUND", "", False)
        status = "skipped" if failure.fatal else "rejected"
        return _Decision([Outcome(r, status, f"{failure.code}: {failure.message}") for r in rows], None)
    before = first_seen or current
    settled, pending = [], []
    for row in rows:
        now = current.values.get(row.field)
        if same_value(now, row.new_value):
            if sent_before:  # an earlier attempt of ours landed although its answer was lost
                settled.append(Outcome(row, applied_status, None, _text(before.values.get(row.field))))
            else:
                settled.append(Outcome(row, "skipped", "UNCHANGED: target already holds the new value",
                                       _text(now)))
        else:
            pending.append(row)
    if not pending:
        return _Decision(settled, None)
    if any(r.extracted_stamp and not same_stamp(current.stamp, r.extracted_stamp) for r in pending):
        # A user (or another system) edited the record after extraction: keep their edit. A
        # stamp does not say which field changed, so the whole record waits for the next run.
        return _Decision(settled + [
            Outcome(r, "stale", f"STALE: changed in the target since extraction "
                                f"(stamp {current.stamp})", _text(current.values.get(r.field)))
            for r in pending
        ], None)
    # Rows without a stamp (rollback) guard on the value, field by field: a field that no longer
    # holds the expected value is kept, the record's other fields are still written.
    moved = [r for r in pending
             if not r.extracted_stamp and not same_value(current.values.get(r.field), r.current_value)]
    settled += [Outcome(r, "stale", "STALE: the field no longer holds the value the run wrote",
                        _text(current.values.get(r.field))) for r in moved]
    pending = [r for r in pending if r not in moved]
    if not pending:
        return _Decision(settled, None)
    write = RecordWrite(pending[0].record_id, {r.field: r.new_value for r in pending}, current)
    return _Decision(settled, write)


def holds(current: Current | Failure | None, values: dict[str, object]) -> bool:
    return isinstance(current, Current) and all(
        same_value(current.values.get(f), v) for f, v in values.items())


def await_landing(target: Target, expected: dict[str, dict[str, object]], deadline: float,
                  policy: RetryPolicy, sleep: Callable[[float], None] = time.sleep,
                  moved_from: dict[str, object] | None = None) -> dict[str, Current | Failure]:
    """Re-read records whose write may still be in flight until each holds the values sent, was
    changed by someone else (its stamp left `moved_from`), or `deadline` (monotonic) passes."""
    waiting, delay = dict(expected), policy.unknown_outcome_poll
    fields = sorted({f for values in expected.values() for f in values})
    last: dict[str, Current | Failure] = {}
    while waiting:
        found = target.read(sorted(waiting), fields)
        last.update({rid: found[rid] for rid in waiting if rid in found})
        for rid in list(waiting):
            current = found.get(rid)
            before = (moved_from or {}).get(rid)
            if holds(current, waiting[rid]) or (
                    isinstance(current, Current) and before is not None
                    and not same_stamp(current.stamp, before)):
                del waiting[rid]
        remaining = deadline - time.monotonic()
        if not waiting or remaining <= 0:
            break
        sleep(min(delay, remaining))
        delay = min(delay * 2, 10.0)
    return last


class BatchWriter:
    """Writes batches to one target and logs every outcome under one run id."""

    def __init__(self, run_id: str, target: Target, policy: RetryPolicy, health: Health,
                 applied_status: str = "applied", sleep: Callable[[float], None] = time.sleep,
                 log: Callable[[str], None] = lambda _: None):
        self.run_id, self.target, self.policy, self.health = run_id, target, policy, health
        self.applied_status, self.sleep, self.log = applied_status, sleep, log
        self.stopped: Failure | None = None  # a fatal error (daily limit, bad session) ends the target

    @property
    def name(self) -> str:
        return f"{self.target.source}.{self.target.object}"

    def note_retry(self, code: str) -> None:
        self.health.retried[self.name][code] += 1

    def process(self, rows: list[PlanRow], bulk: bool) -> list[Outcome]:
        if self.stopped is not None:
            reason = f"{self.stopped.code}: writing to this target stopped: {self.stopped.message}"
            outcomes = [Outcome(r, "skipped", reason) for r in rows]
        else:
            outcomes = self._process(rows, bulk)
        self.health.add(outcomes)
        return outcomes

    def _process(self, rows: list[PlanRow], bulk: bool) -> list[Outcome]:
        by_record: dict[str, list[PlanRow]] = defaultdict(list)
        for row in rows:
            by_record[row.record_id].append(row)
        fields = sorted({r.field for r in rows})
        pending, sent, first_seen = list(by_record), set(), {}
        outcomes: list[Outcome] = []
        last = self.policy.max_attempts - 1
        for attempt in range(self.policy.max_attempts):
            writes = self._reread(pending, by_record, fields, sent, first_seen, outcomes)
            if not writes:
                break
            self._log_intents(writes, by_record, sent, first_seen)
            sent |= set(writes)
            results, retry_after, request_failure = self._write(list(writes.values()), bulk)
            results, unconfirmed = self._await_unknown(writes, results)
            if request_failure is not None and not any(results.values()):
                request_failure = None  # the timed-out request landed after all
            if request_failure is not None and request_failure.transient and attempt < last \
                    and not request_failure.fatal:
                self.note_retry(request_failure.code)  # one retry of the request, not per record
            elif request_failure is not None:
                results = self._confirm(writes, results)
            pending = []
            for record_id, failure in results.items():
                write = writes[record_id]
                rows_written = [r for r in by_record[record_id] if r.field in write.values]
                if record_id in unconfirmed:
                    # Neither seen landed nor confirmed absent: never sent again in this run; its
                    # intent stays, and the next run's reconciliation settles it.
                    self.health.unconfirmed[self.name] += len(rows_written)
                elif failure is None:
                    outcomes += [Outcome(r, self.applied_status, None,
                                         _text(first_seen[record_id].values.get(r.field)))
                                 for r in rows_written]
                elif failure.transient and attempt < last and not failure.fatal:
                    if request_failure is None:
                        self.note_retry(failure.code)
                    by_record[record_id] = rows_written
                    pending.append(record_id)
                else:
                    status = "skipped" if failure.fatal else "rejected"
                    outcomes += [Outcome(r, status, f"{failure.code}: {failure.message}",
                                         _text(first_seen[record_id].values.get(r.field)))
                                 for r in rows_written]
                    if failure.fatal:
                        self.stopped = failure
            if not pending:
                break
            self.sleep(self.policy.delay(attempt, retry_after))
        self._log_outcomes(outcomes, first_seen)
        return outcomes

    def _reread(self, pending: list[str], by_record: dict[str, list[PlanRow]], fields: list[str],
                sent: set[str], first_seen: dict[str, Current], outcomes: list[Outcome]
                ) -> dict[str, RecordWrite]:
        """Re-read the records and decide: settled rows go to `outcomes`, the rest is returned."""
        found = self.target.read(pending, fields)
        writes: dict[str, RecordWrite] = {}
        for record_id in pending:
            current = found.get(record_id)
            if isinstance(current, Current):
                first_seen.setdefault(record_id, current)
            decision = decide(by_record[record_id], current, record_id in sent,
                              self.applied_status, first_seen.get(record_id))
            outcomes += decision.settled
            if decision.write is not None:
                writes[record_id] = decision.write
            if isinstance(current, Failure) and current.fatal:
                self.stopped = current
        return writes

    def _log_intents(self, writes: dict[str, RecordWrite], by_record: dict[str, list[PlanRow]],
                     sent: set[str], first_seen: dict[str, Current]) -> None:
        fresh = [r for rid, w in writes.items() if rid not in sent
                 for r in by_record[rid] if r.field in w.values]
        if fresh:
            old = {(r.target_source, r.object, r.record_id, r.field):
                   _text(first_seen[r.record_id].values.get(r.field)) for r in fresh}
            before = {rid: (first_seen[rid].stamp, first_seen[rid].modified) for rid in writes}
            log_intents(self.run_id, fresh, old, before)

    def _log_outcomes(self, outcomes: list[Outcome], first_seen: dict[str, Current]) -> None:
        """Outcomes, and the stamps our writes gave their records, in one transaction."""
        before = {o.row.record_id: (first_seen[o.row.record_id].stamp,
                                    first_seen[o.row.record_id].modified)
                  for o in outcomes if o.status == self.applied_status and o.row.record_id in first_seen}
        echoes = read_echoes(self.target, before, self.log)
        source, object_name = self.target.source, self.target.object
        log_outcomes(self.run_id, outcomes,
                     also=lambda con: store_in(con, self.run_id, source, object_name, echoes))

    def _await_unknown(self, writes: dict[str, RecordWrite], results: dict[str, Failure | None]
                       ) -> tuple[dict[str, Failure | None], set[str]]:
        """A write whose answer was lost may commit later: wait for it (bounded) before anything
        is sent again. Landed -> applied (ours); someone else's change -> re-read decides
        (stale); unchanged after the bound -> confirmed absent, may be resent; unreadable ->
        unconfirmed."""
        unknown = {rid for rid, f in results.items() if f is not None and f.outcome_unknown}
        if not unknown:
            return results, set()
        found = await_landing(
            self.target, {rid: writes[rid].values for rid in unknown},
            time.monotonic() + self.policy.unknown_outcome_wait, self.policy, self.sleep,
            moved_from={rid: writes[rid].current.stamp for rid in unknown})
        confirmed, unconfirmed = dict(results), set()
        for rid in unknown:
            if holds(found.get(rid), writes[rid].values):
                confirmed[rid] = None
            elif not isinstance(found.get(rid), Current):
                unconfirmed.add(rid)
        return confirmed, unconfirmed

    def _confirm(self, writes: dict[str, RecordWrite], results: dict[str, Failure | None]
                 ) -> dict[str, Failure | None]:
        """After a request failed for good, read back: its outcome may be unknown (timeouts)."""
        fields = sorted({f for w in writes.values() for f in w.values})
        found = self.target.read(list(writes), fields)
        confirmed = dict(results)
        for record_id, write in writes.items():
            current = found.get(record_id)
            if isinstance(current, Current) and all(
                same_value(current.values.get(f), v) for f, v in write.values.items()
            ):
                confirmed[record_id] = None
        return confirmed

    def _write(self, writes: list[RecordWrite], bulk: bool
               ) -> tuple[dict[str, Failure | None], float | None, Failure | None]:
        """Per-record results; a whole-request failure becomes every record's result."""
        try:
            results = self.target.write(writes, bulk)
        except CallFailed as error:
            failure = error.failure
            return {w.record_id: failure for w in writes}, failure.retry_after, failure
        retry_after = max((f.retry_after or 0 for f in results.values() if f), default=0) or None
        return results, retry_after, None
