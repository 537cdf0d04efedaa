"""Tiny snapshot builders shared by the sandbox and client tests (see conftest.py)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

BUSINESS_UNIT = "0UvEMEA0000000001"
DEFAULT_SOURCES = [
    {"name": "crm_emea", "kind": "salesforce", "region": "EMEA",
     "legal_entity": "Northwind Europe GmbH", "countries": ["DE", "AT"]},
    {"name": "crm_na", "kind": "salesforce", "region": "NA", "legal_entity": "Northwind Inc.",
     "countries": ["US"]},
    {"name": "ae_emea", "kind": "account_engagement", "region": "EMEA",
     "legal_entity": "Northwind Europe GmbH", "business_unit_id": BUSINESS_UNIT,
     "connected_crm": "crm_emea"},
]


def lead_id(n: int) -> str:
    return f"00Q{n:012d}AAA"


def sf_time(minute: int) -> str:
    """A Salesforce timestamp `minute` minutes after 2026-03-04T10:00."""
    return f"2026-03-{4 + minute // 1440:02d}T{10 + minute // 60 % 24:02d}:{minute % 60:02d}:00.000+0000"


def make_leads(count: int, deleted_every: int = 0) -> list[dict]:
    return [
        {
            "Id": lead_id(n), "FirstName": f"First{n}", "LastName": f"Last{n % 97}",
            "Email": f"person{n}@example.com", "Country": "DE",
            "HasOptedOutOfEmail": "true" if n % 5 == 0 else "false",
            "IsDeleted": "true" if deleted_every and n % deleted_every == 0 else "false",
            "SystemModstamp": sf_time(n % 600), "Region__c": "DACH",
        }
        for n in range(1, count + 1)
    ]


def make_prospects(count: int, deleted_every: int = 0) -> list[dict]:
    return [
        {
            "id": 1000 + n, "email": f"person{n}@example.com", "firstName": f"First{n}",
            "optedOut": "true" if n % 4 == 0 else "false",
            "isDeleted": "true" if deleted_every and n % deleted_every == 0 else "false",
            "updatedAt": f"2026-03-04T10:{n % 60:02d}:00+00:00",
        }
        for n in range(1, count + 1)
    ]


def write_snapshot(directory: Path, objects: dict[str, dict[str, list[dict]]],
                   sources: list[dict] | None = None) -> Path:
    """DIR/sources.yaml + DIR/<source>/<Object>.csv from rows given as dicts."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "sources.yaml").write_text(
        yaml.safe_dump({"sources": sources or DEFAULT_SOURCES}, sort_keys=False), encoding="utf-8"
    )
    for source, by_object in objects.items():
        for object_name, rows in by_object.items():
            path = directory / source / f"{object_name}.csv"
            path.parent.mkdir(parents=True, exist_ok=True)
            header = list(dict.fromkeys(key for row in rows for key in row))
            with path.open("w", newline="", encoding="utf-8") as handle:
                writer = csv.DictWriter(handle, fieldnames=header)
                writer.writeheader()
                writer.writerows(rows)
    return directory


def default_objects() -> dict[str, dict[str, list[dict]]]:
    return {
        "crm_emea": {
            "Lead": make_leads(2_500, deleted_every=50),
            "Contact": [{"Id": "003000000000001AAA", "FirstName": "Carla", "LastName": "Contact",
                         "Email": "carla@example.com", "MailingCountry": "AT",
                         "SystemModstamp": sf_time(5)}],
        },
        "crm_na": {"Lead": [{"Id": "00Q900000000001AAA", "LastName": "Na", "Email": "na@example.com"}]},
        "ae_emea": {"Prospect": make_prospects(25, deleted_every=10)},
    }


@contextmanager
def private_home(home: Path) -> Iterator[Path]:
    """$AEGLOBAL_HOME and $DAGSTER_HOME pointed at `home` (no $AEGLOBAL_SOURCES) for the block;
    the sandbox server started there is stopped at the end."""
    from aeglobal_pipeline.sandbox.process import stop

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AEGLOBAL_HOME", str(home))
        patch.setenv("DAGSTER_HOME", str(home / "dagster"))
        patch.delenv("AEGLOBAL_SOURCES", raising=False)
        try:
            yield home
        finally:
            stop(home)


@contextmanager
def serving(home: Path, snapshot: Path) -> Iterator[Sandbox]:
    """`snapshot` loaded into a sandbox at `home` ($AEGLOBAL_HOME for the block), its server
    running until the block ends (stopped by its own pid)."""
    from aeglobal_pipeline.sandbox.process import ensure_running, stop
    from aeglobal_pipeline.sandbox.snapshot import load_snapshot

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AEGLOBAL_HOME", str(home))
        patch.delenv("AEGLOBAL_SOURCES", raising=False)
        load_snapshot(snapshot, home)
        ensure_running(home)
        try:
            yield Sandbox(home, snapshot)
        finally:
            stop(home)


@dataclass
class Sandbox:
    home: Path
    snapshot: Path

    @property
    def endpoint(self):
        from aeglobal_pipeline.sandbox.process import ensure_running

        return ensure_running(self.home)

    def sf(self, name: str = "crm_emea"):
        from aeglobal_pipeline.config import load_sources
        from aeglobal_pipeline.sources.salesforce_client import connect_salesforce

        return connect_salesforce(load_sources().by_name(name))

    def ae(self, name: str = "ae_emea"):
        from aeglobal_pipeline.config import load_sources
        from aeglobal_pipeline.sources.account_engagement import connect_account_engagement

        return connect_account_engagement(load_sources().by_name(name))

    @property
    def control(self):
        from aeglobal_pipeline.sandbox.control import SandboxControl

        return SandboxControl.for_home(self.home)
