"""A write-back run: read the plan, preview it, and (with `apply`) write it to the targets.

    result = run_writeback(apply=False)          # dry run: preview only, no API call
    result = run_writeback(apply=True)           # write, log every outcome
    result.summary()                             # counts per target / rule / status, API calls
"""

from __future__ import annotations

import fcntl
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aeglobal_pipeline.config import Source, SourcesFile, aeglobal_home, load_sources
from aeglobal_pipeline.warehouse import connect
from aeglobal_pipeline.writeback import audit, echo
from aeglobal_pipeline.writeback.allowance import refuse_over_allowance
from aeglobal_pipeline.writeback.audit import Outcome
from aeglobal_pipeline.writeback.engine import BatchWriter, Health, WritebackOptions, await_landing
from aeglobal_pipeline.writeback.plan import (
    DEFAULT_PLAN_RELATION,
    FIELD_NAME,
    PlanRow,
    PreviewGroup,
    preview,
    preview_plan,
    read_plan,
)
from aeglobal_pipeline.writeback.retry import ApiMeter, RetryPolicy, limit_request_time
from aeglobal_pipeline.writeback.targets import Current, ProspectTarget, SalesforceTarget, Target
from aeglobal_pipeline.writeback.values import same_value

ROLLBACK_RULE_PREFIX = "rollback:"
# System-maintained fields the plan must never try to set.
READ_ONLY_FIELDS = {"id", "systemmodstamp", "lastmodifieddate", "createddate", "updatedat",
                    "createdat", "isdeleted"}
Log = Callable[[str], None]
ClientFactory = Callable[[Source], object]


class WritebackBusy(RuntimeError):
    """Another process is applying a write-back (or a rollback) to the same home."""


@contextmanager
def writer_lock() -> Iterator[None]:
    """One applying writer per $AEGLOBAL_HOME: leftover intents then belong to dead writers."""
    path = aeglobal_home() / "writeback.lock"
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise WritebackBusy(f"another write-back holds {path}; try again when it ends") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def default_client(source: Source) -> object:
    if source.kind == "salesforce":
        from aeglobal_pipeline.sources.salesforce_client import connect_salesforce

        return connect_salesforce(source)
    from aeglobal_pipeline.sources.account_engagement import connect_account_engagement

    return connect_account_engagement(source)


@dataclass
class WritebackResult:
    run_id: str
    mode: str  # dry_run | apply | rollback
    preview: list[PreviewGroup]
    health: Health = field(default_factory=Health)
    api_calls: dict[str, dict[str, int]] = field(default_factory=dict)
    reconciled: dict[str, int] = field(default_factory=dict)

    def totals(self) -> Counter:
        total: Counter = Counter()
        for counts in self.health.statuses.values():
            total.update(counts)
        return total

    @property
    def reject_rate(self) -> float:
        totals = self.totals()
        attempted = totals["applied"] + totals["rolled_back"] + totals["rejected"]
        return totals["rejected"] / attempted if attempted else 0.0

    def summary(self) -> dict:
        return {"run_id": self.run_id, "mode": self.mode, "totals": dict(self.totals()),
                "reject_rate": round(self.reject_rate, 4), "api_calls": self.api_calls,
                "reconciled": self.reconciled, **self.health.as_dict(),
                "preview": [g.__dict__ for g in self.preview]}

    def text(self) -> str:
        """A few lines for a terminal: per target, statuses, retries and API calls."""
        if self.mode == "dry_run":
            changes = sum(g.field_changes for g in self.preview)
            records = sum(g.records for g in self.preview)
            lines = [f"write-back dry_run {self.run_id}: would write {changes} field changes to "
                     f"{records} records; nothing written"]
            lines += [f"  {g.target_source}.{g.object}: {g.records} records, {g.field_changes} "
                      f"field changes, by rule {g.rules}" for g in self.preview]
        else:
            lines = [f"write-back {self.mode} {self.run_id}: {dict(self.totals()) or 'nothing to do'}"]
        for target, counts in sorted(self.health.statuses.items()):
            extra = ""
            if self.health.retried.get(target):
                extra += f", retried {dict(self.health.retried[target])}"
            if self.health.errors.get(target):
                extra += f", errors {dict(self.health.errors[target])}"
            lines.append(f"  {target}: {dict(counts)}{extra}")
        for target, count in sorted(self.health.unconfirmed.items()):
            lines.append(f"  {target}: {count} field writes timed out and could not be read back; "
                         f"left as intents for the next run to settle (never sent twice)")
        for source, calls in sorted(self.api_calls.items()):
            lines.append(f"  API calls {source}: {calls}")
        return "\n".join(lines)


