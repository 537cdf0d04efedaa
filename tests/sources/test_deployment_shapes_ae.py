"""`aeglobal run` on business units without a CRM org; and on an estate whose export carries a
15-character Salesforce id (linked from its prospect) and a business unit with no prospects yet:
`aeglobal run --apply` links, writes back and keeps the empty unit's table."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from shape_helpers import cut, generate_estate, load_and_run, query, read_csv, sources_of, write_csv
from snapshot_helpers import Sandbox, private_home


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_estate(tmp_path_factory)


def test_business_units_without_a_crm_org_run_end_to_end(generated, tmp_path):
    snapshot = cut(generated, tmp_path / "snap", "account_engagement")
    with private_home(tmp_path / "home") as home:
        load_and_run(home, snapshot)
        mapped = {r[0] for r in query(home, "select distinct source from identity.global_person_map")}
        assert mapped == sources_of(snapshot) == {"ae_emea", "ae_na"}
        assert query(home, "select count(*) from marts.golden_person")[0][0] > 0
        # No org has leads: the view exists, empty, and dbt staging read it without failing.
        assert query(home, "select count(*) from raw.salesforce_leads")[0][0] == 0


@pytest.fixture(scope="module")
def fifteen_char_estate(generated, tmp_path_factory) -> Iterator[dict]:
    """The whole estate, with ae_na holding no prospects yet, and one EMEA lead exported (and
    linked from its prospect) by its 15-character id; the prospect has opted out, the lead not."""
    snapshot = cut(generated, tmp_path_factory.mktemp("fifteen") / "snap", None)
    header, _ = read_csv(snapshot / "ae_na" / "Prospect.csv")
    write_csv(snapshot / "ae_na" / "Prospect.csv", header, [])
    p_header, prospects = read_csv(snapshot / "ae_emea" / "Prospect.csv")
    l_header, leads = read_csv(snapshot / "crm_emea" / "Lead.csv")
    by_id = {lead["Id"]: lead for lead in leads}
    prospect = next(p for p in prospects if p["salesforceLeadId"] in by_id
                    and p["isDeleted"] == "false" and by_id[p["salesforceLeadId"]]["IsDeleted"] != "true"
                    and by_id[p["salesforceLeadId"]].get("IsConverted") != "true")
    lead = by_id[prospect["salesforceLeadId"]]
    short = lead["Id"][:15]
    lead.update(Id=short, HasOptedOutOfEmail="false")
    prospect.update(salesforceLeadId=short, optedOut="true")
    write_csv(snapshot / "crm_emea" / "Lead.csv", l_header, leads)
    write_csv(snapshot / "ae_emea" / "Prospect.csv", p_header, prospects)
    with private_home(tmp_path_factory.mktemp("fifteen_home")) as home:
        # A unit with no prospects yet is loaded on purpose (the loader refuses it by default).
        output = load_and_run(home, snapshot, "--apply", allow_empty=("ae_na/Prospect",))
        yield {"home": home, "short": short, "prospect": prospect["id"], "output": output}


def test_an_empty_business_unit_runs_and_keeps_an_empty_table(fifteen_char_estate):
    home = fifteen_char_estate["home"]
    assert query(home, "select count(*) from raw.ae_na__prospect")[0][0] == 0
    assert query(home, "select count(*) from raw.account_engagement_prospects where _source = 'ae_na'") \
        == [(0,)]


def test_a_fifteen_character_id_links_its_prospect_and_is_written_back(fifteen_char_estate):
    from aeglobal_pipeline.sources.ids import to_18

    home, short = fifteen_char_estate["home"], fifteen_char_estate["short"]
    full = to_18(short)
    lead_key, prospect_key = f"crm_emea:Lead:{full}", f"ae_emea:Prospect:{fifteen_char_estate['prospect']}"
    persons = dict(query(home, "select record_key, global_person_id from identity.global_person_map "
                                "where record_key in (?, ?)", [lead_key, prospect_key]))
    assert set(persons) == {lead_key, prospect_key}
    assert persons[lead_key] == persons[prospect_key]
    # Linked by the connector's CRM id (normalised to 18 characters), not only by look-alike values.
    assert query(home, "select crm_lead_key from intermediate.int_person_records where record_key = ?",
                  [prospect_key]) == [(lead_key,)]
    # The prospect's opt-out reached the lead, logged under the id Salesforce answers.
    logged = query(home, "select record_id, new_value, status from writeback.changes_log where "
                          "source = 'crm_emea' and field = 'HasOptedOutOfEmail' and record_id in (?, ?)",
                    [short, full])
    assert logged and {r[0] for r in logged} == {full}
    assert {(r[1], r[2]) for r in logged} <= {("true", "applied"), ("true", "success")}, logged
    sf = Sandbox(home, home).sf("crm_emea")
    assert sf.Lead.get(short)["HasOptedOutOfEmail"] is True
