"""Write targets: one Salesforce object in one org, or the prospects of one business unit.

A target reads the current stamp and field values of records (for optimistic concurrency and
idempotency) and writes field values; both return per-record results so that one bad record
never costs the others their write. Retrying is the engine's job, except for reads, which are
side-effect free and retried here call by call.
"""

from __future__ import annotations

import csv
import io
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from simple_salesforce import Salesforce, format_soql

from aeglobal_pipeline.sources.account_engagement import AccountEngagementClient
from aeglobal_pipeline.sources.ids import to_18
from aeglobal_pipeline.writeback.bulk_results import created_jobs, outcomes_of_failed_jobs
from aeglobal_pipeline.writeback.retry import (
    RETRYABLE_ERRORS,
    SALESFORCE_TRANSIENT_CODES,
    ApiMeter,
    CallFailed,
    Failure,
    RetryPolicy,
    call_with_retries,
    classify,
)
from aeglobal_pipeline.writeback.values import to_csv_value, to_json_value

COMPOSITE_LIMIT = 200  # sObject Collections: at most 200 records a request
READ_SLICE = 200  # ids per SOQL `Id IN (...)`: keeps the GET URL well under 16 KB
AE_MAX_IN_FLIGHT = 5  # Account Engagement: 5 concurrent requests per business unit
# AE codes that mean "this record does not exist (any more)".
AE_MISSING_CODES = {192, 219}


@dataclass
class Current:
    """A record as found in the target just now."""

    stamp: object
    values: dict[str, object]
    modified: object = None  # LastModifiedDate / updatedAt: what survivorship ranks by


@dataclass
class RecordWrite:
    record_id: str
    values: dict[str, str | None]  # field -> planned text
    current: Current


class Target(Protocol):
    source: str
    object: str

    def read(self, record_ids: list[str], fields: list[str]) -> dict[str, Current | Failure]: ...

    def write(self, records: list[RecordWrite], bulk: bool) -> dict[str, Failure | None]: ...

    def unwritable(self, fields: list[str]) -> dict[str, str]: ...

    def stamps(self, record_ids: list[str]) -> dict[str, object]: ...


NOT_FOUND = Failure("NOT_FOUND", "record not found or deleted in the target", transient=False)