class TargetPool:
    """Clients and targets for the run, one client (and one meter hook) per source."""

    def __init__(self, sources: SourcesFile, clients: ClientFactory, options: WritebackOptions,
                 meter: ApiMeter, health: Health, log: Log = lambda _: None):
        self.sources, self.clients, self.options = sources, clients, options
        self.meter, self.health, self.log = meter, health, log
        self._clients: dict[str, object] = {}
        self._writers: dict[tuple[str, str, str], BatchWriter] = {}

    def _client(self, source: Source) -> object:
        if source.name not in self._clients:
            client = self.clients(source)
            self.meter.attach(client.session, source.name)
            limit_request_time(client.session, self.options.request_timeout)
            self._clients[source.name] = client
        return self._clients[source.name]

    def writer(self, run_id: str, source_name: str, object_name: str,
               applied_status: str = "applied") -> BatchWriter:
        key = (run_id, source_name, object_name)
        if key not in self._writers:
            source = self.sources.by_name(source_name)
            client = self._client(source)
            policy = self.options.retry
            holder: list[BatchWriter] = []

            def on_retry(code: str) -> None:
                holder[0].note_retry(code)

            target: Target
            if source.kind == "salesforce":
                target = SalesforceTarget(source.name, object_name, client, self.meter, policy,
                                          on_retry, self.options.bulk_poll_seconds)
            else:
                target = ProspectTarget(source.name, client, self.meter, policy, on_retry,
                                        self.options.ae_max_in_flight)
            writer = BatchWriter(run_id, target, policy, self.health, applied_status, log=self.log)
            holder.append(writer)
            self._writers[key] = writer
        return self._writers[key]


def validate(rows: list[PlanRow], sources: SourcesFile) -> tuple[list[PlanRow], list[Outcome]]:
    """Rows fit to send, and outcomes for the others (named, so a steward can find them)."""
    known = {s.name: s for s in sources.sources}
    by_key: dict[tuple, list[PlanRow]] = defaultdict(list)
    for row in rows:
        by_key[(row.target_source, row.object, row.record_id, row.field)].append(row)
    valid, invalid = [], []
    for (source_name, object_name, _, field_name), group in by_key.items():
        source = known.get(source_name)
        if source is None:
            error = f"UNKNOWN_SOURCE: {source_name!r} is not in sources.yaml"
        elif object_name not in source.objects:
            error = f"INVALID_OBJECT: {source_name} has no {object_name!r} object"
        elif not FIELD_NAME.match(field_name or "") or field_name.lower() in READ_ONLY_FIELDS:
            error = f"INVALID_FIELD_NAME: {field_name!r} cannot be written"
        elif len({r.new_value for r in group}) > 1:
            error = "CONFLICTING_PLAN_ROWS: the plan sets this field to different values"
        else:
            valid.append(group[0])
            continue
        invalid += [Outcome(r, "rejected", error) for r in group]
    return valid, invalid


def _batches(rows: list[PlanRow], size: int) -> Iterator[list[PlanRow]]:
    """Rows in batches of at most `size` records; a record's fields stay together."""
    by_record: dict[str, list[PlanRow]] = defaultdict(list)
    for row in rows:
        by_record[row.record_id].append(row)
    ids = list(by_record)
    for start in range(0, len(ids), size):
        yield [r for record_id in ids[start:start + size] for r in by_record[record_id]]


def apply_rows(run_id: str, rows: list[PlanRow], pool: TargetPool, log: Log,
               applied_status: str = "applied") -> None:
    """Write rows target by target; every outcome lands in changes_log."""
    valid, invalid = validate(rows, pool.sources)
    audit.log_outcomes(run_id, invalid)
    pool.health.add(invalid)
    valid = refuse_over_allowance(run_id, valid, pool, log, applied_status)
    by_target: dict[tuple[str, str], list[PlanRow]] = defaultdict(list)
    for row in valid:
        by_target[row.target].append(row)
    options = pool.options
    for (source_name, object_name), target_rows in sorted(by_target.items()):
        name = f"{source_name}.{object_name}"
        try:
            writer = pool.writer(run_id, source_name, object_name, applied_status)
        except Exception as error:  # a source we cannot connect loses nothing else in the run
            outcomes = [Outcome(r, "rejected", f"CONNECTION_FAILED: {error}") for r in target_rows]
            audit.log_outcomes(run_id, outcomes)
            pool.health.add(outcomes)
            log(f"{name}: cannot connect: {error}")
            continue
        unwritable = writer.target.unwritable(sorted({r.field for r in target_rows}))
        if unwritable:
            outcomes = [Outcome(r, "rejected", unwritable[r.field]) for r in target_rows
                        if r.field in unwritable]
            audit.log_outcomes(run_id, outcomes)
            pool.health.add(outcomes)
            target_rows = [r for r in target_rows if r.field not in unwritable]
            log(f"{name}: fields that cannot be written: {sorted(unwritable)}")
        records = len({r.record_id for r in target_rows})
        if object_name == "Prospect":
            bulk, size, mode = False, options.ae_batch, "ae_patch"
        elif records > options.bulk_threshold:
            bulk, size, mode = True, options.bulk_batch, "bulk2"
        else:
            bulk, size, mode = False, min(options.composite_batch, 200), "composite"
        pool.health.write_mode[name] = mode
        log(f"{name}: {records} records, {len(target_rows)} field changes via {mode}")
        for batch in _batches(target_rows, size):
            # Each batch logs its outcomes and its writes' echo stamps in one transaction.
            writer.process(batch, bulk)


