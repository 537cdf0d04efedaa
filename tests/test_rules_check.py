"""A bad rules or sources file stops `aeglobal run` (and `aeglobal check`) before anything moves.

Each case breaks one shipped file in a copy of identity_rules/ (or the sources.yaml beside it) and
runs `aeglobal run` on a fresh $AEGLOBAL_HOME: the last line of output names the file, the line
and the key, and nothing was created (no warehouse, so no high-water mark, model, id or plan; no
Dagster run). The end-to-end cases at the bottom prove the same against a running sandbox: no
API call at all, and in the Dagster job every step after the configuration check is skipped.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from snapshot_helpers import DEFAULT_SOURCES

from aeglobal_pipeline.cli import main
from aeglobal_pipeline.governance.rules import rules_dir
from aeglobal_pipeline.rules_check import check_configuration

SHIPPED_RULES = rules_dir()


@dataclass(frozen=True)
class Case:
    id: str
    file: str  # in the rules copy, or sources.yaml
    old: str
    new: str
    marker: str  # text on the line the message must name
    key: str  # the key the message must name
    says: str  # a word of the message

    def apply(self, rules: Path, sources: Path) -> Path:
        path = sources if self.file == "sources.yaml" else rules / self.file
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        assert self.old in text, f"{self.old!r} not in {path}"
        path.write_text(text.replace(self.old, self.new, 1), encoding="utf-8")
        return path

    def line(self, path: Path) -> int:
        lines = path.read_text(encoding="utf-8").splitlines()
        return next(n for n, text in enumerate(lines, start=1) if self.marker in text)


CASES = [
    # each file's own schema
    Case("precedence-schema", "precedence.yaml", "  phone:\n    strategy: most_recent",
         "  phone:\n    strategy: newest", "strategy: newest", "fields.phone.strategy", "unknown strategy"),
    Case("precedence-syntax", "precedence.yaml", "  email:\n    strategy: source_priority",
         "  email:\n    strategy: [source_priority", "strategy: [source_priority", "strategy",
         "not valid YAML"),
    Case("sources-schema", "sources.yaml", "kind: salesforce", "kind: salesforse", "salesforse",
         "sources[0] (crm_emea).kind", "salesforce"),
    Case("matching-schema", "matching.yaml", "kind: jaro_winkler", "kind: jaro_wrinkler",
         "jaro_wrinkler", "comparisons[3].kind", "unknown comparison"),
    Case("matching-syntax", "matching.yaml", "thresholds:\n  match_probability: 0.95",
         "thresholds:\n  match_probability: 0.95\n    grey: {", "grey: {", "grey",
         "not valid YAML"),
    Case("decisions-schema", "steward_decisions.yaml", "decisions: []",
         "decisions:\n  - decision: cannot_link\n    records: [crm_emea:Lead:00Q1, crm_na:Lead:00Q2]\n"
         "    by: jane\n    at: 2026-03-04", "- decision: cannot_link", "decisions[0]", "why"),
    Case("consent-schema", "consent.yaml", "regime: opt_out", "regime: optout", "regime: optout",
         "regimes[2].regime", "opt_out"),
    Case("sharing-schema", "sharing.yaml", "allow: []",
         "allow:\n  - from: Northwind Inc.\n    fields: [email]",
         "- from: Northwind Inc.", "allow[0].to", "Field required"),
    Case("lifecycle-schema", "lifecycle.yaml", "      Working - Contacted: MQL",
         "      Working - Contacted: MQLL", "Working - Contacted: MQLL",
         "status_map.EMEA.Lead.Working - Contacted", "unknown stage"),
    Case("dictionary-schema", "field_dictionary.yaml",
         "Operations\n    personal_data: true\n    api_names: {Lead: Email",
         "Operations\n    personal_data: maybe\n    api_names: {Lead: Email",
         "personal_data: maybe", "central_fields.email.personal_data", "boolean"),
    Case("nicknames-schema", "nicknames.yaml", "groups:", "groups:\n  - [bill]", "- [bill]", "groups[0]",
         "at least 2"),
    Case("unknown-file", "precedance.yaml", "", "version: 1\n", "version: 1", "(file)", "unknown rules file"),
    # names one file uses and another must define
    Case("unknown-source-in-precedence", "precedence.yaml", "priority: [owning_crm, any_crm]",
         "priority: [owning_crm, crm_latam]", "crm_latam", "fields.birthdate.priority[1]", "crm_latam"),
    Case("unknown-protected-target", "precedence.yaml", "targets: [any_crm]", "targets: [crm_apac]",
         "crm_apac", "protected_fields[1].targets[0]", "crm_apac"),
    Case("country-XX-in-sources", "sources.yaml", "countries: [US]", "countries: [US, XX]", "XX",
         "sources[1].countries[1]", "ISO 3166-1"),
    Case("country-UK-in-consent", "consent.yaml", "countries: [GB]", "countries: [UK]", "[UK]",
         "regimes[1].countries[0]", "GB"),
    Case("unknown-legal-entity", "sharing.yaml", "allow: []",
         "allow:\n  - from: Northwind Europe GmbH\n    to: Northwind Latam SA\n    fields: [email]",
         "to: Northwind Latam SA", "allow[0].to", "unknown legal entity"),
    Case("misspelt-lifecycle-region", "lifecycle.yaml", "status_map:\n  EMEA:", "status_map:\n  EMAE:",
         "EMAE:", "status_map.EMAE", "did you mean 'EMEA'"),
    Case("two-api-names", "field_dictionary.yaml", "api_names: {Lead: Email, Contact: Email,",
         "api_names: {Lead: 'Email, Email__c', Contact: Email,", "Email__c",
         "central_fields.email.api_names.Lead", "one API name"),
    Case("decision-unknown-source", "steward_decisions.yaml", "decisions: []",
         "decisions:\n  - decision: cannot_link\n    records: [crm_latam:Lead:00Q1, crm_na:Lead:00Q2]\n"
         "    by: jane\n    at: 2026-03-04\n    why: two people", "records: [crm_latam",
         "decisions[0].records", "unknown source 'crm_latam'"),
    Case("decision-object-of-other-kind", "steward_decisions.yaml", "decisions: []",
         "decisions:\n  - decision: must_link\n    records: [ae_emea:Lead:1, crm_na:Lead:00Q2]\n"
         "    by: jane\n    at: 2026-03-04\n    why: same", "records: [ae_emea",
         "decisions[0].records", "no Lead records"),
    # YAML 1.1: a bare NO is the boolean false
    Case("bare-NO-in-sources", "sources.yaml", "countries: [US]", "countries: [US, NO]", "NO]",
         "sources[1] (crm_na).countries.1", "YAML reads the bare NO as the boolean false"),
    Case("bare-no-status-key", "lifecycle.yaml", "      Nurturing: Prospect", "      no: Prospect",
         "no: Prospect", "status_map.EMEA.Lead", "bare no as the boolean false"),
]


def write_setup(root: Path) -> tuple[Path, Path, Path]:
    rules = root / "rules"
    shutil.copytree(SHIPPED_RULES, rules)
    sources = root / "sources.yaml"
    sources.write_text(yaml.safe_dump({"sources": DEFAULT_SOURCES}, sort_keys=False,
                                      default_flow_style=None), encoding="utf-8")
    home = root / "home"
    home.mkdir()
    return rules, sources, home


def test_the_shipped_rules_pass_with_a_two_region_sources_file(tmp_path):
    rules, sources, _ = write_setup(tmp_path)
    report = check_configuration(sources, rules)
    assert report.problems == []
    # APAC rules with no APAC source: a note, not an error (a deployment may add APAC later).
    assert any("'APAC'" in note for note in report.notes)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_a_bad_file_stops_the_run_before_anything_moves(case: Case, tmp_path, monkeypatch):
    rules, sources, home = write_setup(tmp_path)
    broken = case.apply(rules, sources)
    monkeypatch.setenv("AEGLOBAL_HOME", str(home))
    monkeypatch.setenv("AEGLOBAL_RULES", str(rules))
    monkeypatch.setenv("AEGLOBAL_SOURCES", str(sources))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)

    result = CliRunner().invoke(main, ["run"])

    assert result.exit_code == 1, result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith(f"{broken}:{case.line(broken)}: ") or (
        f"{broken.parent.name}/{broken.name}:{case.line(broken)}: " in last), last
    assert case.key in last, last
    assert case.says in last, last
    assert list(home.iterdir()) == []  # no warehouse, Dagster run, model or report


def test_aeglobal_check_lists_every_problem_and_ends_with_one(tmp_path):
    rules, sources, _ = write_setup(tmp_path)
    CASES[0].apply(rules, sources)
    bad = next(c for c in CASES if c.id == "country-XX-in-sources")
    bad.apply(rules, sources)
    result = CliRunner().invoke(main, ["check", "--sources", str(sources), "--rules", str(rules)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    # both, in file order: sources.yaml first, then the rules files
    assert lines[-2].startswith(f"{sources}:") and "'XX' is not an ISO 3166-1" in lines[-2]
    expected = rf".*{rules.name}/precedence\.yaml:\d+: fields\.phone\.strategy: unknown strategy"
    assert re.match(expected, lines[-1]), lines[-1]


def test_aeglobal_check_passes_the_shipped_rules(tmp_path):
    rules, sources, _ = write_setup(tmp_path)
    result = CliRunner().invoke(main, ["check", "--sources", str(sources), "--rules", str(rules)])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1].startswith("9 files OK")


# --- end to end, against a running sandbox ------------------------------------------------------


def _api_calls(sandbox) -> int:
    return sum(sum(calls.values()) for calls in sandbox.control.stats().values())


@pytest.fixture
def broken_rules(sandbox, tmp_path, monkeypatch) -> Path:
    """The shipped rules with a precedence priority naming a source sources.yaml lacks."""
    rules, _, _ = write_setup(tmp_path)
    case = next(c for c in CASES if c.id == "unknown-source-in-precedence")
    case.apply(rules, rules / "unused-sources.yaml")
    monkeypatch.setenv("AEGLOBAL_RULES", str(rules))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    sandbox.control.reset_stats()
    return rules / "precedence.yaml"


def _broken_line(broken_rules: Path) -> int:
    """The line the planted `crm_latam` is on (the shipped file's layout may change)."""
    lines = broken_rules.read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, 1) if "crm_latam" in line)


