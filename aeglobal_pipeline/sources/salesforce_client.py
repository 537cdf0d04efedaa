"""Connecting simple-salesforce to a source: the local sandbox or a real org.

Credentials of a real org come from the environment variables its `connection` names in
sources.yaml; they are never logged (only the names of missing variables are).
"""

from __future__ import annotations

import os

import requests
from simple_salesforce import Salesforce

from aeglobal_pipeline.config import SalesforceConnection, Source, aeglobal_home


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


def connect_salesforce(source: Source) -> Salesforce:
    """A simple-salesforce client for a `kind: salesforce` source."""
    if source.kind != "salesforce":
        raise SourceConnectionError(f"source {source.name!r} is {source.kind}, not salesforce")
    connection = source.connection or SalesforceConnection()
    if not isinstance(connection, SalesforceConnection):
        raise SourceConnectionError(f"source {source.name!r}: not a Salesforce connection")
    if connection.sandbox:
        from aeglobal_pipeline.sandbox.process import ensure_running, token_for

        home = aeglobal_home()
        endpoint = ensure_running(home)
        return Salesforce(
            instance_url=endpoint.url, session_id=token_for(home, source.name),
            session=endpoint.session(), version=connection.api_version,
        )
    session = requests.Session()
    if connection.session_id_env:
        return Salesforce(
            instance_url=env_credential(source, connection.instance_url_env, "instance_url_env"),
            session_id=env_credential(source, connection.session_id_env, "session_id_env"),
            session=session, version=connection.api_version,
        )
    if connection.username_env:
        return Salesforce(
            username=env_credential(source, connection.username_env, "username_env"),
            password=env_credential(source, connection.password_env, "password_env"),
            security_token=env_credential(source, connection.security_token_env, "security_token_env"),
            domain=connection.domain, session=session, version=connection.api_version,
        )
    raise SourceConnectionError(
        f"source {source.name!r}: connection needs session_id_env + instance_url_env, or "
        "username_env + password_env + security_token_env (or sandbox: true)"
    )