class SalesforceTarget:
    """One sObject type in one org, through simple-salesforce."""

    def __init__(self, source: str, object_name: str, sf: Salesforce, meter: ApiMeter,
                 policy: RetryPolicy, on_retry, bulk_poll_seconds: float = 0.5):
        self.source, self.object = source, object_name
        self.sf, self.meter, self.policy, self.on_retry = sf, meter, policy, on_retry
        self.bulk_poll_seconds = bulk_poll_seconds

    def read(self, record_ids: list[str], fields: list[str]) -> dict[str, Current | Failure]:
        # Field names were validated as identifiers by the engine; ids are quoted by format_soql.
        select = ", ".join(dict.fromkeys(["Id", "SystemModstamp", "LastModifiedDate", *fields]))
        found: dict[str, Current | Failure] = {}
        for start in range(0, len(record_ids), READ_SLICE):
            ids = record_ids[start:start + READ_SLICE]
            soql = format_soql("SELECT {:literal} FROM {:literal} WHERE Id IN {}", select,
                               self.object, ids)
            try:
                result = call_with_retries(lambda q=soql: self.sf.query_all(q), self.policy,
                                           self.meter, self.on_retry)
            except CallFailed as error:
                found.update(dict.fromkeys(ids, error.failure))
                continue
            # Salesforce answers 18-character ids; the plan may hold a 15-character one.
            by_id = {
                record["Id"]: Current(
                    record.get("SystemModstamp"), {f: record.get(f) for f in fields},
                    record.get("LastModifiedDate"),
                )
                for record in result["records"]
            }
            for record_id in ids:
                found[record_id] = by_id.get(to_18(record_id), NOT_FOUND)
        return found

    def write(self, records: list[RecordWrite], bulk: bool) -> dict[str, Failure | None]:
        return self._bulk(records) if bulk else self._composite(records)

    def stamps(self, record_ids: list[str]) -> dict[str, object]:
        """SystemModstamp after our write (echo suppression), one query per 200 ids."""
        found: dict[str, object] = {}
        for start in range(0, len(record_ids), READ_SLICE):
            soql = format_soql("SELECT Id, SystemModstamp, LastModifiedDate FROM {:literal} "
                               "WHERE Id IN {}", self.object, record_ids[start:start + READ_SLICE])
            try:
                result = call_with_retries(lambda q=soql: self.sf.query_all(q), self.policy,
                                           self.meter, self.on_retry)
            except CallFailed:
                continue  # no stamp: the caller reports how many are missing
            stamps = {r["Id"]: r.get("SystemModstamp") for r in result["records"]}
            found.update({i: stamps[to_18(i)] for i in record_ids[start:start + READ_SLICE]
                          if to_18(i) in stamps})
        return found

    def unwritable(self, fields: list[str]) -> dict[str, str]:
        """Fields the org lacks or will not update (one describe call), with the reason.

        Checked up front so that one unknown field (say a custom field not deployed in this
        org) does not fail the SOQL re-read of every record that also has valid changes.
        """
        try:
            described = call_with_retries(lambda: getattr(self.sf, self.object).describe(),
                                          self.policy, self.meter, self.on_retry)
        except CallFailed:
            return {}  # no verdict: the writes themselves will report per record
        by_name = {f["name"].lower(): f for f in described.get("fields", [])}
        problems = {}
        for name in fields:
            found = by_name.get(name.lower())
            if found is None:
                problems[name] = f"INVALID_FIELD: {self.object} has no field {name} in {self.source}"
            elif not found.get("updateable", False):
                problems[name] = f"INVALID_FIELD_FOR_INSERT_UPDATE: {self.object}.{name} is read-only"
        return problems

    def _composite(self, records: list[RecordWrite]) -> dict[str, Failure | None]:
        if len(records) > COMPOSITE_LIMIT:
            raise ValueError(f"at most {COMPOSITE_LIMIT} records per sObject Collections request")
        payload = {"allOrNone": False, "records": [
            {"attributes": {"type": self.object}, "id": r.record_id,
             **{f: to_json_value(v, r.current.values.get(f)) for f, v in r.values.items()}}
            for r in records
        ]}
        try:
            results = self.sf.restful("composite/sobjects", method="PATCH", json=payload)
        except RETRYABLE_ERRORS as error:
            raise CallFailed(classify(error, self.meter.last_retry_after())) from error
        outcome: dict[str, Failure | None] = {}
        # Results come back in request order (ids may be missing on some errors).
        for record, result in zip(records, results or [], strict=False):
            if result.get("success"):
                outcome[record.record_id] = None
            else:
                error = (result.get("errors") or [{}])[0]
                code = error.get("statusCode") or "UNKNOWN_ERROR"
                outcome[record.record_id] = Failure(code, str(error.get("message", "")),
                                                    code in SALESFORCE_TRANSIENT_CODES)
        for record in records:
            outcome.setdefault(record.record_id, Failure("NO_RESULT", "no result returned", True))
        return outcome

    def _bulk(self, records: list[RecordWrite]) -> dict[str, Failure | None]:
        fields = list(dict.fromkeys(f for r in records for f in r.values))
        # One header for the job: an empty cell leaves a field alone, `#N/A` clears it.
        rows = [{"Id": r.record_id, **dict.fromkeys(fields, ""),
                 **{f: to_csv_value(v) for f, v in r.values.items()}} for r in records]
        handler = getattr(self.sf.bulk2, self.object)
        try:
            with created_jobs(self.sf.session) as job_ids:
                jobs = handler.update(records=rows, wait=self.bulk_poll_seconds)
            failed_text = [
                call_with_retries(lambda j=job["job_id"]: handler.get_failed_records(j), self.policy,
                                  self.meter, self.on_retry)
                for job in jobs if int(job.get("numberRecordsFailed", 0))
            ]
        except RETRYABLE_ERRORS as error:
            raise CallFailed(classify(error, self.meter.last_retry_after())) from error
        except CallFailed:
            raise
        except Exception as error:  # SalesforceOperationError / BulkV2LoadError: the job failed
            if not job_ids:
                raise CallFailed(Failure("BULK_JOB_FAILED", str(error)[:300], False)) from error
            # Failed part-way: the rows it processed are written; the result sets say which.
            return outcomes_of_failed_jobs(handler, job_ids, [r.record_id for r in records],
                                           SALESFORCE_TRANSIENT_CODES, str(error))
        outcome: dict[str, Failure | None] = {r.record_id: None for r in records}
        for text in failed_text:
            for row in csv.DictReader(io.StringIO(text)):
                code, _, message = (row.get("sf__Error") or "UNKNOWN_ERROR").partition(":")
                record_id = row.get("sf__Id") or row.get("Id") or ""
                if record_id in outcome:
                    outcome[record_id] = Failure(code, message.rsplit(":", 1)[0],
                                                 code in SALESFORCE_TRANSIENT_CODES)
        return outcome


