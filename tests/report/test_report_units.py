"""Steward report queries, ranking, caps, CSV and HTML on a small hand-built warehouse."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import dagster as dg
import pytest
from report_helpers import EMEA, NA, add_field_conflicts, build_warehouse

from aeglobal_pipeline.identity.links import comparison_levels
from aeglobal_pipeline.report import write_report
from aeglobal_pipeline.report.render import summary_markdown
from aeglobal_pipeline.report.sections import ITEMS_PER_ENTITY, readable_evidence

SECTIONS = ("uncertain_matches", "large_clusters", "field_conflicts", "consent_disagreements",
            "governance_findings", "writeback_rejects")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AEGLOBAL_HOME", str(tmp_path))
    return tmp_path


def _sections(files) -> dict:
    return {section.key: section for section in files.sections}


def _item_rows(html: str, section: str) -> int:
    return len(re.findall(rf'class="item" data-section="{section}"', html))


def _csv_rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_every_section_reads_its_items_in_impact_order(home):
    build_warehouse(home)
    files = write_report()
    sections = _sections(files)
    assert [s.key for s in files.sections] == list(SECTIONS)
    assert {key: s.total for key, s in sections.items()} == {
        "uncertain_matches": 1, "large_clusters": 1, "field_conflicts": 2,
        "consent_disagreements": 2, "governance_findings": 3, "writeback_rejects": 3,
    }
    [pair] = sections["uncertain_matches"].shown
    assert (pair["a"]["name"], pair["b"]["name"]) == ("Anna Schmidt", "Ann Smith")
    assert pair["regions"] == ["EMEA", "NA"] and pair["legal_entities"] == [EMEA, NA]
    assert pair["records_affected"] == 5 and not pair["linked"]
    # Kept apart, so "same person" is the first decision offered.
    assert [label for label, _ in pair["commands"]] == ["same person", "different people"]
    # The CSV files hold the same items, in the same order, with the same commands.
    for key, section in sections.items():
        assert len(_csv_rows(files.csv[key])) == section.total, key
    [pair_row] = _csv_rows(files.csv["uncertain_matches"])
    assert [pair_row["must_link_command"], pair_row["cannot_link_command"]] == [
        command for _, command in pair["commands"]]
    assert pair_row["currently"] == "kept apart" and pair_row["records_affected"] == "5"
    assert pair_row["evidence"] == "name: level 6 (+5.10); email: level 0 (-2.25)"
    [cluster_row] = _csv_rows(files.csv["large_clusters"])
    assert cluster_row["at_size_limit"] == "True"
    assert cluster_row["record_keys"].split(" | ") == sorted(
        ["crm_emea:Lead:L1", "ae_emea:Prospect:P1", "crm_emea:Contact:C1", "crm_emea:Contact:C2"])
    # Times as Python prints them (in the session's time zone), as the Python CSV writer did.
    at = next(i["at"] for i in sections["writeback_rejects"].shown)
    assert {r["at"] for r in _csv_rows(files.csv["writeback_rejects"])} == {str(at)}

    [cluster] = sections["large_clusters"].shown
    assert cluster["records"] == 4 and cluster["at_limit"]
    # The weakest accepted link inside the cluster is where a cannot-link cuts.
    assert "crm_emea:Contact:C1 crm_emea:Contact:C2" in cluster["commands"][0][1]

    # Names before phones; a possible re-subscription before a plain consent disagreement.
    assert [i["field"] for i in sections["field_conflicts"].shown] == ["given_name", "phone"]
    assert sections["field_conflicts"].shown[1]["commands"] == []  # phones differ for one person
    assert [i["field"] for i in sections["consent_disagreements"].shown] == ["phone_opt_out", "email_opt_out"]
    # Unmapped statuses first, then undeclared fields by records.
    assert [(i["finding_type"], i["record_count"]) for i in sections["governance_findings"].shown] == [
        ("unmapped_status", 3), ("undeclared_field", 40), ("undeclared_field", 10)]
    assert "lifecycle.yaml (status_map.NA.Lead)" in sections["governance_findings"].shown[0]["action"]

    # Only the latest applied run's rejected and failed writes; the dry run after it is no apply.
    rejects = sections["writeback_rejects"]
    assert {(i["run_id"], i["record_id"], i["status"]) for i in rejects.shown} == {
        ("wb-last", "N1", "rejected"), ("wb-last", "N2", "rejected"), ("wb-last", "N3", "failed")}
    assert rejects.shown[0]["error"].startswith("FIELD_CUSTOM_VALIDATION_EXCEPTION")
    assert "wb-last" in rejects.note


def test_missing_tables_are_reported_per_section_not_raised(home):
    build_warehouse(home, identity=False, marts=False, writeback=False)
    files = write_report()
    sections = _sections(files)
    assert all(s.missing and s.total == 0 and not s.shown for s in files.sections)
    assert "identity.person_links" in sections["uncertain_matches"].missing
    assert "writeback.changes_log" in sections["writeback_rejects"].missing
    html = files.html.read_text(encoding="utf-8")
    assert html.count("Nothing to show:") == len(SECTIONS)
    for path in files.csv.values():  # headers only, so links in the page still open
        assert path.exists() and _csv_rows(path) == []


def test_a_dry_run_alone_leaves_the_rejects_section_explaining_why(home):
    path = build_warehouse(home)
    import duckdb

    with duckdb.connect(str(path)) as con:
        con.execute("DELETE FROM writeback.runs WHERE kind = 'apply'")
    section = _sections(write_report())["writeback_rejects"]
    assert section.shown == [] and section.total == 0 and "no applied write-back yet" in section.missing


def test_pairs_already_decided_ask_for_no_second_decision(home, tmp_path_factory, monkeypatch):
    rules = tmp_path_factory.mktemp("rules")
    (rules / "steward_decisions.yaml").write_text(
        "decisions:\n"
        "  - {decision: cannot_link, records: [crm_na:Lead:N1, crm_emea:Lead:L1], by: jane,"
        " at: 2026-11-01, why: different people}\n"
        "  - {decision: cannot_link, records: [crm_emea:Lead:L1, ae_emea:Prospect:P1], by: jane,"
        " at: 2026-11-01, why: different people}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("AEGLOBAL_RULES", str(rules))
    build_warehouse(home)
    files = write_report()
    sections = _sections(files)
    assert sections["uncertain_matches"].shown == [] and sections["uncertain_matches"].total == 0
    assert _csv_rows(files.csv["uncertain_matches"]) == []
    assert "Left out: 1 already decided" in sections["uncertain_matches"].note
    given_name = next(i for i in sections["field_conflicts"].shown if i["field"] == "given_name")
    assert given_name["commands"] == [("already decided: cannot-link in steward_decisions.yaml", "")]
    [row] = [r for r in _csv_rows(files.csv["field_conflicts"]) if r["field"] == "given_name"]
    assert row["cannot_link_command"] == ""


def test_ten_thousand_conflicts_are_capped_per_legal_entity_and_all_kept_in_the_csv(home):
    path = build_warehouse(home)
    add_field_conflicts(path, 10_000)
    files = write_report()
    section = _sections(files)["field_conflicts"]
    assert section.total == 10_002
    # Both legal entities keep their first items on the page, so either filter shows rows.
    shown_entities = [item["legal_entities"][0] for item in section.shown]
    assert shown_entities.count(EMEA) == ITEMS_PER_ENTITY
    assert shown_entities.count(NA) == ITEMS_PER_ENTITY
    html = files.html.read_text(encoding="utf-8")
    assert _item_rows(html, "field_conflicts") == len(section.shown) == 2 * ITEMS_PER_ENTITY
    shown = 2 * ITEMS_PER_ENTITY
    assert f'Showing <span data-visible-for="field_conflicts">{shown}</span> of 10,002' in html
    rows = _csv_rows(files.csv["field_conflicts"])
    assert len(rows) == 10_002
    assert rows[0]["field"] == "given_name" and rows[0]["cannot_link_command"].startswith("aeglobal steward")


def test_evidence_reads_as_the_model_levels():
    model = {"comparisons": [{"output_column_name": "email", "comparison_levels": [
        {"is_null_level": True, "label_for_charts": "no e-mail"},
        {"label_for_charts": "Exact address"},
        {"label_for_charts": "All other comparisons"},
    ]}]}
    labels = {(c, g): label for c, g, label in comparison_levels(model)}
    assert readable_evidence('{"email": [1, 9.5], "name": [3, 1.0]}', labels) == [
        {"comparison": "email", "level": "Exact address", "match_weight": 9.5},
        {"comparison": "name", "level": "level 3", "match_weight": 1.0},
    ]
    assert readable_evidence(None, labels) == []


def test_values_are_escaped_in_the_page(home):
    path = build_warehouse(home)
    import duckdb

    with duckdb.connect(str(path)) as con:
        con.execute("UPDATE intermediate.int_person_records SET given_name = '<script>alert(1)</script>' "
                    "WHERE record_key = 'crm_na:Lead:N1'")
    html = write_report().html.read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'src="http' not in html and 'href="http' not in html  # nothing fetched from the network


def test_the_asset_links_the_files_and_summarises_counts_without_personal_data(home):
    from aeglobal_pipeline.report.assets import steward_report

    build_warehouse(home)
    result = dg.materialize([steward_report])
    assert result.success
    [materialization] = result.asset_materializations_for_node("steward_report")
    metadata = materialization.metadata
    html = Path(metadata["report"].value)
    assert html == home / "reports" / "steward_report.html" and html.exists()
    assert metadata["report_url"].value == html.as_uri()
    assert metadata["field_conflicts"].value == 2 and metadata["writeback_rejects"].value == 3
    summary = metadata["summary"].value
    assert "| Field conflicts | 2 | 2 |" in summary
    assert "anna@acme.de" not in summary and "Schmidt" not in summary
    assert summary == summary_markdown(write_report())
