"""A thin client for Account Engagement (Pardot) API v5 prospects.

No maintained Python client exists, and the surface the pipeline needs is small: paged queries
with `nextPageToken`, reading one prospect and updating one. Every request carries the Bearer
token and the `Pardot-Business-Unit-Id` header. Errors arrive as `{"code": N, "message": ...}`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

import requests

from aeglobal_pipeline.config import AccountEngagementConnection, Source, aeglobal_home

# Codes worth retrying after a pause: 62 conflicting update, 66 concurrent request limit,
# 183 internal error, 202 minute rate limit, 214 request timed out. 122 (daily API limit) resets
# the next day: a run stops that source instead (see `daily_limit`).
TRANSIENT_CODES = frozenset({62, 66, 183, 202, 214})
# Limit codes the client itself waits out (AE sends no Retry-After with them).
THROTTLE_CODES = frozenset({66, 202})
DAILY_LIMIT_CODE = 122
TIMEOUT_SECONDS = 60
# A nextPageToken sequence ends after 100,000 records with this warning and no token.
SEQUENCE_CAPPED_WARNING = "203"


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
                 session: requests.Session | None = None, *, throttle_attempts: int = 6,
                 throttle_seconds: float = 2.0):
        self.base_url = base_url.rstrip("/")
        # Concurrency (66) and minute (202) limits: wait throttle_seconds, doubling, this often.
        self.throttle_attempts, self.throttle_seconds = throttle_attempts, throttle_seconds
        self.capped_sequences = 0  # how often a sequence hit the 100k cap and was restarted
        self.business_unit_id = business_unit_id
        self.session = session or requests.Session()
        self._headers = {
            "Authorization": f"Bearer {access_token}",
            "Pardot-Business-Unit-Id": business_unit_id,
        }

    def __repr__(self) -> str:  # never show the token
        return f"AccountEngagementClient({self.base_url!r}, business_unit_id={self.business_unit_id!r})"

    def _request(self, method: str, path: str, params: dict | None = None, json: object = None):
        """One read or write; its caller (the write-back engine) retries and counts limit codes."""
        response = self._send_once(method, path, params, json)
        return response.json() if response.content else None

    def _send(self, method: str, path: str, params: dict | None = None, json: object = None):
        """One query call, waiting out the concurrency and minute limits (an extract has no
        retry loop of its own around a page sequence); the response on success."""
        for attempt in range(self.throttle_attempts):
            try:
                return self._send_once(method, path, params, json)
            except AccountEngagementError as error:
                if error.code not in THROTTLE_CODES or attempt == self.throttle_attempts - 1:
                    raise
                time.sleep(error.retry_after or self.throttle_seconds * 2**attempt)
        raise AssertionError("unreachable")

    def _send_once(self, method: str, path: str, params: dict | None, json: object):
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
        return response

    def _sequence(self, fields: Sequence[str], first: dict) -> Iterator[tuple[list[dict], bool]]:
        """One nextPageToken sequence: (page, capped) pairs; capped on the last page when AE
        stopped the sequence at its cap (warning 203, no token) rather than at the end."""
        params = {"fields": ",".join(fields), **first}
        while True:
            response = self._send("GET", "prospects", params=params)
            page = response.json() if response.content else {}
            token = page.get("nextPageToken")
            capped = not token and SEQUENCE_CAPPED_WARNING in response.headers.get("Pardot-Warning", "")
            yield page.get("values", []), capped
            if not token:
                return
            # Only `fields` may accompany a page token.
            params = {"fields": ",".join(fields), "nextPageToken": token}

    def iter_prospect_pages(
        self, fields: Sequence[str], updated_after: datetime | str | None = None,
        deleted: str = "false", limit: int = 1000,
    ) -> Iterator[list[dict]]:
        """Pages of prospects ordered by updatedAt, from `updated_after` inclusive, complete even
        when AE caps a sequence: the read restarts from the last updatedAt it saw. Prospects that
        share that stamp are read by id (any number of pages of them), each prospect once."""
        wanted = list(dict.fromkeys([*fields, "id", "updatedAt"]))
        base = {"limit": limit, "deleted": deleted}
        first = {**base, "orderBy": "updatedAt asc"}
        if updated_after is not None:
            first["updatedAtAfterOrEqualTo"] = _iso(updated_after)
        while True:
            stamp, at_stamp = None, set()  # the newest stamp read and the ids read with it
            capped = False
            for page, page_capped in self._sequence(wanted, first):
                capped = page_capped
                for prospect in page:
                    if prospect["updatedAt"] != stamp:
                        stamp, at_stamp = prospect["updatedAt"], set()
                    at_stamp.add(str(prospect["id"]))
                if page:
                    yield page
            if not capped or stamp is None:
                return
            self.capped_sequences += 1
            # More prospects may share the last stamp than one sequence holds: read them by id.
            yield from self._drain_stamp(wanted, base, stamp, at_stamp)
            first = {**base, "orderBy": "updatedAt asc", "updatedAtAfter": stamp}

    def _drain_stamp(self, fields: list[str], base: dict, stamp: str, seen_before: set[str]):
        """Every prospect whose updatedAt is exactly `stamp`, by id, skipping ids already read."""
        after_id: object = None
        while True:
            query = {**base, "orderBy": "id asc", "updatedAtAfterOrEqualTo": stamp,
                     "updatedAtBeforeOrEqualTo": stamp}
            if after_id is not None:
                query["idGreaterThan"] = after_id
            capped = False
            for page, page_capped in self._sequence(fields, query):
                capped = page_capped
                if page:
                    after_id = page[-1]["id"]
                    fresh = [p for p in page if str(p["id"]) not in seen_before]
                    if fresh:
                        yield fresh
            if not capped:
                return
            self.capped_sequences += 1

    def get_prospect(self, prospect_id: int | str, fields: Sequence[str]) -> dict:
        return self._request("GET", f"prospects/{prospect_id}", params={"fields": ",".join(fields)})

    def update_prospect(self, prospect_id: int | str, values: dict,
                        fields: Sequence[str] = ("id", "updatedAt")) -> dict | None:
        """PATCH the given values; returns the prospect's `fields` after the update."""
        return self._request(
            "PATCH", f"prospects/{prospect_id}", params={"fields": ",".join(fields)}, json=values
        )


