"""Where local state lives and what sources.yaml may say.

`$AEGLOBAL_HOME` (default `.aeglobal/` in the working directory) holds every piece of local
state: the warehouse, the sandbox's state and certificates, reports. The active sources file is
`$AEGLOBAL_SOURCES` when set, else `$AEGLOBAL_HOME/sources.yaml`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

SOURCE_NAME = re.compile(r"^[a-z0-9_]+$")

SALESFORCE_OBJECTS = ("Account", "Contact", "Lead")
ACCOUNT_ENGAGEMENT_OBJECTS = ("Prospect",)


class ConfigError(ValueError):
    """A configuration file is malformed; the message names the file and the key."""


def keep_state_private() -> None:
    """Files and directories this process (and dbt, Dagster, the sandbox it starts) creates
    from now on are its user's alone, 0600 / 0700: the warehouse, Dagster's event log, reports
    and the sandbox hold personal data and tokens."""
    os.umask(0o077)


def aeglobal_home() -> Path:
    """The directory that holds all local state (created on first use, 0700)."""
    keep_state_private()  # every entry point (CLI, Dagster code server, tests) comes through here
    home = Path(os.environ.get("AEGLOBAL_HOME", ".aeglobal")).resolve()
    home.mkdir(parents=True, exist_ok=True)
    return home


def warehouse_path() -> Path:
    return aeglobal_home() / "warehouse.duckdb"


def sources_path() -> Path:
    explicit = os.environ.get("AEGLOBAL_SOURCES")
    return Path(explicit).resolve() if explicit else aeglobal_home() / "sources.yaml"


class SalesforceConnection(BaseModel):
    """How to reach a real org: names of environment variables, never the secrets themselves."""

    model_config = ConfigDict(extra="forbid")

    sandbox: bool = False
    instance_url_env: str | None = None
    # OAuth access token (from any flow the deployment runs), sent as a Bearer token.
    session_id_env: str | None = None
    # Username + password + security token (SOAP login), as simple-salesforce supports.
    username_env: str | None = None
    password_env: str | None = None
    security_token_env: str | None = None
    domain: Literal["login", "test"] = "login"
    api_version: str = "62.0"
    # Renewing an expired access token (see sources/auth.py): OAuth refresh token or JWT bearer.
    refresh_token_env: str | None = None
    client_id_env: str | None = None
    client_secret_env: str | None = None
    jwt_key_file_env: str | None = None


class AccountEngagementConnection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sandbox: bool = False
    base_url: str = "https://pi.pardot.com"
    access_token_env: str | None = None
    # Renewing an expired access token with the Salesforce OAuth refresh-token grant.
    refresh_token_env: str | None = None
    client_id_env: str | None = None
    client_secret_env: str | None = None
    token_url: str = "https://login.salesforce.com/services/oauth2/token"  # noqa: S105 - a URL


class Source(BaseModel):
    """One system in sources.yaml: a Salesforce CRM org or an Account Engagement business unit."""

    model_config = ConfigDict(extra="forbid")

    name: str
    kind: Literal["salesforce", "account_engagement"]
    region: str
    legal_entity: str
    brands: list[str] = Field(default_factory=list)
    countries: list[str] = Field(default_factory=list)
    business_unit_id: str | None = None
    connected_crm: str | None = None
    connection: SalesforceConnection | AccountEngagementConnection | None = None
    # Each extract re-reads this far behind its high-water mark (default 300): records can become
    # visible with a stamp older than the newest already read (long transactions; AE lags 60 s).
    lookback_seconds: int | None = Field(None, ge=0)
    # A write-back plan that would leave fewer API calls than this (default 1,000) in the org's
    # daily allowance is refused before its first call.
    api_reserve: int | None = Field(None, ge=0)

    @field_validator("name")
    @classmethod
    def _name_is_identifier(cls, value: str) -> str:
        if not SOURCE_NAME.match(value):
            raise ValueError(f"{value!r} must match [a-z0-9_]+")
        return value

    @field_validator("countries")
    @classmethod
    def _countries_are_alpha2(cls, value: list[str]) -> list[str]:
        bad = [c for c in value if not re.fullmatch(r"[A-Z]{2}", c)]
        if bad:
            raise ValueError(f"not ISO 3166-1 alpha-2 codes: {bad}")
        return value

    @model_validator(mode="before")
    @classmethod
    def _connection_by_kind(cls, data: dict) -> dict:
        if isinstance(data, dict) and isinstance(data.get("connection"), dict):
            model = (
                SalesforceConnection
                if data.get("kind") == "salesforce"
                else AccountEngagementConnection
            )
            data = {**data, "connection": model.model_validate(data["connection"])}
        return data

    @model_validator(mode="after")
    def _kind_specific(self) -> Source:
        if self.kind == "account_engagement" and not self.business_unit_id:
            raise ValueError("an account_engagement source needs business_unit_id")
        return self

    @property
    def objects(self) -> tuple[str, ...]:
        return SALESFORCE_OBJECTS if self.kind == "salesforce" else ACCOUNT_ENGAGEMENT_OBJECTS

    @property
    def extract_lookback_seconds(self) -> int:
        return 300 if self.lookback_seconds is None else self.lookback_seconds

    @property
    def api_calls_reserved(self) -> int:
        return 1_000 if self.api_reserve is None else self.api_reserve

    @property
    def is_sandbox(self) -> bool:
        return self.connection is not None and self.connection.sandbox


class SourcesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sources: list[Source]

    @model_validator(mode="after")
    def _cross_checks(self) -> SourcesFile:
        names = [s.name for s in self.sources]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate source names: {duplicates}")
        crm = {s.name for s in self.sources if s.kind == "salesforce"}
        for source in self.sources:
            if source.connected_crm and source.connected_crm not in crm:
                raise ValueError(
                    f"source {source.name!r}: connected_crm {source.connected_crm!r} "
                    "is not a salesforce source in this file"
                )
        return self

    def by_name(self, name: str) -> Source:
        for source in self.sources:
            if source.name == name:
                return source
        raise KeyError(name)


def _describe_validation_error(path: Path, error: ValidationError, raw: dict) -> str:
    lines = []
    for problem in error.errors():
        location = problem["loc"]
        key = ".".join(str(part) for part in location)
        # Name the source as well as its index: "sources.1 (crm_na).countries".
        if len(location) >= 2 and location[0] == "sources" and isinstance(location[1], int):
            try:
                name = raw["sources"][location[1]].get("name")
            except (KeyError, IndexError, TypeError, AttributeError):
                name = None
            if name:
                key = f"sources[{location[1]}] ({name})" + "".join(
                    f".{part}" for part in location[2:]
                )
        lines.append(f"{path}: {key}: {problem['msg']}")
    return "\n".join(lines)


def read_yaml(path: Path, display: str | None = None, *, missing_hint: str = "") -> Any:
    """Parse a YAML file; a missing file or a syntax error names the file (and the line)."""
    shown = display or str(path)
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{shown}: not found{missing_hint}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise ConfigError(f"{shown}{where}: not valid YAML: {exc}") from exc


def parse_sources(path: Path) -> SourcesFile:
    """Read and validate a sources.yaml; errors name the file and the offending key."""
    raw = read_yaml(
        path,
        missing_hint=". Run `aeglobal sandbox generate` or `aeglobal sandbox load DIR`, "
        "or point $AEGLOBAL_SOURCES at your sources.yaml.",
    )
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping with a 'sources' list")
    try:
        return SourcesFile.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_describe_validation_error(path, exc, raw)) from exc


def load_sources() -> SourcesFile:
    """The active sources file (see module docstring)."""
    return parse_sources(sources_path())


def write_sources(sources: SourcesFile, path: Path) -> None:
    data = sources.model_dump(mode="json", exclude_none=True, exclude_defaults=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
