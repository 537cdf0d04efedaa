"""The project's API clients: connect_salesforce and the Account Engagement v5 client."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from snapshot_helpers import BUSINESS_UNIT

from aeglobal_pipeline.config import Source
from aeglobal_pipeline.sandbox.process import token_for
from aeglobal_pipeline.sources.account_engagement import (
    AccountEngagementClient,
    AccountEngagementError,
    connect_account_engagement,
)
from aeglobal_pipeline.sources.salesforce_client import SourceConnectionError, connect_salesforce

FIELDS = ["id", "email", "optedOut", "updatedAt", "isDeleted", "city"]


def test_ae_pages_follow_next_page_token(sandbox):
    client = sandbox.ae()
    pages = list(client.iter_prospect_pages(FIELDS, limit=4))
    assert [len(p) for p in pages] == [4, 4, 4, 4, 4, 3]  # 25 prospects, 2 deleted
    prospects = [p for page in pages for p in page]
    assert len({p["id"] for p in prospects}) == 23
    assert not any(p["isDeleted"] for p in prospects)
    keys = [(p["updatedAt"], p["id"]) for p in prospects]
    assert keys == sorted(keys)
    assert isinstance(prospects[0]["id"], int) and prospects[0]["city"] is None
    assert prospects[0]["updatedAt"].endswith("+00:00")

    everything = [p for page in client.iter_prospect_pages(FIELDS, deleted="all", limit=1000) for p in page]
    assert len(everything) == 25
    since = datetime(2026, 3, 4, 10, 20, tzinfo=UTC)
    recent = [p for page in client.iter_prospect_pages(FIELDS, updated_after=since, limit=2) for p in page]
    assert recent and all(p["updatedAt"] >= "2026-03-04T10:20:00+00:00" for p in recent)


def test_ae_token_accepts_only_fields_beside_it(sandbox):
    client = sandbox.ae()
    first = client._request("GET", "prospects", params={"fields": "id", "limit": 2})
    assert first["nextPageUrl"].endswith(first["nextPageToken"])
    with pytest.raises(AccountEngagementError) as refused:
        client._request("GET", "prospects", params={"nextPageToken": first["nextPageToken"], "limit": 5})
    assert refused.value.status == 400
    with pytest.raises(AccountEngagementError) as tampered:
        client._request("GET", "prospects", params={"nextPageToken": first["nextPageToken"] + "x"})
    assert tampered.value.code == 211


def test_ae_business_unit_header_is_required_and_must_match(sandbox):
    endpoint = sandbox.endpoint
    token = token_for(sandbox.home, "ae_emea")
    missing = endpoint.session().get(
        f"{endpoint.url}/api/v5/objects/prospects", params={"fields": "id"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert missing.status_code == 400 and missing.json()["code"] == 181
    wrong = AccountEngagementClient(endpoint.url, token, "0UvWRONG000000001", endpoint.session())
    with pytest.raises(AccountEngagementError) as mismatch:
        next(wrong.iter_prospect_pages(["id"]))
    assert mismatch.value.code == 201 and not mismatch.value.transient
    bad_token = AccountEngagementClient(endpoint.url, "nope", BUSINESS_UNIT, endpoint.session())
    with pytest.raises(AccountEngagementError) as unauthorized:
        bad_token.get_prospect(1001, ["id"])
    assert (unauthorized.value.status, unauthorized.value.code) == (401, 184)
    crm_token = AccountEngagementClient(endpoint.url, token_for(sandbox.home, "crm_emea"), BUSINESS_UNIT,
                                        endpoint.session())
    with pytest.raises(AccountEngagementError):
        crm_token.get_prospect(1001, ["id"])


def test_ae_get_and_update_prospect(sandbox):
    client = sandbox.ae()
    before = client.get_prospect(1003, ["id", "email", "optedOut", "updatedAt"])
    updated = client.update_prospect(1003, {"optedOut": True}, ["id", "optedOut", "updatedAt"])
    assert updated["optedOut"] is True and updated["updatedAt"] >= before["updatedAt"]
    assert client.get_prospect(1003, ["optedOut"]) == {"optedOut": True}
    with pytest.raises(AccountEngagementError) as read_only:
        client.update_prospect(1003, {"updatedAt": "2020-01-01T00:00:00+00:00"})
    assert read_only.value.code == 180
    with pytest.raises(AccountEngagementError) as deleted:
        client.update_prospect(1010, {"optedOut": True})
    assert deleted.value.code == 219
    with pytest.raises(AccountEngagementError) as missing:
        client.get_prospect(99999, ["id"])
    assert (missing.value.status, missing.value.code) == (404, 192)


def test_ae_faults_are_transient_errors(sandbox):
    control = sandbox.control
    control.fail_requests(429, count=1, source="ae_emea", retry_after=2)
    client = sandbox.ae()
    with pytest.raises(AccountEngagementError) as throttled:
        client.get_prospect(1001, ["id"])
    assert throttled.value.code == 66 and throttled.value.transient and throttled.value.retry_after == 2
    # A query sequence (extraction) waits the concurrency limit out itself, up to its attempts.
    client.throttle_seconds = 0.01
    control.fail_requests(429, count=2, source="ae_emea", path="/prospects", method="GET")
    assert len([p for page in client.iter_prospect_pages(["id"]) for p in page]) == 23
    client.throttle_attempts = 2
    control.fail_requests(429, count=2, source="ae_emea", path="/prospects", method="GET")
    with pytest.raises(AccountEngagementError) as exhausted:
        list(client.iter_prospect_pages(["id"]))
    assert exhausted.value.code == 66 and exhausted.value.transient
    control.fail_record(1002, "UNABLE_TO_LOCK_ROW", source="ae_emea")
    with pytest.raises(AccountEngagementError) as locked:
        client.update_prospect(1002, {"firstName": "Locked"})
    assert locked.value.code == 62 and locked.value.transient
    assert client.update_prospect(1002, {"firstName": "Unlocked"}, ["firstName"]) == {"firstName": "Unlocked"}
    stats = control.stats()["ae_emea"]
    assert stats["ae_get"] >= 1 and stats["ae_patch"] >= 2


def test_real_sources_need_their_environment_variables(monkeypatch):
    monkeypatch.delenv("EMEA_SF_TOKEN", raising=False)
    source = Source.model_validate({
        "name": "crm_real", "kind": "salesforce", "region": "EMEA", "legal_entity": "X",
        "connection": {"session_id_env": "EMEA_SF_TOKEN", "instance_url_env": "EMEA_SF_URL"},
    })
    monkeypatch.setenv("EMEA_SF_URL", "https://example.my.salesforce.com")
    with pytest.raises(SourceConnectionError, match=r"crm_real.*EMEA_SF_TOKEN"):
        connect_salesforce(source)
    monkeypatch.setenv("EMEA_SF_TOKEN", "00Dxx!secret")
    sf = connect_salesforce(source)
    assert sf.sf_instance == "example.my.salesforce.com"

    unit = Source.model_validate({
        "name": "ae_real", "kind": "account_engagement", "region": "EMEA", "legal_entity": "X",
        "business_unit_id": BUSINESS_UNIT, "connection": {"access_token_env": "AE_TOKEN"},
    })
    monkeypatch.delenv("AE_TOKEN", raising=False)
    with pytest.raises(SourceConnectionError, match=r"ae_real.*AE_TOKEN"):
        connect_account_engagement(unit)
    monkeypatch.setenv("AE_TOKEN", "secret-token")
    assert "secret-token" not in repr(connect_account_engagement(unit))
