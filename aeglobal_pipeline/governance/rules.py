"""The governance rules files of identity_rules/, validated on load.

precedence.yaml, consent.yaml, sharing.yaml, field_dictionary.yaml and lifecycle.yaml each have a
pydantic model (models.py). `load_rules()` reads all five; any problem raises `RulesError` whose
message names the file and the key path, e.g.
`identity_rules/precedence.yaml: fields.email.strategy: unknown strategy 'newest'`.
Checks that span keys or files (a field precedence names must exist in the field dictionary, a
consent field must stay most_restrictive) are reported the same way.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from aeglobal_pipeline.config import ConfigError, read_yaml
from aeglobal_pipeline.governance.models import (
    DERIVED_FIELDS,
    Consent,
    FieldDictionary,
    Lifecycle,
    Precedence,
    Sharing,
    _Strict,
)

__all__ = ["DERIVED_FIELDS", "GovernanceRules", "RulesError", "load_rules", "rules_dir"]

FILES = ("precedence.yaml", "consent.yaml", "sharing.yaml", "field_dictionary.yaml", "lifecycle.yaml")


class RulesError(ConfigError):
    """A rules file is malformed; the message names the file and the key."""


def rules_dir() -> Path:
    """`$AEGLOBAL_RULES` when set, else the project's identity_rules/ directory."""
    explicit = os.environ.get("AEGLOBAL_RULES")
    return Path(explicit) if explicit else Path(__file__).resolve().parents[2] / "identity_rules"


# --- loading -----------------------------------------------------------------------------------

MODELS: dict[str, type[_Strict]] = {
    "precedence.yaml": Precedence, "consent.yaml": Consent, "sharing.yaml": Sharing,
    "field_dictionary.yaml": FieldDictionary, "lifecycle.yaml": Lifecycle,
}  # fmt: skip


class GovernanceRules(_Strict):
    precedence: Precedence
    consent: Consent
    sharing: Sharing
    field_dictionary: FieldDictionary
    lifecycle: Lifecycle
    identity_thresholds: dict[str, float]
    files: dict[str, str]  # file name → text, for provenance

    @property
    def survivorship_fields(self) -> dict[str, str]:
        """Name → type of the fields survivorship resolves (field_dictionary.yaml, the registry)."""
        return self.field_dictionary.survivorship_fields()


def _key(location: tuple[Any, ...]) -> str:
    key = ""
    for part in location:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    return key or "(top level)"


def _display(directory: Path, name: str) -> str:
    return f"{directory.name}/{name}"


def parse_file(directory: Path, name: str) -> tuple[_Strict, str]:
    path = directory / name
    shown = _display(directory, name)
    try:
        raw = read_yaml(path, shown, missing_hint=f" in {directory}")
    except ConfigError as exc:
        raise RulesError(str(exc)) from exc
    text = path.read_text(encoding="utf-8")  # fingerprinted in rules.rule_files
    if not isinstance(raw, dict):
        raise RulesError(f"{shown}: expected a mapping at the top level")
    try:
        parsed = MODELS[name].model_validate(raw)
    except ValidationError as exc:
        lines = []
        for problem in exc.errors():
            message = problem["msg"].removeprefix("Value error, ")
            lines.append(f"{shown}: {_key(problem['loc'])}: {message}")
        raise RulesError("\n".join(lines)) from exc
    problems = parsed.problems() if hasattr(parsed, "problems") else []
    if problems:
        raise RulesError("\n".join(f"{shown}: {key}: {message}" for key, message in problems))
    return parsed, text


def _identity_thresholds(directory: Path) -> dict[str, float]:
    """Grey zone, cluster size and the write-back's confidence gate from matching.yaml (owned by
    identity; read, not validated, here). write_probability defaults to match_probability."""
    defaults = {"grey_zone_lower": 0.5, "match_probability": 0.95, "max_cluster_size": 50.0}
    try:
        raw = yaml.safe_load((directory / "matching.yaml").read_text(encoding="utf-8")) or {}
    except (FileNotFoundError, yaml.YAMLError):
        return defaults
    found = raw.get("thresholds") if isinstance(raw, dict) else None
    if isinstance(found, dict):
        for key in defaults:
            if isinstance(found.get(key), int | float):
                defaults[key] = float(found[key])
    gate = found.get("write_probability") if isinstance(found, dict) else None
    has_gate = isinstance(gate, int | float)
    defaults["write_probability"] = float(gate) if has_gate else defaults["match_probability"]
    return defaults


