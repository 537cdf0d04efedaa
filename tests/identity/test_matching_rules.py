"""matching.yaml and steward_decisions.yaml: errors name the file and the key or entry."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from aeglobal_pipeline.config import ConfigError
from aeglobal_pipeline.identity.decisions import load_decisions
from aeglobal_pipeline.identity.settings import load_matching_rules, rules_dir

RULES = rules_dir()


def _matching(tmp_path: Path, edit) -> Path:
    data = yaml.safe_load((RULES / "matching.yaml").read_text())
    edit(data)
    path = tmp_path / "matching.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_project_rules_load_and_build_serialisable_splink_settings():
    rules = load_matching_rules()
    settings = rules.splink_settings()
    json.dumps(settings)
    assert settings["link_type"] == "dedupe_only"
    assert [c["output_column_name"] for c in settings["comparisons"]] == [c.name for c in rules.comparisons]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda d: d["comparisons"][3].update(kind="jaro_wrinkler"),
         "matching.yaml: comparisons[3].kind: unknown comparison 'jaro_wrinkler'"),
        (lambda d: d["comparisons"][0].update(colour="red"),
         "matching.yaml: comparisons[0].colour: unknown key"),
        (lambda d: d["comparisons"][3].update(column="shoe_size"),
         "matching.yaml: comparisons[3]: unknown column"),
        (lambda d: d["thresholds"].update(match_probability=1.5),
         "matching.yaml: thresholds.match_probability"),
        (lambda d: d["blocking_rules"].append(["nope"]),
         "matching.yaml: blocking_rules: unknown column"),
        (lambda d: d["never_link_on"][0]["when"].update(name=["typo_level"]),
         "never_link_on[0].when.name: unknown level"),
        (lambda d: d["never_link_on"][1]["unless"][0].update(location=["moon"]),
         "never_link_on[1].unless[0].location: unknown level"),
        (lambda d: d["link_on"][0]["when"].update(phone=["pager"]),
         "link_on[0].when.phone: unknown level"),
        (lambda d: d["link_on"][1]["when"].update(shoe=["exact"]),
         "link_on[1].when.shoe: no comparison named 'shoe'"),
        (lambda d: d.pop("training"), "matching.yaml: training: Field required"),
    ],
)  # fmt: skip
def test_malformed_matching_yaml_names_the_bad_key(tmp_path, edit, expected):
    with pytest.raises(ConfigError) as error:
        load_matching_rules(_matching(tmp_path, edit))
    assert expected in str(error.value)


def test_invalid_yaml_names_the_line(tmp_path):
    path = tmp_path / "matching.yaml"
    path.write_text("version: 1\nblocking_rules: [[email_match]\ncomparisons: []\n")
    with pytest.raises(ConfigError, match=r"matching.yaml:\d+: not valid YAML"):
        load_matching_rules(path)


def test_steward_decisions_validated_per_entry(tmp_path):
    path = tmp_path / "steward_decisions.yaml"
    good = {"decision": "cannot_link", "records": ["crm_emea:Lead:1", "crm_na:Contact:2"],
            "by": "jane", "at": "2026-03-01", "why": "father and son"}  # fmt: skip
    bad = {**good, "records": ["crm_emea:Lead:1", "not a key"]}
    path.write_text(yaml.safe_dump({"decisions": [good, {k: v for k, v in good.items() if k != "by"}, bad]}))
    with pytest.raises(ConfigError) as error:
        load_decisions(path)
    message = str(error.value)
    assert (
        "steward_decisions.yaml: decisions[1] (cannot_link crm_emea:Lead:1, crm_na:Contact:2).by: "
        "Field required" in message
    )
    assert "decisions[2]" in message and "not record keys" in message


def test_contradicting_decisions_are_rejected(tmp_path):
    path = tmp_path / "steward_decisions.yaml"
    entry = {"records": ["crm_emea:Lead:1", "crm_na:Contact:2"], "by": "jane", "at": "2026-03-01", "why": "x"}
    path.write_text(
        yaml.safe_dump(
            {"decisions": [{"decision": "must_link", **entry}, {"decision": "cannot_link", **entry}]}
        )
    )
    with pytest.raises(ConfigError, match=r"decisions\[1\]: cannot_link .* contradicts"):
        load_decisions(path)


def test_missing_decisions_file_means_no_decisions(tmp_path):
    shutil.copy(RULES / "matching.yaml", tmp_path / "matching.yaml")
    assert load_decisions(tmp_path / "steward_decisions.yaml").count == 0
