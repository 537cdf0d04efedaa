"""`SandboxControl`: fault injection and call statistics of a running sandbox, for tests and demos.

    control = SandboxControl.for_home(home)
    control.fail_requests(503, count=2, source="crm_emea", path="/query", retry_after=1)
    control.fail_record("00Q000000000001AAA", "UNABLE_TO_LOCK_ROW", times=1)
    control.stats()  # {"crm_emea": {"query": 3, "composite": 1}}
    control.set_limits("ae_emea", ae_sequence_cap=50, ae_daily_calls=10)  # see limits.Limits
    control.expire_tokens("crm_emea")  # every access token issued so far answers 401
    control.commit_late_record("crm_emea", "Lead", record_id, {"FirstName": "Late"})
"""

from __future__ import annotations

from pathlib import Path

from aeglobal_pipeline.sandbox.process import SandboxEndpoint, control_token, ensure_running


class SandboxControl:
    def __init__(self, endpoint: SandboxEndpoint, token: str):
        self.endpoint = endpoint
        self._session = endpoint.session()
        self._session.headers["Authorization"] = f"Bearer {token}"

    @classmethod
    def for_home(cls, home: Path) -> SandboxControl:
        return cls(ensure_running(home), control_token(home))

    def _call(self, method: str, route: str, json: object = None) -> object:
        response = self._session.request(method, f"{self.endpoint.url}/__sandbox/{route}", json=json,
                                         timeout=30)
        response.raise_for_status()
        return response.json() if response.content else None

    def inject(self, *faults: dict) -> list[str]:
        """Add faults in the raw JSON format (see faults.parse_fault); returns their ids."""
        return self._call("POST", "faults", {"faults": list(faults)})["ids"]

    def fail_requests(
        self, status: int, count: int = 1, *, source: str | None = None, path: str | None = None,
        method: str | None = None, retry_after: int | None = None, error_code: str | None = None,
        ae_code: int | None = None, message: str | None = None, latency_ms: int = 0,
    ) -> str:
        spec = {"status": status, "count": count, "source": source, "path": path, "method": method,
                "retry_after": retry_after, "error_code": error_code, "ae_code": ae_code,
                "message": message, "latency_ms": latency_ms}
        return self.inject({k: v for k, v in spec.items() if v is not None})[0]

    def add_latency(self, latency_ms: int, count: int = 1, *, source: str | None = None,
                    path: str | None = None) -> str:
        spec = {"latency_ms": latency_ms, "count": count, "source": source, "path": path}
        return self.inject({k: v for k, v in spec.items() if v is not None})[0]

    def fail_record(
        self, record_id: str | int, error_code: str = "UNABLE_TO_LOCK_ROW", *, times: int = 1,
        source: str | None = None, message: str | None = None, fields: list[str] | None = None,
        ae_code: int | None = None,
    ) -> str:
        spec = {"record_id": str(record_id), "error_code": error_code, "times": times,
                "source": source, "message": message, "fields": fields, "ae_code": ae_code}
        return self.inject({k: v for k, v in spec.items() if v is not None})[0]

    def faults(self) -> dict:
        return self._call("GET", "faults")

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def stats(self) -> dict[str, dict[str, int]]:
        return self._call("GET", "stats")

    def reset_stats(self) -> None:
        self._call("DELETE", "stats")

    def set_limits(self, source: str, *, reset_calls: bool = False, **limits: object) -> dict:
        """Set some of a source's limits (the others keep their values); returns them all.
        `reset_calls` starts the source's daily call count afresh (a new day)."""
        return self._call("POST", "limits", {"source": source, "reset_calls": reset_calls, **limits})

    def clear_limits(self) -> None:
        """Every source back to the production limits, with a fresh daily allowance."""
        self._call("DELETE", "limits")

    def expire_tokens(self, source: str) -> None:
        self._call("POST", "expire_tokens", {"source": source})

    def commit_late_record(self, source: str, object_name: str, record_id: str | int,
                           changes: dict, seconds_before_newest: float = 60) -> dict:
        """Change a record and stamp it before the newest stamp of its object (see late.py)."""
        return self._call("POST", "late_record", {
            "source": source, "object": object_name, "record_id": record_id, "changes": changes,
            "seconds_before_newest": seconds_before_newest,
        })