def reconcile_interrupted(pool: TargetPool, log: Log) -> dict[str, int]:
    """Settle intents a stopped writer left: applied (and its echo stamp kept) if the target
    holds the value, else skipped. An intent younger than the unknown-outcome bound may still be
    in flight, so it is re-read until it lands or the bound passes; unreadable ones stay."""
    reconciled: dict[str, int] = {}
    for run_id, intents in audit.pending_intents().items():
        by_target: dict[tuple[str, str], list[audit.Intent]] = defaultdict(list)
        for intent in intents:
            by_target[intent.row.target].append(intent)
        settled = 0
        for (source_name, object_name), entries in sorted(by_target.items()):
            writer = pool.writer(run_id, source_name, object_name)
            outcomes, echoes = _settle(writer, entries, pool.options.retry)
            audit.log_outcomes(run_id, outcomes, also=lambda con, s=source_name, o=object_name,
                               r=run_id, e=echoes: echo.store_in(con, r, s, o, e))
            settled += len(outcomes)
        reconciled[run_id] = settled
        log(f"reconciled {settled} of {len(intents)} intents left by interrupted run {run_id}")
    return reconciled


def _settle(writer: BatchWriter, entries: list[audit.Intent], policy: RetryPolicy
            ) -> tuple[list[Outcome], list[echo.Echo]]:
    expected: dict[str, dict[str, object]] = defaultdict(dict)
    for intent in entries:
        expected[intent.row.record_id][intent.row.field] = intent.row.new_value
    newest = max((i.at for i in entries if i.at is not None), default=None)
    deadline = time.monotonic()
    if newest is not None:  # the rest of the bound, counted from when the intents were logged
        age = (datetime.now(UTC) - newest).total_seconds()
        deadline += max(0.0, policy.unknown_outcome_wait - age)
    found = await_landing(writer.target, dict(expected), deadline, policy)
    outcomes, before = [], {}
    for intent in entries:
        row, current = intent.row, found.get(intent.row.record_id)
        if not isinstance(current, Current):
            continue  # unreadable now: keep the intent for the next run
        if same_value(current.values.get(row.field), row.new_value):
            status = "rolled_back" if row.rule.startswith(ROLLBACK_RULE_PREFIX) else "applied"
            outcomes.append(Outcome(row, status, "RECONCILED: written before the writer stopped",
                                    intent.old_value))
            before[row.record_id] = (intent.stamp_before, intent.modified_before)
        else:
            outcomes.append(Outcome(row, "skipped", "INTERRUPTED: not written before the writer "
                                                    "stopped; planned again", intent.old_value))
    # The stamp just re-read is the one our write gave the record: an echo, not a user's edit.
    echoes = [echo.Echo(rid, found[rid].stamp, *before[rid]) for rid in sorted(before)]
    return outcomes, echoes


def reconcile_pending(*, sources: SourcesFile | None = None, clients: ClientFactory = default_client,
                      options: WritebackOptions | None = None, log: Log = print) -> dict[str, int]:
    """Settle the intents stopped writers left (reads only) and keep the echo stamps of the
    writes that landed. Without intents it makes no API call."""
    if not audit.pending_intents():
        return {}
    pool = TargetPool(sources or load_sources(), clients, options or WritebackOptions(),
                      ApiMeter(), Health(), log)
    with writer_lock():
        return reconcile_interrupted(pool, log)


def run_writeback(
    *,
    apply: bool = False,
    run_id: str | None = None,
    plan_relation: str = DEFAULT_PLAN_RELATION,
    options: WritebackOptions | None = None,
    sources: SourcesFile | None = None,
    clients: ClientFactory = default_client,
    log: Log = print,
) -> WritebackResult:
    """Preview the plan; with `apply`, write it. Dry runs make no API call."""
    run_id = run_id or f"wb-{uuid.uuid4()}"
    with connect() as con:
        audit.ensure_tables(con)
        # A dry run only previews: the summary comes from SQL, no row is loaded.
        rows = read_plan(con, plan_relation) if apply else []
        groups = preview(rows) if apply else preview_plan(con, plan_relation)
    result = WritebackResult(run_id, "apply" if apply else "dry_run", groups)
    audit.start_run(run_id, result.mode, plan_relation)
    if apply:
        sources = sources or load_sources()
        meter = ApiMeter()
        pool = TargetPool(sources, clients, options or WritebackOptions(), meter, result.health,
                          log)
        with writer_lock():
            result.reconciled = reconcile_interrupted(pool, log)
            apply_rows(run_id, rows, pool, log)
        result.api_calls = meter.by_target()
    audit.finish_run(run_id, result.summary(), result.preview)
    return result