class ProspectTarget:
    """Prospects of one Account Engagement business unit, at most 5 requests in flight."""

    object = "Prospect"

    def __init__(self, source: str, client: AccountEngagementClient, meter: ApiMeter,
                 policy: RetryPolicy, on_retry, max_in_flight: int = AE_MAX_IN_FLIGHT):
        self.source, self.client, self.meter = source, client, meter
        self.policy, self.on_retry = policy, on_retry
        self.max_in_flight = min(max_in_flight, AE_MAX_IN_FLIGHT)
        self.written: dict[str, object] = {}  # updatedAt each PATCH answered, by prospect id

    def _pool(self) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(max_workers=self.max_in_flight, thread_name_prefix=self.source)

    def read(self, record_ids: list[str], fields: list[str]) -> dict[str, Current | Failure]:
        wanted = list(dict.fromkeys(["id", "updatedAt", *fields]))

        def one(record_id: str) -> Current | Failure:
            try:
                found = call_with_retries(lambda: self.client.get_prospect(record_id, wanted),
                                          self.policy, self.meter, self.on_retry)
            except CallFailed as error:
                missing = error.failure.code in {f"AE_{c}" for c in AE_MISSING_CODES}
                return NOT_FOUND if missing else error.failure
            return Current(found.get("updatedAt"), {f: found.get(f) for f in fields},
                           found.get("updatedAt"))

        with self._pool() as pool:
            return dict(zip(record_ids, pool.map(one, record_ids), strict=True))

    def unwritable(self, fields: list[str]) -> dict[str, str]:
        return {}  # v5 has no describe; an unknown field fails per record with code 224

    def write(self, records: list[RecordWrite], bulk: bool = False) -> dict[str, Failure | None]:
        def one(record: RecordWrite) -> Failure | None:
            body = {f: to_json_value(v, record.current.values.get(f)) for f, v in record.values.items()}
            try:
                answer = self.client.update_prospect(record.record_id, body)
            except RETRYABLE_ERRORS as error:
                return classify(error, self.meter.last_retry_after())
            if isinstance(answer, dict) and answer.get("updatedAt"):
                self.written[record.record_id] = answer["updatedAt"]
            return None

        with self._pool() as pool:
            return {r.record_id: result for r, result in zip(records, pool.map(one, records), strict=True)}

    def stamps(self, record_ids: list[str]) -> dict[str, object]:
        """updatedAt after our write: from the PATCH answers, else one GET per record."""
        found = {rid: self.written[rid] for rid in record_ids if rid in self.written}
        missing = [rid for rid in record_ids if rid not in found]
        if missing:  # rare: a write confirmed by re-reading after its answer was lost
            read = self.read(missing, [])
            found.update({rid: c.stamp for rid, c in read.items() if isinstance(c, Current)})
        return found