def test_aeglobal_run_stops_before_the_first_api_call(sandbox, broken_rules):
    result = CliRunner().invoke(main, ["run"])
    assert result.exit_code == 1
    last = result.output.strip().splitlines()[-1]
    where = f"{broken_rules}:{_broken_line(broken_rules)}"
    assert f"{where}: fields.birthdate.priority[1]: unknown source 'crm_latam'" in last
    assert _api_calls(sandbox) == 0
    assert not (sandbox.home / "warehouse.duckdb").exists()


@pytest.mark.parametrize("job_name", ["full_sync", "identity_job", "writeback_job", "steward_job"])
def test_the_dagster_job_fails_at_its_first_step_and_skips_the_rest(sandbox, broken_rules, job_name):
    import dagster as dg

    from aeglobal_pipeline.definitions import build_definitions

    job = build_definitions().resolve_job_def(job_name)
    with dg.DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success
    started = {event.step_key for event in result.all_events if event.is_step_start}
    assert started == {"configuration_check"}
    failure = next(event for event in result.all_events if event.is_step_failure)
    error = failure.step_failure_data.error
    line = _broken_line(broken_rules)
    assert f"precedence.yaml:{line}: fields.birthdate.priority[1]" in (error.cause or error).message
    assert _api_calls(sandbox) == 0
    assert not (sandbox.home / "warehouse.duckdb").exists()
