"""Bulk API 2.0 and fault injection against the sandbox, through simple-salesforce over HTTPS."""

from __future__ import annotations

import csv
import io

import pytest
from simple_salesforce.exceptions import SalesforceGeneralError, SalesforceRefusedRequest
from snapshot_helpers import lead_id


def _rows(pages) -> list[dict]:
    return [row for page in pages for row in csv.DictReader(io.StringIO(page))]


def test_bulk2_update_round_trip(sandbox):
    sf = sandbox.sf()
    before = sf.Lead.get(lead_id(21))["SystemModstamp"]
    results = sf.bulk2.Lead.update(
        records=[
            {"Id": lead_id(21), "FirstName": "Bulk21", "HasOptedOutOfEmail": "true"},
            {"Id": lead_id(22), "FirstName": "Bulk22", "HasOptedOutOfEmail": ""},
            {"Id": lead_id(150), "FirstName": "Deleted", "HasOptedOutOfEmail": ""},
            {"Id": "00Q999999999999AAA", "FirstName": "Missing", "HasOptedOutOfEmail": ""},
        ],
        wait=0.1,
    )
    assert results[0]["numberRecordsProcessed"] == 4
    assert results[0]["numberRecordsFailed"] == 2
    job_id = results[0]["job_id"]

    successful = list(csv.DictReader(io.StringIO(sf.bulk2.Lead.get_successful_records(job_id))))
    assert [(r["sf__Id"], r["sf__Created"], r["FirstName"]) for r in successful] == [
        (lead_id(21), "false", "Bulk21"), (lead_id(22), "false", "Bulk22"),
    ]
    failed = list(csv.DictReader(io.StringIO(sf.bulk2.Lead.get_failed_records(job_id))))
    assert [r["sf__Error"].split(":")[0] for r in failed] == [
        "ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY",
    ]
    assert failed[0]["FirstName"] == "Deleted"
    unprocessed = sf.bulk2.Lead.get_unprocessed_records(job_id).strip().splitlines()
    assert len(unprocessed) == 1 and set(unprocessed[0].split(",")) == {
        '"Id"', '"FirstName"', '"HasOptedOutOfEmail"',
    }

    after = sf.Lead.get(lead_id(21))
    assert after["FirstName"] == "Bulk21" and after["HasOptedOutOfEmail"] is True
    assert after["SystemModstamp"] > before
    # An empty cell leaves the field as it was.
    assert sf.Lead.get(lead_id(22))["HasOptedOutOfEmail"] is False


def test_bulk2_query_pages_with_locators(sandbox):
    sf = sandbox.sf()
    pages = list(sf.bulk2.Lead.query(
        "SELECT Id, Email, HasOptedOutOfEmail, SystemModstamp FROM Lead ORDER BY Id",
        max_records=1_000, wait=0.1,
    ))
    assert len(pages) == 3
    rows = _rows(pages)
    assert len(rows) == 2_450 and len({r["Id"] for r in rows}) == 2_450
    assert rows[0]["HasOptedOutOfEmail"] in ("true", "false")
    assert rows[0]["SystemModstamp"].endswith("Z")
    assert pages[0].startswith('"Id","Email","HasOptedOutOfEmail","SystemModstamp"\n')

    everything = _rows(sf.bulk2.Lead.query_all("SELECT Id, IsDeleted FROM Lead", wait=0.1))
    assert len(everything) == 2_500
    assert sum(r["IsDeleted"] == "true" for r in everything) == 50


def test_a_503_burst_then_success(sandbox):
    control = sandbox.control
    control.reset_stats()
    control.fail_requests(503, count=2, source="crm_emea", path="/query", retry_after=1)
    sf = sandbox.sf()
    for _ in range(2):
        with pytest.raises(SalesforceGeneralError) as unavailable:
            sf.query("SELECT Id FROM Lead LIMIT 1")
        assert unavailable.value.status == 503
        assert unavailable.value.content[0]["errorCode"] == "SERVER_UNAVAILABLE"
    assert sf.query("SELECT Id FROM Lead LIMIT 1")["totalSize"] == 1
    assert control.stats()["crm_emea"]["query"] == 3
    assert control.faults()["request_faults"] == []


def test_request_limit_fault_carries_retry_after(sandbox):
    sandbox.control.fail_requests(403, source="crm_emea", path="/composite", retry_after=7)
    endpoint = sandbox.endpoint
    from aeglobal_pipeline.sandbox.process import token_for

    answer = endpoint.session().patch(
        f"{endpoint.url}/services/data/v62.0/composite/sobjects",
        headers={"Authorization": f"Bearer {token_for(sandbox.home, 'crm_emea')}"},
        json={"records": [{"attributes": {"type": "Lead"}, "id": lead_id(30), "LastName": "x"}]},
    )
    assert answer.status_code == 403
    assert answer.headers["Retry-After"] == "7"
    assert answer.json()[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    with pytest.raises(SalesforceRefusedRequest):
        sandbox.control.fail_requests(403, source="crm_emea")
        sandbox.sf().query("SELECT Id FROM Lead LIMIT 1")


def test_per_record_lock_error_then_retry_succeeds(sandbox):
    control = sandbox.control
    control.fail_record(lead_id(31), "UNABLE_TO_LOCK_ROW", times=1, source="crm_emea")
    control.fail_record(lead_id(32), "FIELD_CUSTOM_VALIDATION_EXCEPTION", times=3,
                        message="Region must match country", fields=["Country"])
    sf = sandbox.sf()
    payload = {"records": [
        {"attributes": {"type": "Lead"}, "id": lead_id(n), "LastName": f"Locked{n}"} for n in (31, 32, 33)
    ]}
    results = sf.restful("composite/sobjects", method="PATCH", json=payload)
    assert [r["success"] for r in results] == [False, False, True]
    assert results[0]["errors"][0]["statusCode"] == "UNABLE_TO_LOCK_ROW"
    assert results[1]["errors"][0] == {
        "statusCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION", "message": "Region must match country",
        "fields": ["Country"],
    }
    retry = sf.restful("composite/sobjects", method="PATCH", json=payload)
    assert [r["success"] for r in retry] == [True, False, True]

    # The last pending error of lead 32 hits the Bulk path, then the record is writable again.
    job = sf.bulk2.Lead.update(records=[{"Id": lead_id(32), "LastName": "Bulk32"}], wait=0.1)
    assert job[0]["numberRecordsFailed"] == 1
    failed = sf.bulk2.Lead.get_failed_records(job[0]["job_id"])
    assert "FIELD_CUSTOM_VALIDATION_EXCEPTION:Region must match country:Country" in failed
    assert sf.Lead.update(lead_id(32), {"LastName": "Finally"}) == 204


def test_latency_fault_delays_calls(sandbox):
    import time

    sandbox.control.add_latency(300, count=1, source="crm_emea", path="/query")
    started = time.perf_counter()
    sandbox.sf().query("SELECT Id FROM Lead LIMIT 1")
    assert time.perf_counter() - started >= 0.3
