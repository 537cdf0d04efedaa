"""Access tokens that expire mid-run: refreshed where the connection can, otherwise a fast stop.

Salesforce sessions time out (401 `INVALID_SESSION_ID`; Account Engagement answers 401 with code
184). Every client's HTTP session is a `RefreshingSession`: on such a 401 it asks the
connection's refresh path for a new token once and repeats the request; later requests that
still carry the old token (simple-salesforce copies it into each handler) get the new one. A
connection without a refresh path raises `SourceAuthError` at once, naming the source and the
settings that would give it one; retrying an expired token only delays the stop.

Refresh paths, configured in sources.yaml by the names of environment variables:
  - OAuth refresh token: `refresh_token_env` + `client_id_env` (+ `client_secret_env`)
  - username + password + security token (Salesforce): `username_env`, `password_env`,
    `security_token_env`
  - JWT bearer (Salesforce): `username_env` + `client_id_env` + `jwt_key_file_env`
"""

from __future__ import annotations

from collections.abc import Callable

import requests

REFRESH_SETTINGS = (
    "connection.refresh_token_env + client_id_env (OAuth refresh token), username_env + "
    "password_env + security_token_env, or username_env + client_id_env + jwt_key_file_env (JWT)"
)


class SourceAuthError(RuntimeError):
    """A source's access token expired and cannot be renewed; retrying will not help."""


def _is_expired_session(response: requests.Response) -> bool:
    if response.status_code != 401:
        return False
    try:
        body = response.json()
    except ValueError:
        return True
    if isinstance(body, list) and body and isinstance(body[0], dict):
        return body[0].get("errorCode") == "INVALID_SESSION_ID"
    if isinstance(body, dict):
        return body.get("code") == 184 or body.get("errorCode") == "INVALID_SESSION_ID"
    return True


class RefreshingSession(requests.Session):
    """A requests session that renews its source's Bearer token once per expiry."""

    def __init__(self, source: str, token: str, refresh: Callable[[], str] | None,
                 on_refresh: Callable[[str], None] | None = None):
        super().__init__()
        self.source, self.token = source, token
        self._refresh, self.on_refresh = refresh, on_refresh
        self._stale: set[str] = set()
        self.refreshes = 0

    def request(self, method, url, *args, headers=None, **kwargs):  # type: ignore[override]
        headers = dict(headers or {})
        if headers.get("Authorization") in self._stale:
            headers["Authorization"] = f"Bearer {self.token}"
        response = super().request(method, url, *args, headers=headers, **kwargs)
        if not _is_expired_session(response) or "Authorization" not in headers:
            return response
        if self._refresh is None:
            raise SourceAuthError(
                f"source {self.source!r}: the access token expired or was revoked (HTTP 401) and "
                f"the connection has no refresh path; configure one in sources.yaml: {REFRESH_SETTINGS}"
            )
        self._stale.add(f"Bearer {self.token}")
        try:
            self.token = self._refresh()
        except SourceAuthError as error:
            raise SourceAuthError(f"source {self.source!r}: {error}") from error
        self.refreshes += 1
        if self.on_refresh is not None:
            self.on_refresh(self.token)
        headers["Authorization"] = f"Bearer {self.token}"
        return super().request(method, url, *args, headers=headers, **kwargs)


def oauth_refresh(session: requests.Session, token_url: str, refresh_token: str, client_id: str,
                  client_secret: str | None = None) -> Callable[[], str]:
    """The OAuth 2.0 refresh_token grant against `token_url` (…/services/oauth2/token)."""

    def refresh() -> str:
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id}
        if client_secret:
            form["client_secret"] = client_secret
        # Through a plain session: the refreshing one must not recurse into itself.
        plain = requests.Session()
        plain.verify, plain.trust_env = session.verify, session.trust_env
        response = plain.post(token_url, data=form, timeout=60)
        if response.status_code != 200:
            raise SourceAuthError(
                f"token refresh at {token_url} failed (HTTP {response.status_code}): "
                f"{response.text[:200]}"
            )
        return response.json()["access_token"]

    return refresh
