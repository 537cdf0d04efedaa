"""The governance rules files validate, and a malformed one is named by file and key."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import yaml
from warehouse_helpers import copy_rules

from aeglobal_pipeline.governance.rules import RulesError, load_rules
from aeglobal_pipeline.governance.tables import TABLES, write_rules

PRECEDENCE = "identity_rules/precedence.yaml: "
CONSENT = "identity_rules/consent.yaml: "


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    return copy_rules(tmp_path / "identity_rules")


def edit(directory: Path, name: str, change) -> None:
    path = directory / name
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def error_of(directory: Path) -> str:
    with pytest.raises(RulesError) as caught:
        load_rules(directory)
    return str(caught.value)


def test_project_rules_load_and_become_tables(rules):
    loaded = load_rules(rules)
    with duckdb.connect() as con:
        counts = write_rules(con, loaded)
        found = con.execute("select field from rules.precedence where region = '*'").fetchall()
    fields = {r[0] for r in found}
    assert set(counts) == set(TABLES) and counts["lifecycle_status_map"] > 10
    assert fields == set(loaded.survivorship_fields) and "email" in fields
    assert loaded.precedence.resolve("given_name", "APAC")[1] == ["owning_crm", "any_crm"]


def test_unknown_strategy_names_file_and_key(rules):
    edit(rules, "precedence.yaml", lambda d: d["fields"]["email"].update(strategy="newest"))
    assert PRECEDENCE + "fields.email.strategy: unknown strategy 'newest'" in error_of(rules)


def test_most_restrictive_on_a_text_field_is_refused(rules):
    edit(rules, "precedence.yaml", lambda d: d["fields"].update(company={"strategy": "most_restrictive"}))
    assert PRECEDENCE + "fields.company.strategy: most_restrictive applies" in error_of(rules)


def test_unknown_role_in_a_priority_list(rules):
    roles = ["owning_crm", "owning-ae"]
    edit(rules, "precedence.yaml", lambda d: d["fields"]["email"].update(priority=roles))
    assert PRECEDENCE + "fields.email.priority: unknown role 'owning-ae'" in error_of(rules)


def test_sharing_field_must_be_in_the_dictionary(rules):
    edit(rules, "sharing.yaml", lambda d: d["cross_entity_fields"].append("shoe_size"))
    assert "identity_rules/sharing.yaml: cross_entity_fields[4]: unknown field 'shoe_size'" in error_of(rules)


def test_consent_country_codes_and_propagation(rules):
    def change(data):
        data["regimes"][0]["countries"].append("Germany")
        data["channels"]["email"]["propagation"] = "everywhere"

    edit(rules, "consent.yaml", change)
    message = error_of(rules)
    assert CONSENT + "regimes[0].countries: not ISO 3166-1 alpha-2 codes: ['Germany']" in message
    assert CONSENT + "channels.email.propagation:" in message


def test_lifecycle_unknown_stage_and_signal(rules):
    def change(data):
        data["status_map"]["NA"]["Lead"]["New"] = "Hot"
        data["scoring"]["core"][0]["signal"] = "vibes"

    edit(rules, "lifecycle.yaml", change)
    message = error_of(rules)
    assert "identity_rules/lifecycle.yaml: scoring.core[0].signal: unknown signal 'vibes'" in message
    edit(rules, "lifecycle.yaml", lambda d: d["scoring"]["core"].pop(0))
    assert "identity_rules/lifecycle.yaml: status_map.NA.Lead.New: unknown stage 'Hot'" in error_of(rules)


def test_field_dictionary_needs_the_central_fields(rules):
    edit(rules, "field_dictionary.yaml", lambda d: d["central_fields"].pop("global_person_id"))
    expected = ("identity_rules/field_dictionary.yaml: central_fields.global_person_id: "
                "required central field is missing")
    assert expected in error_of(rules)


def test_yaml_syntax_error_names_the_line(rules):
    path = rules / "sharing.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "\nallow: [unclosed\n", encoding="utf-8")
    assert error_of(rules).startswith("identity_rules/sharing.yaml:")
    assert "not valid YAML" in error_of(rules)


def test_every_broken_file_is_reported_at_once(rules):
    edit(rules, "precedence.yaml", lambda d: d.update(version=2))
    (rules / "lifecycle.yaml").unlink()
    message = error_of(rules)
    assert PRECEDENCE + "version:" in message
    assert "identity_rules/lifecycle.yaml: not found" in message


def test_consent_fields_must_stay_most_restrictive(rules):
    edit(rules, "precedence.yaml", lambda d: d["fields"].update(email_opt_out={"strategy": "most_recent"}))
    expected = PRECEDENCE + "fields.email_opt_out.strategy: consent field of channel 'email'"
    assert expected in error_of(rules)


DICTIONARY = "identity_rules/field_dictionary.yaml: "


def test_write_policy_validation_names_file_and_key(rules):
    edit(rules, "field_dictionary.yaml", lambda d: d["central_fields"]["email"].update(write="overwrite"))
    message = error_of(rules)
    expected = "central_fields.email.write: Input should be 'fill_empty', 'correct' or 'never'"
    assert DICTIONARY + expected in message


def test_a_contact_point_may_not_be_corrected(rules):
    edit(rules, "field_dictionary.yaml", lambda d: d["central_fields"]["phone"].update(write="correct"))
    assert DICTIONARY + "central_fields.phone.write: a contact point is never replaced" in error_of(rules)


def test_a_consent_field_must_be_correctable(rules):
    edit(rules, "field_dictionary.yaml",
         lambda d: d["central_fields"]["email_opt_out"].update(write="fill_empty"))
    expected = "central_fields.email_opt_out.write: consent field of channel 'email'"
    assert DICTIONARY + expected in error_of(rules)


def test_precedence_may_only_name_survivorship_fields_of_the_dictionary(rules):
    edit(rules, "field_dictionary.yaml", lambda d: d["central_fields"]["street"].update(survivorship=False,
                                                                                        match_form=None))
    edit(rules, "precedence.yaml", lambda d: d["fields"].update(street={"strategy": "most_recent"}))
    assert PRECEDENCE + "fields.street: unknown field 'street'" in error_of(rules)


def test_name_order_margin_below_one_names_file_and_key(rules):
    edit(rules, "precedence.yaml", lambda d: d.update(name_order_margin=0))
    assert PRECEDENCE + "name_order_margin: " in error_of(rules)