def _ae_refresh(source: Source, connection: AccountEngagementConnection, session: requests.Session,
                token_url: str):
    from aeglobal_pipeline.sources.auth import oauth_refresh
    from aeglobal_pipeline.sources.salesforce_client import env_credential

    if not connection.refresh_token_env:
        return None
    secret = connection.client_secret_env
    return oauth_refresh(
        session, token_url,
        env_credential(source, connection.refresh_token_env, "refresh_token_env"),
        env_credential(source, connection.client_id_env, "client_id_env"),
        env_credential(source, secret, "client_secret_env") if secret else None,
    )


def connect_account_engagement(source: Source) -> AccountEngagementClient:
    """A client for a `kind: account_engagement` source (sandbox or real business unit); its
    session renews an expired token where the connection has a refresh path (sources/auth.py)."""
    from aeglobal_pipeline.sources.auth import RefreshingSession
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
        base_url, token, template = endpoint.url, token_for(home, source.name), endpoint.session()
        token_url = f"{endpoint.url}/services/oauth2/token"
    else:
        base_url, template, token_url = connection.base_url, requests.Session(), connection.token_url
        token = env_credential(source, connection.access_token_env, "access_token_env")
    session = RefreshingSession(source.name, token, _ae_refresh(source, connection, template, token_url))
    session.verify, session.trust_env = template.verify, template.trust_env
    client = AccountEngagementClient(base_url, token, source.business_unit_id or "", session)

    def follow(new_token: str) -> None:
        client._headers["Authorization"] = f"Bearer {new_token}"

    session.on_refresh = follow
    return client
