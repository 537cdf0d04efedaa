"""Salesforce REST against the sandbox, driven through the real simple-salesforce over HTTPS."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests
from simple_salesforce import Salesforce, format_soql
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceResourceNotFound,
)
from snapshot_helpers import lead_id


def test_query_all_iter_pages_through_more_than_2000_records(sandbox):
    sf = sandbox.sf()
    first = sf.query("SELECT Id FROM Lead ORDER BY SystemModstamp, Id")
    assert len(first["records"]) == 2_000
    assert first["done"] is False
    assert first["nextRecordsUrl"].startswith("/services/data/v62.0/query/01g")
    assert first["totalSize"] == 2_450  # 2,500 leads, every 50th deleted

    records = list(sf.query_all_iter("SELECT Id, SystemModstamp FROM Lead ORDER BY SystemModstamp, Id"))
    assert len(records) == 2_450
    assert len({r["Id"] for r in records}) == 2_450
    keys = [(r["SystemModstamp"], r["Id"]) for r in records]
    assert keys == sorted(keys)
    assert records[0]["attributes"] == {
        "type": "Lead", "url": f"/services/data/v62.0/sobjects/Lead/{records[0]['Id']}",
    }


def test_query_all_returns_deleted_rows_and_query_does_not(sandbox):
    sf = sandbox.sf()
    live = list(sf.query_all_iter("SELECT Id, IsDeleted FROM Lead"))
    everything = list(sf.query_all_iter("SELECT Id, IsDeleted FROM Lead", include_deleted=True))
    assert not any(r["IsDeleted"] for r in live)
    deleted = [r["Id"] for r in everything if r["IsDeleted"] is True]
    assert len(deleted) == 50
    assert lead_id(50) in deleted
    assert len(everything) == 2_500


def test_where_filters_typed_literals_and_orders(sandbox):
    sf = sandbox.sf()
    since = datetime(2026, 3, 4, 19, 58, tzinfo=UTC)
    recent = sf.query_all(format_soql(
        "SELECT Id, SystemModstamp FROM Lead WHERE SystemModstamp >= {} ORDER BY SystemModstamp, Id",
        since,
    ))["records"]
    assert recent and all(r["SystemModstamp"] >= "2026-03-04T19:58:00.000+0000" for r in recent)
    assert len(recent) == 8  # minutes 598 and 599 of the 600-minute cycle, 4 leads each

    picked = sf.query(format_soql(
        "SELECT Id, Email FROM Lead WHERE Id IN {} AND (Email = {} OR HasOptedOutOfEmail = true)",
        [lead_id(1), lead_id(2), lead_id(5)], "PERSON1@example.com",
    ))["records"]
    assert sorted(r["Id"] for r in picked) == [lead_id(1), lead_id(5)]  # Email match ignores case

    ordered = sf.query(
        "SELECT Id, LastName FROM Lead WHERE LastName != null ORDER BY LastName DESC, Id LIMIT 3"
    )
    assert [r["LastName"] for r in ordered["records"]] == ["Last96"] * 3
    assert ordered["totalSize"] == 3

    quoted = sf.query(format_soql("SELECT Id FROM Lead WHERE LastName = {}", "O'Brien\\x"))
    assert quoted["totalSize"] == 0


def test_query_errors_use_salesforce_error_codes(sandbox):
    sf = sandbox.sf()
    with pytest.raises(SalesforceMalformedRequest) as malformed:
        sf.query("SELECT Id FROM Lead WHERE")
    assert malformed.value.content[0]["errorCode"] == "MALFORMED_QUERY"
    with pytest.raises(SalesforceMalformedRequest) as unknown:
        sf.query("SELECT Id, Bogus__c FROM Lead")
    assert unknown.value.content[0]["errorCode"] == "INVALID_FIELD"
    assert unknown.value.content[0]["fields"] == ["Bogus__c"]
    with pytest.raises(SalesforceMalformedRequest) as wrong_type:
        sf.query("SELECT Id FROM Lead WHERE SystemModstamp > '2026-01-01'")
    assert wrong_type.value.content[0]["errorCode"] == "MALFORMED_QUERY"


def test_describe_infers_field_types(sandbox):
    fields = {f["name"]: f for f in sandbox.sf().Lead.describe()["fields"]}
    assert fields["Id"]["type"] == "id"
    assert fields["HasOptedOutOfEmail"]["type"] == "boolean"
    assert fields["SystemModstamp"]["type"] == "datetime"
    assert fields["SystemModstamp"]["updateable"] is False
    assert fields["Region__c"]["custom"] is True and fields["Email"]["custom"] is False
    assert fields["Email"]["updateable"] is True


def test_single_patch_bumps_modstamp_and_reports_errors(sandbox):
    sf = sandbox.sf()
    before = sf.Lead.get(lead_id(7))
    assert sf.Lead.update(lead_id(7), {"Email": "new7@example.com", "HasOptedOutOfEmail": True}) == 204
    after = sf.Lead.get(lead_id(7))
    assert after["Email"] == "new7@example.com" and after["HasOptedOutOfEmail"] is True
    assert after["SystemModstamp"] > before["SystemModstamp"]
    assert after["LastModifiedDate"] == after["SystemModstamp"]
    sf.Lead.update(lead_id(7), {"FirstName": "Seven"})
    assert sf.Lead.get(lead_id(7))["SystemModstamp"] > after["SystemModstamp"]

    cases = [
        (lead_id(7), {"Bogus": 1}, SalesforceMalformedRequest, "INVALID_FIELD"),
        (lead_id(7), {"SystemModstamp": "x"}, SalesforceMalformedRequest, "INVALID_FIELD_FOR_INSERT_UPDATE"),
        (lead_id(50), {"Email": "x@y.z"}, SalesforceResourceNotFound, "ENTITY_IS_DELETED"),
        ("00Q999999999999AAA", {"Email": "x@y.z"}, SalesforceResourceNotFound, "NOT_FOUND"),
    ]
    for record_id, changes, error, code in cases:
        with pytest.raises(error) as raised:
            sf.Lead.update(record_id, changes)
        assert raised.value.content[0]["errorCode"] == code


def test_composite_update_reports_each_record_in_order(sandbox):
    sf = sandbox.sf()
    records = [
        {"attributes": {"type": "Lead"}, "id": lead_id(11), "LastName": "Eleven"},
        {"attributes": {"type": "Lead"}, "id": lead_id(100), "LastName": "Deleted"},
        {"attributes": {"type": "Lead"}, "id": lead_id(12), "CreatedDate": "2026-01-01T00:00:00Z"},
        {"attributes": {"type": "Contact"}, "id": "003000000000001AAA", "Email": "carla@new.example"},
    ]
    results = sf.restful("composite/sobjects", method="PATCH", json={"allOrNone": False, "records": records})
    assert [r["success"] for r in results] == [True, False, False, True]
    assert results[1]["errors"][0]["statusCode"] == "ENTITY_IS_DELETED"
    assert results[2]["errors"][0]["statusCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    assert sf.Lead.get(lead_id(11))["LastName"] == "Eleven"
    assert sf.Contact.get("003000000000001AAA")["Email"] == "carla@new.example"


def test_composite_all_or_none_rolls_back_everything(sandbox):
    sf = sandbox.sf()
    records = [
        {"attributes": {"type": "Lead"}, "id": lead_id(13), "LastName": "Thirteen"},
        {"attributes": {"type": "Lead"}, "id": lead_id(14), "Bogus": "x"},
    ]
    results = sf.restful("composite/sobjects", method="PATCH", json={"allOrNone": True, "records": records})
    assert results[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert results[1]["errors"][0]["statusCode"] == "INVALID_FIELD"
    assert sf.Lead.get(lead_id(13))["LastName"] != "Thirteen"

    too_many = [{"attributes": {"type": "Lead"}, "id": lead_id(n), "LastName": "x"} for n in range(1, 202)]
    with pytest.raises(SalesforceMalformedRequest):
        sf.restful("composite/sobjects", method="PATCH", json={"records": too_many})


def test_bad_or_foreign_token_is_refused(sandbox):
    endpoint = sandbox.endpoint
    sf = Salesforce(instance_url=endpoint.url, session_id="00Dbogus!token", session=endpoint.session())
    with pytest.raises(SalesforceExpiredSession) as refused:
        sf.query("SELECT Id FROM Lead")
    assert refused.value.content[0]["errorCode"] == "INVALID_SESSION_ID"

    answer = endpoint.session().get(
        f"{endpoint.url}/services/data/v62.0/query", params={"q": "SELECT Id FROM Lead"}
    )
    assert answer.status_code == 401
    assert answer.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]

    # A token selects its org: crm_na sees its own single lead only.
    na_leads = sandbox.sf("crm_na").query("SELECT Id FROM Lead")["records"]
    assert [r["Id"] for r in na_leads] == ["00Q900000000001AAA"]


def test_tls_is_verified_against_the_sandbox_ca(sandbox):
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{sandbox.endpoint.url}/__sandbox/ping", timeout=5)
    assert sandbox.endpoint.session().get(f"{sandbox.endpoint.url}/__sandbox/ping").json()["ok"] is True


def test_limit_info_header_counts_api_usage(sandbox):
    sf = sandbox.sf()
    sf.query("SELECT Id FROM Lead LIMIT 1")
    used = sf.api_usage["api-usage"].used
    sf.query("SELECT Id FROM Lead LIMIT 1")
    assert sf.api_usage["api-usage"].used == used + 1
    assert sf.api_usage["api-usage"].total == 100_000
