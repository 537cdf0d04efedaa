"""`aeglobal run` on the estates a real rollout passes through: Salesforce orgs without any
Account Engagement unit, business units without a CRM, a unit with no prospects yet; and an
export carrying 15-character Salesforce ids, which must still link and be written back."""

from __future__ import annotations

import csv
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from snapshot_helpers import Sandbox, private_home

from aeglobal_pipeline.cli import main


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small generated estate (3 orgs, 2 business units) to cut shapes from."""
    with private_home(tmp_path_factory.mktemp("gen_home")) as home:
        out = home / "snap"
        result = CliRunner().invoke(
            main, ["sandbox", "generate", "--persons", "120", "--seed", "5", "--out", str(out)]
        )
        assert result.exit_code == 0, result.output
        return out


def _cut(generated: Path, target: Path, keep_kind: str | None) -> Path:
    """A copy of the estate with only the sources of `keep_kind` (all when None)."""
    shutil.copytree(generated, target)
    spec = yaml.safe_load((target / "sources.yaml").read_text())
    kept = []
    for source in spec["sources"]:
        if keep_kind and source["kind"] != keep_kind:
            shutil.rmtree(target / source["name"])
            continue
        if keep_kind:
            source.pop("connected_crm", None)
        kept.append(source)
    spec["sources"] = kept
    (target / "sources.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return target


def _read(path: Path) -> tuple[list[str], list[dict]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def _write(path: Path, header: list[str], rows: list[dict]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)


def _run(home: Path, snapshot: Path, *extra: str) -> str:
    load = CliRunner().invoke(main, ["sandbox", "load", str(snapshot)])
    assert load.exit_code == 0, load.output
    result = CliRunner().invoke(main, ["run", *extra])
    assert result.exit_code == 0, result.output
    return result.output


def _query(home: Path, sql: str, params: list | None = None) -> list[tuple]:
    import duckdb

    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def _sources_of(snapshot: Path) -> set[str]:
    return {s["name"] for s in yaml.safe_load((snapshot / "sources.yaml").read_text())["sources"]}


def test_business_units_without_a_crm_org_run_end_to_end(generated, tmp_path):
    snapshot = _cut(generated, tmp_path / "snap", "account_engagement")
    with private_home(tmp_path / "home") as home:
        _run(home, snapshot)
        mapped = {r[0] for r in _query(home, "select distinct source from identity.global_person_map")}
        assert mapped == _sources_of(snapshot) == {"ae_emea", "ae_na"}
        assert _query(home, "select count(*) from marts.golden_person")[0][0] > 0
        # No org has leads: the view exists, empty, and dbt staging read it without failing.
        assert _query(home, "select count(*) from raw.salesforce_leads")[0][0] == 0


def test_a_salesforce_only_estate_runs_and_business_units_added_later_join(generated, tmp_path):
    """Phase 3 of the rollout: orgs first, Account Engagement units added to sources.yaml later."""
    crm_only = _cut(generated, tmp_path / "crm_only", "salesforce")
    with private_home(tmp_path / "home") as home:
        _run(home, crm_only)
        mapped = {r[0] for r in _query(home, "select distinct source from identity.global_person_map")}
        assert mapped == _sources_of(crm_only) == {"crm_emea", "crm_na", "crm_apac"}
        assert _query(home, "select count(*) from raw.account_engagement_prospects")[0][0] == 0

        _run(home, _cut(generated, tmp_path / "everything", None))
        counts = dict(_query(home, "select source, count(*) from identity.global_person_map group by 1"))
        assert counts.get("ae_emea", 0) > 0 and counts.get("ae_na", 0) > 0
        linked = _query(home, "select count(*) from intermediate.int_person_records where "
                              "source = 'ae_emea' and coalesce(crm_lead_key, crm_contact_key) is not null")
        assert linked[0][0] > 0


@pytest.fixture(scope="module")
def fifteen_char_estate(generated, tmp_path_factory) -> Iterator[dict]:
    """The whole estate, with ae_na holding no prospects yet, and one EMEA lead exported (and
    linked from its prospect) by its 15-character id; the prospect has opted out, the lead not."""
    snapshot = _cut(generated, tmp_path_factory.mktemp("fifteen") / "snap", None)
    header, _ = _read(snapshot / "ae_na" / "Prospect.csv")
    _write(snapshot / "ae_na" / "Prospect.csv", header, [])
    p_header, prospects = _read(snapshot / "ae_emea" / "Prospect.csv")
    l_header, leads = _read(snapshot / "crm_emea" / "Lead.csv")
    by_id = {lead["Id"]: lead for lead in leads}
    prospect = next(p for p in prospects if p["salesforceLeadId"] in by_id
                    and p["isDeleted"] == "false" and by_id[p["salesforceLeadId"]]["IsDeleted"] != "true"
                    and by_id[p["salesforceLeadId"]].get("IsConverted") != "true")
    lead = by_id[prospect["salesforceLeadId"]]
    short = lead["Id"][:15]
    lead.update(Id=short, HasOptedOutOfEmail="false")
    prospect.update(salesforceLeadId=short, optedOut="true")
    _write(snapshot / "crm_emea" / "Lead.csv", l_header, leads)
    _write(snapshot / "ae_emea" / "Prospect.csv", p_header, prospects)
    with private_home(tmp_path_factory.mktemp("fifteen_home")) as home:
        output = _run(home, snapshot, "--apply")
        yield {"home": home, "short": short, "prospect": prospect["id"], "output": output}


def test_an_empty_business_unit_runs_and_keeps_an_empty_table(fifteen_char_estate):
    home = fifteen_char_estate["home"]
    assert _query(home, "select count(*) from raw.ae_na__prospect")[0][0] == 0
    assert _query(home, "select count(*) from raw.account_engagement_prospects where _source = 'ae_na'") \
        == [(0,)]


def test_a_fifteen_character_id_links_its_prospect_and_is_written_back(fifteen_char_estate):
    from aeglobal_pipeline.sources.ids import to_18

    home, short = fifteen_char_estate["home"], fifteen_char_estate["short"]
    full = to_18(short)
    lead_key, prospect_key = f"crm_emea:Lead:{full}", f"ae_emea:Prospect:{fifteen_char_estate['prospect']}"
    persons = dict(_query(home, "select record_key, global_person_id from identity.global_person_map "
                                "where record_key in (?, ?)", [lead_key, prospect_key]))
    assert set(persons) == {lead_key, prospect_key}
    assert persons[lead_key] == persons[prospect_key]
    # Linked by the connector's CRM id (normalised to 18 characters), not only by look-alike values.
    assert _query(home, "select crm_lead_key from intermediate.int_person_records where record_key = ?",
                  [prospect_key]) == [(lead_key,)]
    # The prospect's opt-out reached the lead, logged under the id Salesforce answers.
    logged = _query(home, "select record_id, new_value, status from writeback.changes_log where "
                          "source = 'crm_emea' and field = 'HasOptedOutOfEmail' and record_id in (?, ?)",
                    [short, full])
    assert logged and {r[0] for r in logged} == {full}
    assert {(r[1], r[2]) for r in logged} <= {("true", "applied"), ("true", "success")}, logged
    sf = Sandbox(home, home).sf("crm_emea")
    assert sf.Lead.get(short)["HasOptedOutOfEmail"] is True
