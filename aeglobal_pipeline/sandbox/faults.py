"""Fault injection and API-call statistics for the sandbox server.

A request fault answers the next `count` matching calls with an error status (and optional
Retry-After), or only delays them (`latency_ms` without `status`). A record fault makes writes of
one record fail with a per-record error `times` times, in every write path (composite, single
PATCH, Bulk ingest, Account Engagement PATCH). See `parse_fault` for the JSON format.
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from dataclasses import asdict, dataclass, field

SALESFORCE_DEFAULT_ERRORS = {
    400: ("MALFORMED_QUERY", "The request was malformed"),
    401: ("INVALID_SESSION_ID", "Session expired or invalid"),
    # A transient request limit; the daily TotalRequests limit is enforced by limits.py instead.
    403: ("REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded."),
    404: ("NOT_FOUND", "The requested resource does not exist"),
    500: ("UNKNOWN_EXCEPTION", "An unexpected error occurred. Please try again."),
    503: ("SERVER_UNAVAILABLE", "Server is temporarily unavailable. Please try again."),
}
AE_DEFAULT_MESSAGES = {
    66: "You have exceeded your concurrent request limit. Please wait, before trying again",
    122: "Daily API rate limit met",
    183: "An internal error occurred, please try your request again",
    202: "Minute rate limit met",
}
RECORD_ERROR_MESSAGES = {
    "UNABLE_TO_LOCK_ROW": "unable to obtain exclusive access to this record or 1 records",
    "FIELD_CUSTOM_VALIDATION_EXCEPTION": "A validation rule prevented the save",
}
_REQUEST_KEYS = {
    "status", "count", "source", "path", "method", "retry_after", "error_code", "ae_code",
    "message", "latency_ms",
}
_RECORD_KEYS = {"record_id", "error_code", "message", "fields", "times", "source", "ae_code"}


class FaultSpecError(ValueError):
    pass


@dataclass
class RequestFault:
    id: str
    status: int | None = None
    count: int = 1
    source: str | None = None
    path: str | None = None
    method: str | None = None
    retry_after: int | None = None
    error_code: str | None = None
    ae_code: int | None = None
    message: str | None = None
    latency_ms: int = 0

    def matches(self, source: str, method: str, path: str) -> bool:
        return (
            (self.source is None or self.source == source)
            and (self.path is None or self.path in path)
            and (self.method is None or self.method.upper() == method)
        )

    def salesforce_error(self) -> tuple[str, str]:
        code, message = SALESFORCE_DEFAULT_ERRORS.get(self.status or 500, SALESFORCE_DEFAULT_ERRORS[500])
        return self.error_code or code, self.message or message

    def account_engagement_error(self) -> tuple[int, str]:
        status = self.status or 500
        code = self.ae_code or (66 if status == 429 else 183 if status >= 500 else 122)
        return code, self.message or AE_DEFAULT_MESSAGES.get(code, "Injected fault")


@dataclass
class RecordFault:
    id: str
    record_id: str
    error_code: str = "UNABLE_TO_LOCK_ROW"
    message: str | None = None
    fields: list[str] = field(default_factory=list)
    times: int = 1
    source: str | None = None
    ae_code: int | None = None

    @property
    def text(self) -> str:
        return self.message or RECORD_ERROR_MESSAGES.get(self.error_code, self.error_code)


def parse_fault(spec: dict, fault_id: str) -> RequestFault | RecordFault:
    """`{"record_id": ...}` is a record fault; anything else a request fault (status and/or latency)."""
    if not isinstance(spec, dict):
        raise FaultSpecError("a fault must be a JSON object")
    allowed = _RECORD_KEYS if "record_id" in spec else _REQUEST_KEYS
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise FaultSpecError(f"unknown fault keys: {unknown} (allowed: {sorted(allowed)})")
    try:
        if "record_id" in spec:
            fault = RecordFault(id=fault_id, **{**spec, "record_id": str(spec["record_id"])})
            if fault.times < 1:
                raise FaultSpecError("times must be >= 1")
            return fault
        fault = RequestFault(id=fault_id, **spec)
    except TypeError as error:
        raise FaultSpecError(str(error)) from error
    if fault.status is None and not fault.latency_ms:
        raise FaultSpecError("a request fault needs a status, a latency_ms, or both")
    if fault.status is not None and not 400 <= fault.status <= 599:
        raise FaultSpecError("status must be an HTTP error status (400-599)")
    if fault.count < 1:
        raise FaultSpecError("count must be >= 1")
    return fault


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.request_faults: list[RequestFault] = []
        self.record_faults: list[RecordFault] = []

    def add(self, body: object) -> list[str]:
        specs = body.get("faults") if isinstance(body, dict) and "faults" in body else [body]
        if not isinstance(specs, list):
            raise FaultSpecError("'faults' must be a list")
        with self._lock:
            parsed = [parse_fault(spec, f"fault-{next(self._ids)}") for spec in specs]
            for fault in parsed:
                target = self.record_faults if isinstance(fault, RecordFault) else self.request_faults
                target.append(fault)
        return [f.id for f in parsed]

    def clear(self) -> None:
        with self._lock:
            self.request_faults.clear()
            self.record_faults.clear()

    def describe(self) -> dict:
        with self._lock:
            return {
                "request_faults": [asdict(f) for f in self.request_faults],
                "record_faults": [asdict(f) for f in self.record_faults],
            }

    def take_request_fault(self, source: str, method: str, path: str) -> RequestFault | None:
        with self._lock:
            for fault in self.request_faults:
                if fault.matches(source, method, path):
                    fault.count -= 1
                    if fault.count <= 0:
                        self.request_faults.remove(fault)
                    return fault
        return None

    def take_record_fault(self, source: str, record_id: str) -> RecordFault | None:
        with self._lock:
            for fault in self.record_faults:
                if fault.record_id == record_id and fault.source in (None, source):
                    fault.times -= 1
                    if fault.times <= 0:
                        self.record_faults.remove(fault)
                    return fault
        return None


class Stats:
    """API calls per source × kind (query, queryMore, composite, bulk_ingest, ae_query, ...)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: Counter[tuple[str, str]] = Counter()
        self._usage: Counter[str] = Counter()

    def count(self, source: str, kind: str) -> int:
        """Record a call; returns the source's API usage so far (for Sforce-Limit-Info)."""
        with self._lock:
            self._calls[(source, kind)] += 1
            self._usage[source] += 1
            return self._usage[source]

    def snapshot(self) -> dict[str, dict[str, int]]:
        with self._lock:
            result: dict[str, dict[str, int]] = {}
            for (source, kind), n in sorted(self._calls.items()):
                result.setdefault(source, {})[kind] = n
            return result

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()
