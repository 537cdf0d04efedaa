"""The real services' limits, enforced by the sandbox and handled by the extract clients.

Each test sets a source's limits small (see sandbox/limits.py), runs the real client against the
sandbox and checks what ended in the warehouse (or in the sandbox)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import dagster as dg
import pytest
from simple_salesforce import format_soql
from snapshot_helpers import DEFAULT_SOURCES, lead_id, make_leads, serving, write_snapshot

from aeglobal_pipeline.config import load_sources
from aeglobal_pipeline.sources.account_engagement import AccountEngagementError
from aeglobal_pipeline.sources.extract import (
    PROSPECT_FIELDS,
    extract_prospects,
    extract_salesforce_object,
    queryable_fields,
)
from aeglobal_pipeline.sources.limits import is_daily_limit
from aeglobal_pipeline.warehouse import connect

SHARED_STAMP = "2026-03-04T11:00:00+00:00"
SHORT_ID = "00Q00000000ZzAb"  # 15 characters; Salesforce's 18-character form ends in "EAK"


def _prospects() -> list[dict]:
    """40 prospects, 15 of them sharing one updatedAt (more than a capped sequence holds)."""
    rows = []
    for n in range(1, 41):
        stamp = SHARED_STAMP if 10 <= n < 25 else f"2026-03-04T10:{n:02d}:00+00:00"
        rows.append({"id": 1000 + n, "email": f"p{n}@example.com", "firstName": f"P{n}",
                     "isDeleted": "true" if n % 13 == 0 else "false", "updatedAt": stamp,
                     "salesforceLeadId": SHORT_ID if n == 1 else ""})
    return rows


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    home = tmp_path_factory.mktemp("limits_home")
    # Managed packages add hundreds of fields: the incremental GET gets long, the rest stays short.
    package_fields = {f"pi__Package_Field_{i:03d}__c": "" for i in range(150)}
    leads = [{**lead, **package_fields} for lead in make_leads(60)]
    leads.append({"Id": SHORT_ID, "FirstName": "Fifteen", "LastName": "Chars",
                  "Email": "p1@example.com", "Country": "DE",
                  "SystemModstamp": "2026-03-04T10:30:00.000+0000"})
    snapshot = write_snapshot(tmp_path_factory.mktemp("limits_snapshot"), {
        "crm_emea": {"Lead": leads},
        "crm_na": {"Lead": make_leads(7)},
        "ae_emea": {"Prospect": _prospects()},
    }, DEFAULT_SOURCES)
    with serving(home, snapshot) as running:
        yield running


def _rows(sql: str, params: list | None = None) -> list[tuple]:
    with connect(read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def _extract_leads(estate, run_id: str, source=None):
    source = source or load_sources().by_name("crm_emea")
    return extract_salesforce_object(estate.sf("crm_emea"), source, "Lead", run_id,
                                     log=lambda _: None, bulk_poll_seconds=0.05)


def test_a_capped_token_sequence_restarts_and_reads_every_prospect(estate):
    estate.control.set_limits("ae_emea", ae_sequence_cap=6)
    client = estate.ae()
    try:
        result = extract_prospects(client, load_sources().by_name("ae_emea"), "cap-1",
                                   log=lambda _: None)
    finally:
        estate.control.set_limits("ae_emea", ae_sequence_cap=100_000)
    # 40 prospects through sequences of at most 6; 15 share a stamp, so they are read by id.
    assert client.capped_sequences >= 6
    assert result.total_rows == 40 and result.new + result.deleted == 40
    ids = {int(r[0]) for r in _rows("select id from raw.ae_emea__prospect")}
    assert ids == set(range(1001, 1041))
    assert _rows("select count(*) from raw.ae_emea__prospect where _is_deleted")[0][0] == 3


def test_the_sandbox_refuses_unknown_query_parameters(estate):
    from aeglobal_pipeline.sandbox.process import token_for

    session = estate.endpoint.session()
    headers = {"Authorization": f"Bearer {token_for(estate.home, 'ae_emea')}",
               "Pardot-Business-Unit-Id": "0UvEMEA0000000001"}
    response = session.get(f"{estate.endpoint.url}/api/v5/objects/prospects", headers=headers,
                           params={"fields": "id", "updatedAtAfterOrEqual": "2026-01-01T00:00:00Z"})
    assert response.status_code == 400
    assert response.json()["code"] == 5 and "updatedAtAfterOrEqual" in response.json()["message"]


def test_an_incremental_query_past_the_uri_limit_goes_through_bulk(estate):
    first = _extract_leads(estate, "uri-1")
    assert first.mode == "bulk_initial"
    sf = estate.sf("crm_emea")
    sf.Lead.update(lead_id(7), {"FirstName": "Edited"})
    # The org's front end refuses the REST GET the incremental read would send.
    select = f"SELECT {', '.join(queryable_fields(sf, 'Lead'))} FROM Lead"  # noqa: S608 - describe names
    url = f"{sf.base_url}queryAll/?q={quote(select, safe='')}"
    assert len(url) > 4_000
    estate.control.set_limits("crm_emea", sf_max_request_bytes=3_000)
    try:
        refused = estate.endpoint.session().get(
            url, headers={"Authorization": f"Bearer {sf.session_id}"})
        assert refused.status_code == 414
        second = _extract_leads(estate, "uri-2")
    finally:
        estate.control.set_limits("crm_emea", sf_max_request_bytes=16_384)
    assert (second.mode, second.updated, second.new) == ("incremental_bulk", 1, 0)
    assert _rows("select FirstName from raw.crm_emea__lead where Id = ?", [lead_id(7)]) == [("Edited",)]


def test_a_late_visible_record_is_read_by_the_lookback(estate):
    _extract_leads(estate, "late-0")
    sf = estate.sf("crm_emea")
    sf.Lead.update(lead_id(8), {"FirstName": "Newest"})
    assert _extract_leads(estate, "late-1").updated == 1
    # Committed a minute before the newest stamp already read: `>= mark` alone never sees it.
    late = estate.control.commit_late_record("crm_emea", "Lead", lead_id(9), {"FirstName": "Late"})
    assert late["modstamp"] < late["newest"]
    no_lookback = load_sources().by_name("crm_emea").model_copy(update={"lookback_seconds": 0})
    assert _extract_leads(estate, "late-2", no_lookback).updated == 0
    assert _rows("select FirstName from raw.crm_emea__lead where Id = ?", [lead_id(9)]) != [("Late",)]
    picked = _extract_leads(estate, "late-3")  # default lookback: 300 s
    assert picked.updated == 1
    assert _rows("select FirstName from raw.crm_emea__lead where Id = ?", [lead_id(9)]) == [("Late",)]


def test_fifteen_character_ids_are_accepted_and_answered_as_eighteen(estate):
    from aeglobal_pipeline.sources.ids import to_18

    sf = estate.sf("crm_emea")
    full = to_18(SHORT_ID)
    assert full == SHORT_ID + "EAK"
    assert to_18("001D000000IqhSL") == "001D000000IqhSLIAZ"  # the example in Salesforce's docs
    assert sf.Lead.get(SHORT_ID)["Id"] == full
    found = sf.query(format_soql("SELECT Id FROM Lead WHERE Id = {}", SHORT_ID))["records"]
    assert [r["Id"] for r in found] == [full]
    results = sf.restful("composite/sobjects", method="PATCH", json={"allOrNone": False, "records": [
        {"attributes": {"type": "Lead"}, "id": SHORT_ID, "FirstName": "Checked"}]})
    assert results[0]["id"] == full and results[0]["success"]
    assert sf.Lead.get(full)["FirstName"] == "Checked"


def test_a_daily_limit_stops_the_source_without_retries_and_the_next_run_resumes(estate):
    from aeglobal_pipeline.sources.assets import build_extract_asset
    from aeglobal_pipeline.sources.resources import SourceSystems

    source = load_sources().by_name("crm_na")
    asset = build_extract_asset(source, "Lead")
    estate.control.set_limits("crm_na", sf_daily_requests=0, reset_calls=True)
    estate.control.reset_stats()
    stopped = dg.materialize([asset], resources={"source_systems": SourceSystems()})
    assert stopped.success
    metadata = stopped.asset_materializations_for_node(asset.op.name)[0].metadata
    assert metadata["mode"].value == "stopped" and "crm_na.Lead" in metadata["stopped"].value
    assert "REQUEST_LIMIT_EXCEEDED" in metadata["stopped"].value
    # One refused call, no retry; nothing extracted and no high-water mark recorded.
    assert estate.control.stats()["crm_na"] == {"refused_daily_limit": 1}
    assert _rows("select count(*) from raw.crm_na__lead")[0][0] == 0
    assert _rows("select count(*) from raw._extract_state where source = 'crm_na'")[0][0] == 0
    # The next day: the allowance is back and the run resumes from the kept state.
    estate.control.set_limits("crm_na", sf_daily_requests=100_000, reset_calls=True)
    resumed = dg.materialize([asset], resources={"source_systems": SourceSystems()})
    assert resumed.success
    assert _rows("select count(*) from raw.crm_na__lead")[0][0] == 7

    # Account Engagement's code 122 is classified the same way and not retried by the client.
    estate.control.set_limits("ae_emea", ae_daily_calls=0, reset_calls=True)
    try:
        with pytest.raises(AccountEngagementError) as spent:
            list(estate.ae().iter_prospect_pages(list(PROSPECT_FIELDS)))
    finally:
        estate.control.set_limits("ae_emea", ae_daily_calls=100_000, reset_calls=True)
    assert spent.value.code == 122 and is_daily_limit(spent.value) and not spent.value.transient
    assert estate.control.stats()["ae_emea"] == {"refused_daily_limit": 1}


def test_an_expired_token_is_refreshed_where_the_connection_can_and_fails_fast_where_not(
        estate, monkeypatch):
    from aeglobal_pipeline.sandbox.credentials import read_tokens
    from aeglobal_pipeline.sources.assets import build_extract_asset
    from aeglobal_pipeline.sources.resources import SourceSystems
    from aeglobal_pipeline.sources.salesforce_client import connect_salesforce

    plain = load_sources().by_name("crm_na")
    refreshable = plain.model_copy(update={"connection": plain.connection.model_copy(update={
        "refresh_token_env": "CRM_NA_REFRESH_TOKEN", "client_id_env": "CRM_NA_CLIENT_ID"})})
    monkeypatch.setenv("CRM_NA_REFRESH_TOKEN", read_tokens(estate.home)["refresh"]["crm_na"])
    monkeypatch.setenv("CRM_NA_CLIENT_ID", "aeglobal-connected-app")
    sf = connect_salesforce(refreshable)
    assert sf.Lead.get(lead_id(1))["Id"] == lead_id(1)
    estate.control.expire_tokens("crm_na")  # the session times out mid-run

    result = extract_salesforce_object(sf, refreshable, "Lead", "token-1", log=lambda _: None,
                                       bulk_poll_seconds=0.05, full_refresh=True)
    # Every lead read again through the renewed session (unchanged, so the merge kept them).
    assert sf.session.refreshes == 1 and (result.fetched, result.total_rows) == (7, 7)

    # Without a refresh path the step fails at once, naming the source and what to configure.
    asset = build_extract_asset(plain, "Lead")
    failed = dg.materialize([asset], resources={"source_systems": SourceSystems()},
                            raise_on_error=False)
    assert not failed.success
    [failure] = [e for e in failed.all_events if e.is_step_failure]
    message = failure.step_failure_data.error.message
    assert "'crm_na'" in message and "refresh_token_env" in message and "HTTP 401" in message
    assert not [e for e in failed.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]


def test_ae_concurrency_limit_is_enforced_and_waited_out(estate):
    from concurrent.futures import ThreadPoolExecutor

    estate.control.set_limits("ae_emea", ae_concurrent=1)
    estate.control.reset_stats()
    estate.control.add_latency(300, count=1, source="ae_emea")  # the first call holds the only slot
    client = estate.ae()
    client.throttle_seconds = 0.05
    try:
        with ThreadPoolExecutor(4) as pool:
            found = list(pool.map(lambda _: sum(len(page) for page in client.iter_prospect_pages(["id"])),
                                  range(4)))
    finally:
        estate.control.set_limits("ae_emea", ae_concurrent=5)
    assert found == [37] * 4  # every extract read all live prospects
    stats = estate.control.stats()["ae_emea"]
    assert stats["refused_concurrency"] >= 1 and stats["ae_query"] == 4


def test_limits_and_the_usage_header_report_what_is_left(estate):
    sf = estate.sf("crm_emea")
    estate.control.set_limits("crm_emea", sf_daily_requests=5_000, reset_calls=True)
    try:
        response = estate.endpoint.session().get(
            f"{sf.base_url}limits/", headers={"Authorization": f"Bearer {sf.session_id}"})
    finally:
        estate.control.set_limits("crm_emea", sf_daily_requests=100_000)
    assert response.json()["DailyApiRequests"] == {"Max": 5_000, "Remaining": 4_999}
    assert response.headers["Sforce-Limit-Info"] == "api-usage=1/5000"


def test_a_query_longer_than_the_documented_limit_is_never_sent_as_a_get():
    from simple_salesforce import Salesforce

    from aeglobal_pipeline.sources.extract import rest_query_too_long

    sf = Salesforce(instance_url="https://northwind.my.salesforce.com", session_id="00Dx!unused")
    fields = ", ".join(f"pi__Managed_Package_Field_{i:03d}__c" for i in range(600))
    assert rest_query_too_long(sf, f"SELECT Id, {fields} FROM Lead")  # noqa: S608 - constant names
    assert not rest_query_too_long(sf, "SELECT Id, FirstName, LastName FROM Lead")
