"""The real services' limits, enforced per source by the sandbox (small values in tests).

Defaults are the documented production values: Account Engagement stops a nextPageToken sequence
at 100,000 records, allows 5 concurrent requests and 25k-100k calls a day by edition; Salesforce
answers 414/431 past 16,384 bytes of URI + headers and refuses calls past the org's daily
TotalRequests allocation. `token_ttl_seconds` makes access tokens expire (Salesforce sessions
time out); `bulk_fail_after` makes every Bulk 2.0 ingest job fail after that many rows, the rest
left unprocessed. Set them through `SandboxControl.set_limits(source, ...)` (POST /__sandbox/limits).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, fields, replace


class LimitSpecError(ValueError):
    pass


@dataclass(frozen=True)
class Limits:
    ae_sequence_cap: int = 100_000
    ae_daily_calls: int = 100_000
    ae_concurrent: int = 5
    sf_max_request_bytes: int = 16_384
    sf_daily_requests: int = 100_000
    token_ttl_seconds: float | None = None
    bulk_fail_after: int | None = None


class LimitBook:
    """Each source's limits, its calls today and its requests in flight."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._limits: dict[str, Limits] = {}
        self.calls: Counter[str] = Counter()
        self._in_flight: Counter[str] = Counter()
        self.token_issued: dict[str, float] = {}  # access token -> when it was first seen
        self._expired_before: dict[str, float] = {}  # source -> tokens seen before are expired
        self._day = time.gmtime().tm_yday

    def of(self, source: str) -> Limits:
        return self._limits.get(source, Limits())

    def set(self, body: object) -> dict:
        if not isinstance(body, dict) or not isinstance(body.get("source"), str):
            raise LimitSpecError("limits need a 'source' and the limits to set")
        source = body["source"]
        known = {f.name for f in fields(Limits)}
        unknown = sorted(set(body) - known - {"source", "reset_calls"})
        if unknown:
            raise LimitSpecError(f"unknown limits: {unknown} (known: {sorted(known)})")
        values = {k: v for k, v in body.items() if k in known}
        with self._lock:
            self._limits[source] = replace(self.of(source), **values)
            if body.get("reset_calls"):
                self.calls.pop(source, None)
            return asdict(self._limits[source])

    def clear(self) -> None:
        with self._lock:
            self._limits.clear()
            self.calls.clear()

    def count_call(self, source: str, daily: int) -> int | None:
        """Count a call against today's allowance (UTC day); None when the allowance is used up."""
        with self._lock:
            today = time.gmtime().tm_yday
            if today != self._day:
                self.calls.clear()
                self._day = today
            if self.calls[source] >= daily:
                return None
            self.calls[source] += 1
            return self.calls[source]

    def remaining(self, source: str, daily: int) -> int:
        with self._lock:
            return max(daily - self.calls[source], 0)

    def enter(self, source: str, concurrent: int) -> bool:
        with self._lock:
            if self._in_flight[source] >= concurrent:
                return False
            self._in_flight[source] += 1
            return True

    def leave(self, source: str) -> None:
        with self._lock:
            self._in_flight[source] -= 1

    def issue(self, token: str) -> None:
        with self._lock:
            self.token_issued[token] = time.time()

    def expire_tokens(self, source: str) -> None:
        """Every access token of `source` issued so far expires now (a session timeout)."""
        with self._lock:
            self._expired_before[source] = time.time()

    def token_expired(self, token: str, source: str) -> bool:
        ttl = self.of(source).token_ttl_seconds
        with self._lock:
            issued = self.token_issued.setdefault(token, time.time())
            cutoff = self._expired_before.get(source)
        if cutoff is not None and issued <= cutoff:
            return True
        return ttl is not None and time.time() - issued > ttl
