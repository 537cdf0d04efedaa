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
        (lambda d: d["never_link_on"][0]["where_common"]["unless"][0].update(birthdate=["someday"]),
         "never_link_on[0].where_common.unless[0].birthdate: unknown level"),
        (lambda d: d["never_link_on"][0]["where_common"].update(m_probability=2),
         "never_link_on[0].where_common.m_probability: Input should be less than 1"),
        (lambda d: d["link_on"][0]["when"].update(phone=["pager"]),
         "link_on[0].when.phone: unknown level"),
        (lambda d: d["link_on"][1]["when"].update(shoe=["exact"]),
         "link_on[1].when.shoe: no comparison named 'shoe'"),
        (lambda d: d.pop("training"), "matching.yaml: training: Field required"),
        (lambda d: d["training"]["prior"]["fallback"][0]["recall_from_model"].update(birthdate=["roughly"]),
         "training.prior.fallback[0].birthdate: unknown level"),
        (lambda d: d["training"]["prior"]["fallback"][0]["deterministic_rules"].append(["email_match"]),
         "recall_from_model needs exactly one deterministic rule"),
        (lambda d: d["comparisons"][0].update(family_first_surnames=["Wang"]),
         "comparisons[0].family_first_surnames[0]: String should match pattern"),
        (lambda d: d["comparisons"][0].update(order_odds=0.5),
         "comparisons[0].order_odds: Input should be greater than 1"),
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


def _with_m(settings: dict, comparison: str, level_m: dict[int, float]) -> dict:
    """The settings with the given m-probabilities set on `comparison`'s levels, by gamma."""
    model = json.loads(json.dumps(settings))
    [levels] = [c["comparison_levels"] for c in model["comparisons"] if c["output_column_name"] == comparison]
    non_null = [level for level in levels if not level.get("is_null_level")]
    for level in non_null:
        level["m_probability"] = 0.0
    for gamma, m in level_m.items():
        non_null[len(non_null) - 1 - gamma]["m_probability"] = m
    return model


def test_a_veto_yields_where_the_estates_model_finds_its_contradiction_common():
    """The family-name-only veto keeps twins apart; where the trained model says one person's
    records often carry wholly different given names (FEBRL's corruption), birthdate and
    address override it too, and the decision is reported for the model's manifest."""
    rules = load_matching_rules()
    settings = rules.splink_settings()
    index, rule = next((i, r) for i, r in enumerate(rules.never_link_on) if r.where_common is not None)
    family_only, family_close = (rules.gamma("name", level) for level in rule.when["name"])
    # birthdate and address (matching.yaml's where_common.unless), as gammas
    extra = [{name: [rules.gamma(name, level) for level in levels] for name, levels in group.items()}
             for group in rule.where_common.unless]
    assert {"birthdate": [rules.gamma("birthdate", "exact")]}.items() <= extra[0].items()

    def yields(m_family_only: float, m_family_close: float) -> tuple[bool, bool]:
        model = _with_m(settings, "name", {family_only: m_family_only, family_close: m_family_close})
        [report] = rules.where_common_report(model)
        groups = rules.veto_conditions(model=model)[index][1]
        return report["yields"], all(group in groups for group in extra)

    assert yields(0.004, 0.002) == (False, False)  # our B2B and B2C data: about 0.6%
    assert yields(0.08, 0.03) == (True, True)  # FEBRL3: about 11%
    assert rules.veto_conditions(model=None)[index] == rules.veto_conditions()[index]
    assert rules.where_common_report(None) == []
