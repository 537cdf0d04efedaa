"""`aeglobal steward decide`: validated entries appended to steward_decisions.yaml."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from aeglobal_pipeline.cli import main
from aeglobal_pipeline.identity.decisions import load_decisions

PROJECT_RULES = Path(__file__).resolve().parents[2] / "identity_rules"
KEYS = ["crm_emea:Lead:00Q1", "crm_emea:Contact:0031", "ae_emea:Prospect:7001", "crm_na:Lead:00Q9"]


@pytest.fixture
def rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        con.execute("create schema identity")
        con.execute("create table identity.global_person_map (record_key varchar)")
        con.executemany("insert into identity.global_person_map values (?)", [[k] for k in KEYS])
    rules_dir = tmp_path / "rules"
    shutil.copytree(PROJECT_RULES, rules_dir)
    monkeypatch.setenv("AEGLOBAL_HOME", str(home))
    monkeypatch.setenv("AEGLOBAL_RULES", str(rules_dir))
    return rules_dir / "steward_decisions.yaml"


def _decide(*args: str):
    return CliRunner().invoke(main, ["steward", "decide", *args])


def test_decisions_are_appended_and_comments_survive(rules):
    first = _decide("must-link", KEYS[0], KEYS[1], "--by", "jane", "--why", "converted by hand")
    second = _decide("cannot-link", KEYS[0], KEYS[3], "--by", "jane", "--why", 'father & son "Jr."')
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    decisions = load_decisions(rules)
    assert [(a, b) for a, b, _ in decisions.must_links] == [tuple(sorted(KEYS[:2]))]
    assert [(a, b) for a, b, _ in decisions.cannot_links] == [tuple(sorted([KEYS[0], KEYS[3]]))]
    assert rules.read_text().startswith("# Data steward decisions")


def test_unknown_keys_duplicates_and_contradictions_are_refused(rules):
    before = rules.read_text()
    unknown = _decide("must-link", KEYS[0], "crm_emea:Lead:NOPE", "--by", "j", "--why", "x")
    assert unknown.exit_code == 1 and "crm_emea:Lead:NOPE" in unknown.output
    assert rules.read_text() == before

    assert _decide("must-link", KEYS[0], KEYS[1], "--by", "j", "--why", "x").exit_code == 0
    assert _decide("must-link", KEYS[1], KEYS[2], "--by", "j", "--why", "x").exit_code == 0
    duplicate = _decide("cannot-link", KEYS[1], KEYS[0], "--by", "j", "--why", "x")
    assert duplicate.exit_code == 1 and "already decides" in duplicate.output
    # KEYS[0] and KEYS[2] are joined through KEYS[1]: a cannot-link between them contradicts that.
    contradiction = _decide("cannot-link", KEYS[0], KEYS[2], "--by", "j", "--why", "x")
    assert contradiction.exit_code == 1 and "contradicts" in contradiction.output
    assert len(load_decisions(rules).must_links) == 2
    assert not load_decisions(rules).cannot_links
