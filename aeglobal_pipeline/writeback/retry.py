"""Bounded retries with exponential backoff, error classification and API-call metering.

Every client session gets a response hook (a public `requests` feature) that counts calls per
target and kind and remembers the thread's last Retry-After header: simple-salesforce drops
response headers from its exceptions, so this is the only place to see them.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import requests
from requests.adapters import HTTPAdapter
from simple_salesforce.exceptions import SalesforceError

from aeglobal_pipeline.sources.account_engagement import AccountEngagementError
from aeglobal_pipeline.sources.auth import SourceAuthError
from aeglobal_pipeline.sources.limits import is_daily_limit

T = TypeVar("T")

# Per-record and per-request Salesforce codes worth another attempt later in the same run.
SALESFORCE_TRANSIENT_CODES = frozenset({
    "REQUEST_LIMIT_EXCEEDED", "UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE", "UNKNOWN_EXCEPTION",
    "QUERY_TIMEOUT", "TIMEOUT", "CONNECTION_ERROR", "CONNECT_TIMEOUT",
})


def _env_seconds(name: str, default: float) -> float:
    value = os.environ.get(name, "")
    try:
        return float(value) if value else default
    except ValueError:
        raise ValueError(f"${name}: {value!r} is not a number of seconds") from None


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 120.0  # a server asking for longer than this is waited for this long
    # A write whose answer was lost (timeout, dropped connection) may still commit: it is re-read
    # for this long, longer than the server's commit window, before it may be sent again.
    # $AEGLOBAL_WRITE_CONFIRM_SECONDS overrides it for a deployment (or a test).
    unknown_outcome_wait: float = field(
        default_factory=lambda: _env_seconds("AEGLOBAL_WRITE_CONFIRM_SECONDS", 180.0))
    unknown_outcome_poll: float = 2.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        computed = min(self.max_delay, self.base_delay * 2**attempt)
        if retry_after:
            return min(max(computed, retry_after), self.max_retry_after)
        return computed


@dataclass(frozen=True)
class Failure:
    """What went wrong, in the terms the changes_log and the retry loop need."""

    code: str
    message: str
    transient: bool
    retry_after: float | None = None
    fatal: bool = False  # stop writing to this target for the rest of the run
    outcome_unknown: bool = False  # the request may have reached the server: it may still land


class CallFailed(RuntimeError):
    def __init__(self, failure: Failure):
        super().__init__(f"{failure.code}: {failure.message}")
        self.failure = failure


def _salesforce_code(content: object) -> tuple[str | None, str]:
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return content[0].get("errorCode"), str(content[0].get("message", ""))
    if isinstance(content, dict):
        return content.get("errorCode"), str(content.get("message", ""))
    return None, str(content)[:300]


def classify(error: BaseException, retry_after: float | None = None) -> Failure:
    if isinstance(error, AccountEngagementError):
        code = f"AE_{error.code}" if error.code is not None else f"HTTP_{error.status}"
        # Code 122 (daily limit) is transient in general but not within one run.
        return Failure(code, error.message, error.transient and not error.daily_limit,
                       error.retry_after or retry_after,
                       fatal=error.daily_limit or error.status == 401)
    if isinstance(error, SourceAuthError):  # expired token, no refresh path: stop the target
        return Failure("INVALID_SESSION_ID", str(error), False, fatal=True)
    if isinstance(error, SalesforceError):
        code, message = _salesforce_code(error.content)
        code = code or f"HTTP_{error.status}"
        # The daily allocation (TotalRequests) does not come back within this run.
        daily = is_daily_limit(error)
        transient = (error.status >= 500 or code in SALESFORCE_TRANSIENT_CODES) and not daily
        return Failure(code, message, transient, retry_after, fatal=error.status == 401 or daily)
    if isinstance(error, requests.ConnectTimeout):  # never reached the server: safe to resend
        return Failure("CONNECT_TIMEOUT", str(error)[:300], True)
    if isinstance(error, requests.Timeout):
        return Failure("TIMEOUT", str(error)[:300], True, outcome_unknown=True)
    if isinstance(error, requests.ConnectionError):
        return Failure("CONNECTION_ERROR", str(error)[:300], True, outcome_unknown=True)
    return Failure(type(error).__name__, str(error)[:300], False)


def _call_kind(method: str, url: str) -> str:
    path = url.split("?", 1)[0]
    if "/api/v5/objects/" in path:
        return "ae_patch" if method == "PATCH" else "ae_get" if path.rstrip("/")[-1].isdigit() else "ae_query"
    if path.endswith("/describe"):
        return "describe"
    for marker, kind in (("/jobs/ingest", "bulk_ingest"), ("/jobs/query", "bulk_query"),
                         ("/composite", "composite"), ("/queryAll", "queryAll"), ("/query", "query")):
        if marker in path:
            return kind
    return "sobject_patch" if method == "PATCH" else "other"


class ApiMeter:
    """API calls per target × kind, counted from the client sessions' responses."""

    def __init__(self) -> None:
        self.calls: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()
        self._local = threading.local()

    def attach(self, session: requests.Session, target: str) -> None:
        def hook(response: requests.Response, *args: object, **kwargs: object) -> None:
            kind = _call_kind(response.request.method or "", response.url or "")
            with self._lock:
                self.calls[(target, kind)] += 1
            value = response.headers.get("Retry-After")
            self._local.retry_after = float(value) if value and value.isdigit() else None

        session.hooks["response"].append(hook)

    def last_retry_after(self) -> float | None:
        return getattr(self._local, "retry_after", None)

    def by_target(self) -> dict[str, dict[str, int]]:
        result: dict[str, dict[str, int]] = {}
        with self._lock:
            for (target, kind), count in sorted(self.calls.items()):
                result.setdefault(target, {})[kind] = count
        return result


class TimeoutAdapter(HTTPAdapter):
    """Caps every request's timeout: a client without one (simple-salesforce) would otherwise
    wait forever on a server that never answers."""

    def __init__(self, seconds: float, **kwargs: object):
        self.seconds = seconds
        super().__init__(**kwargs)

    def send(self, request, **kwargs):
        given = kwargs.get("timeout")
        if given is None or (isinstance(given, int | float) and given > self.seconds):
            kwargs["timeout"] = self.seconds
        return super().send(request, **kwargs)


def limit_request_time(session: requests.Session, seconds: float | None) -> None:
    """Mount `TimeoutAdapter` on a client's session (keeps its TLS settings: those live on the
    session, not the adapter)."""
    if seconds:
        for prefix in ("https://", "http://"):
            session.mount(prefix, TimeoutAdapter(seconds))


RETRYABLE_ERRORS = (SalesforceError, AccountEngagementError, SourceAuthError, requests.RequestException)


def call_with_retries(
    fn: Callable[[], T],
    policy: RetryPolicy,
    meter: ApiMeter,
    on_retry: Callable[[str], None],
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run one API call; retry transient failures with backoff; raise CallFailed otherwise."""
    for attempt in range(policy.max_attempts):
        try:
            return fn()
        except RETRYABLE_ERRORS as error:
            failure = classify(error, meter.last_retry_after())
            if not failure.transient or attempt == policy.max_attempts - 1:
                raise CallFailed(failure) from error
            on_retry(failure.code)
            sleep(policy.delay(attempt, failure.retry_after))
    raise AssertionError("unreachable")