def _cross_file_problems(rules: dict[str, Any], directory: Path) -> list[str]:
    dictionary: FieldDictionary = rules["field_dictionary.yaml"]
    known = set(dictionary.central_fields)
    found = []
    sharing: Sharing = rules["sharing.yaml"]
    for index, field in enumerate(sharing.cross_entity_fields):
        if field not in known:
            found.append(f"{_display(directory, 'sharing.yaml')}: cross_entity_fields[{index}]: "
                         f"unknown field {field!r} (not in field_dictionary.yaml)")
    for index, crossing in enumerate(sharing.allow):
        for j, field in enumerate(crossing.fields):
            if field not in known:
                found.append(f"{_display(directory, 'sharing.yaml')}: allow[{index}].fields[{j}]: "
                             f"unknown field {field!r} (not in field_dictionary.yaml)")
    regional = {f.api_name for fields in dictionary.regional_fields.values() for f in fields}
    consent: Consent = rules["consent.yaml"]
    for channel, spec in consent.channels.items():
        for j, api_name in enumerate(spec.opt_in_evidence_fields):
            if api_name not in regional:
                found.append(f"{_display(directory, 'consent.yaml')}: channels.{channel}."
                             f"opt_in_evidence_fields[{j}]: {api_name!r} is not a regional field "
                             "in field_dictionary.yaml")
    precedence: Precedence = rules["precedence.yaml"]
    survivorship = dictionary.survivorship_fields()
    found += [f"{_display(directory, 'precedence.yaml')}: {key}: {message}"
              for key, message in precedence.field_problems(survivorship)]
    dictionary_file = _display(directory, "field_dictionary.yaml")
    for channel, spec in consent.channels.items():
        where = f"{_display(directory, 'consent.yaml')}: channels.{channel}.field"
        if survivorship.get(spec.field) != "boolean":
            found.append(f"{where}: {spec.field!r} is not a boolean survivorship field in {dictionary_file}")
        elif dictionary.central_fields[spec.field].write != "correct":
            found.append(f"{dictionary_file}: central_fields.{spec.field}.write: consent field of channel "
                         f"{channel!r} must be `correct` (an opt-out overwrites an opt-in)")
    if found:
        return found
    regions = [None, *precedence.region_overrides]
    for channel, spec in consent.channels.items():
        for region in regions:
            if precedence.resolve(spec.field, region)[0] != "most_restrictive":
                where = f"region_overrides.{region}.{spec.field}" if region else f"fields.{spec.field}"
                found.append(f"{_display(directory, 'precedence.yaml')}: {where}.strategy: consent field "
                             f"of channel {channel!r} (consent.yaml) must use most_restrictive")
    lifecycle: Lifecycle = rules["lifecycle.yaml"]
    for region, flex in lifecycle.scoring.flex.items():
        for index, rule in enumerate(flex):
            if rule.signal == "field_present" and rule.field not in regional:
                found.append(f"{_display(directory, 'lifecycle.yaml')}: scoring.flex.{region}[{index}]"
                             f".field: {rule.field!r} is not a regional field in field_dictionary.yaml")
    return found


def load_rules(directory: Path | None = None) -> GovernanceRules:
    """Read and validate the five governance files (errors name the file and key)."""
    directory = Path(directory or rules_dir())
    parsed: dict[str, Any] = {}
    texts: dict[str, str] = {}
    errors: list[str] = []
    for name in FILES:
        try:
            parsed[name], texts[name] = parse_file(directory, name)
        except RulesError as error:
            errors.append(str(error))
    if not errors:
        errors = _cross_file_problems(parsed, directory)
    if errors:
        raise RulesError("\n".join(errors))
    return GovernanceRules(
        precedence=parsed["precedence.yaml"], consent=parsed["consent.yaml"],
        sharing=parsed["sharing.yaml"], field_dictionary=parsed["field_dictionary.yaml"],
        lifecycle=parsed["lifecycle.yaml"], identity_thresholds=_identity_thresholds(directory),
        files=texts,
    )
