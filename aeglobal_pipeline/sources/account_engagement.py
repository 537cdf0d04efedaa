"""A thin client for Account Engagement (Pardot) API v5 prospects.

No maintained Python client exists, and the surface the pipeline needs is small: paged queries
with `nextPageToken`, reading one prospect and updating one. Every request carries the Bearer
token and the `Pardot-Business-Unit-Id` header. Errors arrive as `{"code": N, "message": ...}`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

import requests

from aeglobal_pipeline.config import AccountEngagementConnection, Source, aeglobal_home

# Codes worth retrying after a pause: 62 conflicting update, 66 concurrent request limit,
# 122 daily API limit (resets the next day), 183 internal error, 202 minute rate limit,
# 214 request timed out.
TRANSIENT_CODES = frozenset({62, 66, 122, 183, 202, 214})
TIMEOUT_SECONDS = 60


class AccountEngagementError(RuntimeError):
    def __init__(self, status: int, code: int | None, message: str, retry_after: float | None = None):
        super().__init__(f"Account Engagement error {code} (HTTP {status}): {message}")
        self.status, self.code, self.message, self.retry_after = status, code, message, retry_after

    @property
    def transient(self) -> bool:
        """Retrying later may succeed: server errors, throttling and the rate-limit codes."""
        return self.status >= 500 or self.status == 429 or self.code in TRANSIENT_CODES

    @property
    def daily_limit(self) -> bool:
        """Code 122: retrying today is pointless; stop and resume tomorrow."""
        return self.code == 122


def _iso(value: datetime | str) -> str:
    if isinstance(value, str):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat(timespec="seconds")


class AccountEngagementClient:
    def __init__(self, base_url: str, access_token: str, business_unit_id: str,
                 session: requests.Session | None = None):
        self.base_url = base_url.rstrip("/")
        self.business_unit_id = business_unit_id
        self.session = session or requests.Session()
        self._headers = {
            "Authorization": f"Bearer {access_token}",
            "Pardot-Business-Unit-Id": business_unit_id,
        }

    def __repr__(self) -> str:  # never show the token
        return f"AccountEngagementClient({self.base_url!r}, business_unit_id={self.business_unit_id!r})"

    def _request(self, method: str, path: str, params: dict | None = None, json: object = None):
        response = self.session.request(
            method, f"{self.base_url}/api/v5/objects/{path}", params=params, json=json,
            headers=self._headers, timeout=TIMEOUT_SECONDS,
        )
        if response.status_code >= 400:
            try:
                body = response.json()
                code, message = body.get("code"), body.get("message", response.text)
            except (ValueError, AttributeError):
                code, message = None, response.text[:500]
            retry_after = response.headers.get("Retry-After")
            raise AccountEngagementError(
                response.status_code, code, message,
                float(retry_after) if retry_after and retry_after.isdigit() else None,
            )
        return response.json() if response.content else None

    def iter_prospect_pages(
        self, fields: Sequence[str], updated_after: datetime | str | None = None,
        deleted: str = "false", limit: int = 1000,
    ) -> Iterator[list[dict]]:
        """Pages of prospects ordered by updatedAt (then id), from `updated_after` inclusive."""
        params: dict = {
            "fields": ",".join(fields), "limit": limit, "deleted": deleted, "orderBy": "updatedAt asc",
        }
        if updated_after is not None:
            params["updatedAtAfterOrEqualTo"] = _iso(updated_after)
        while True:
            page = self._request("GET", "prospects", params=params)
            yield page.get("values", [])
            token = page.get("nextPageToken")
            if not token:
                return
            # Only `fields` may accompany a page token.
            params = {"fields": ",".join(fields), "nextPageToken": token}

    def get_prospect(self, prospect_id: int | str, fields: Sequence[str]) -> dict:
        return self._request("GET", f"prospects/{prospect_id}", params={"fields": ",".join(fields)})

    def update_prospect(self, prospect_id: int | str, values: dict,
                        fields: Sequence[str] = ("id", "updatedAt")) -> dict | None:
        """PATCH the given values; returns the prospect's `fields` after the update."""
        return self._request(
            "PATCH", f"prospects/{prospect_id}", params={"fields": ",".join(fields)}, json=values
        )


def connect_account_engagement(source: Source) -> AccountEngagementClient:
    """A client for a `kind: account_engagement` source (sandbox or real business unit)."""
    from aeglobal_pipeline.sources.salesforce_client import SourceConnectionError, env_credential

    if source.kind != "account_engagement":
        raise SourceConnectionError(f"source {source.name!r} is {source.kind}, not account_engagement")
    connection = source.connection or AccountEngagementConnection()
    if not isinstance(connection, AccountEngagementConnection):
        raise SourceConnectionError(f"source {source.name!r}: not an Account Engagement connection")
    if connection.sandbox:
        from aeglobal_pipeline.sandbox.process import ensure_running, token_for

        home = aeglobal_home()
        endpoint = ensure_running(home)
        return AccountEngagementClient(
            endpoint.url, token_for(home, source.name), source.business_unit_id or "",
            endpoint.session(),
        )
    token = env_credential(source, connection.access_token_env, "access_token_env")
    return AccountEngagementClient(connection.base_url, token, source.business_unit_id or "")
