"""Connecting simple-salesforce to a source: the local sandbox or a real org.

Credentials of a real org come from the environment variables its `connection` names in
sources.yaml; they are never logged (only the names of missing variables are).
"""

from __future__ import annotations

import os
from collections.abc import Callable

import requests
from simple_salesforce import Salesforce, SalesforceLogin

from aeglobal_pipeline.config import SalesforceConnection, Source, aeglobal_home
from aeglobal_pipeline.sources.auth import RefreshingSession, oauth_refresh


class SourceConnectionError(RuntimeError):
    """A source cannot be connected; the message names the source and what is missing."""


def env_credential(source: Source, variable: str | None, purpose: str) -> str:
    """The value of the environment variable a source's connection names for `purpose`."""
    if not variable:
        raise SourceConnectionError(
            f"source {source.name!r}: connection.{purpose} is not set in sources.yaml"
        )
    value = os.environ.get(variable)
    if not value:
        raise SourceConnectionError(
            f"source {source.name!r}: environment variable {variable} ({purpose}) is not set"
        )
    return value


def _optional(source: Source, variable: str | None, purpose: str) -> str | None:
    return env_credential(source, variable, purpose) if variable else None


def salesforce_refresh(source: Source, connection: SalesforceConnection, session: requests.Session,
                       token_url: str) -> Callable[[], str] | None:
    """How this connection renews an expired access token, or None when it cannot."""
    if connection.refresh_token_env:
        return oauth_refresh(
            session, token_url,
            env_credential(source, connection.refresh_token_env, "refresh_token_env"),
            env_credential(source, connection.client_id_env, "client_id_env"),
            _optional(source, connection.client_secret_env, "client_secret_env"),
        )
    if connection.username_env and connection.jwt_key_file_env:
        username = env_credential(source, connection.username_env, "username_env")
        consumer_key = env_credential(source, connection.client_id_env, "client_id_env")
        key_file = env_credential(source, connection.jwt_key_file_env, "jwt_key_file_env")
        return lambda: SalesforceLogin(username=username, consumer_key=consumer_key,
                                       privatekey_file=key_file, domain=connection.domain)[0]
    if connection.username_env and connection.password_env:
        username = env_credential(source, connection.username_env, "username_env")
        password = env_credential(source, connection.password_env, "password_env")
        security_token = env_credential(source, connection.security_token_env, "security_token_env")
        return lambda: SalesforceLogin(username=username, password=password,
                                       security_token=security_token, domain=connection.domain)[0]
    return None


def _follow_refresh(sf: Salesforce) -> Callable[[str], None]:
    def update(token: str) -> None:
        sf.session_id = token
        sf.headers["Authorization"] = f"Bearer {token}"

    return update


def connect_salesforce(source: Source) -> Salesforce:
    """A simple-salesforce client for a `kind: salesforce` source; its session renews an expired
    token where the connection has a refresh path (see sources/auth.py)."""
    if source.kind != "salesforce":
        raise SourceConnectionError(f"source {source.name!r} is {source.kind}, not salesforce")
    connection = source.connection or SalesforceConnection()
    if not isinstance(connection, SalesforceConnection):
        raise SourceConnectionError(f"source {source.name!r}: not a Salesforce connection")
    if connection.sandbox:
        from aeglobal_pipeline.sandbox.process import ensure_running, token_for

        home = aeglobal_home()
        endpoint = ensure_running(home)
        token = token_for(home, source.name)
        template = endpoint.session()
        refresh = salesforce_refresh(source, connection, template, f"{endpoint.url}/services/oauth2/token")
        session = _refreshing(source, token, refresh, template)
        sf = Salesforce(instance_url=endpoint.url, session_id=token, session=session,
                        version=connection.api_version)
        session.on_refresh = _follow_refresh(sf)
        return sf
    template = requests.Session()
    token_url = f"https://{connection.domain}.salesforce.com/services/oauth2/token"
    refresh = salesforce_refresh(source, connection, template, token_url)
    if connection.session_id_env:
        token = env_credential(source, connection.session_id_env, "session_id_env")
        session = _refreshing(source, token, refresh, template)
        sf = Salesforce(
            instance_url=env_credential(source, connection.instance_url_env, "instance_url_env"),
            session_id=token, session=session, version=connection.api_version,
        )
    elif connection.username_env and refresh is not None:
        session = _refreshing(source, "", refresh, template)
        sf = _login(source, connection, session)
        session.token = sf.session_id
    else:
        raise SourceConnectionError(
            f"source {source.name!r}: connection needs session_id_env + instance_url_env, "
            "username_env + password_env + security_token_env, or username_env + client_id_env + "
            "jwt_key_file_env (or sandbox: true)"
        )
    session.on_refresh = _follow_refresh(sf)
    return sf


def _login(source: Source, connection: SalesforceConnection, session: requests.Session) -> Salesforce:
    if connection.jwt_key_file_env:
        return Salesforce(
            username=env_credential(source, connection.username_env, "username_env"),
            consumer_key=env_credential(source, connection.client_id_env, "client_id_env"),
            privatekey_file=env_credential(source, connection.jwt_key_file_env, "jwt_key_file_env"),
            domain=connection.domain, session=session, version=connection.api_version,
        )
    return Salesforce(
        username=env_credential(source, connection.username_env, "username_env"),
        password=env_credential(source, connection.password_env, "password_env"),
        security_token=env_credential(source, connection.security_token_env, "security_token_env"),
        domain=connection.domain, session=session, version=connection.api_version,
    )


def _refreshing(source: Source, token: str, refresh, template: requests.Session) -> RefreshingSession:
    session = RefreshingSession(source.name, token, refresh)
    session.verify, session.trust_env = template.verify, template.trust_env
    return session
