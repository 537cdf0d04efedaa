"""The whole sandbox, field by field, read through the real clients: for comparing end states.

Change stamps (SystemModstamp, LastModifiedDate, updatedAt) differ between any two runs and are
left out. Global person ids are minted per run, so each is replaced by the smallest record key
carrying it: two end states agree when they group the same records into the same persons.
"""

from __future__ import annotations

import csv
from pathlib import Path

from simple_salesforce import format_soql

from aeglobal_pipeline.config import load_sources
from aeglobal_pipeline.sources.account_engagement import connect_account_engagement
from aeglobal_pipeline.sources.salesforce_client import connect_salesforce
from aeglobal_pipeline.writeback.values import canonical

STAMPS = {"systemmodstamp", "lastmodifieddate", "updatedat"}
GLOBAL_ID_FIELDS = {"global_person_id__c"}
State = dict[str, dict[str, str]]  # record key -> field -> canonical value


def _salesforce(source, object_name: str) -> State:
    sf = connect_salesforce(source)
    fields = [f["name"] for f in getattr(sf, object_name).describe()["fields"]
              if f["name"].lower() not in STAMPS]
    soql = format_soql("SELECT {:literal} FROM {:literal}", ", ".join(fields), object_name)
    records = sf.query_all(soql)["records"]
    return {f"{source.name}:{object_name}:{r['Id']}": {f: canonical(r.get(f)) for f in fields}
            for r in records}


def _prospects(source, snapshot: Path) -> State:
    with (snapshot / source.name / "Prospect.csv").open(encoding="utf-8") as handle:
        header = next(csv.reader(handle))
    fields = [f for f in header if f.lower() not in STAMPS]
    client = connect_account_engagement(source)
    return {f"{source.name}:Prospect:{p['id']}": {f: canonical(p.get(f)) for f in fields}
            for page in client.iter_prospect_pages(fields) for p in page}


def sandbox_state(snapshot: Path) -> State:
    """Every record of every source in the active $AEGLOBAL_HOME's sandbox."""
    state: State = {}
    for source in load_sources().sources:
        if source.kind == "salesforce":
            for object_name in source.objects:
                state.update(_salesforce(source, object_name))
        else:
            state.update(_prospects(source, snapshot))
    owners: dict[str, str] = {}
    for key, values in sorted(state.items()):
        for field, value in values.items():
            if field.lower() in GLOBAL_ID_FIELDS and value:
                owners.setdefault(value, key)
    for values in state.values():
        for field, value in values.items():
            if field.lower() in GLOBAL_ID_FIELDS and value:
                values[field] = f"person of {owners[value]}"
    return state


def differences(actual: State, expected: State) -> list[tuple[str, str, str | None, str | None]]:
    """(record, field, actual, expected) wherever the two states disagree."""
    found = []
    for key in sorted(set(actual) | set(expected)):
        left, right = actual.get(key, {}), expected.get(key, {})
        for field in sorted(set(left) | set(right)):
            if left.get(field) != right.get(field):
                found.append((key, field, left.get(field), right.get(field)))
    return found
