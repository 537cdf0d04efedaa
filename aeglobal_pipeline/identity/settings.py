"""identity_rules/matching.yaml: what the matcher compares, how it blocks, where it decides.

The YAML is validated with pydantic on load; a bad key or value raises `ConfigError` naming the
file and the key path (`identity_rules/matching.yaml: comparisons[2].kind: unknown comparison
'jaro_wrinkler'`). `splink_settings()` turns it into a plain, JSON-serialisable Splink settings
dict built from Splink's comparison (level) library. Column names in the file may only name the
matching features of `identity.features` (FEATURE_COLUMNS), so no SQL text comes from the file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

import splink.comparison_level_library as cll
import splink.comparison_library as cl
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from splink import SettingsCreator, block_on

from aeglobal_pipeline.config import ConfigError

# Columns of the matching feature table (identity.features) the rules may refer to.
FEATURE_COLUMNS = (
    "given_name_norm", "family_name_norm", "full_name", "family_first", "given_nick_groups",
    "name_tokens_key", "given_initial", "family_initial", "email_match", "email_local_match",
    "phone_match", "mobile_match", "company_norm", "country_code", "city_norm", "postal_norm",
    "street_norm", "birthdate",
)  # fmt: skip
UNIQUE_ID = "record_key"
# Kept on every scored pair so the steward report can show the evidence side by side.
RETAINED_COLUMNS = ("source", "object")


def rules_dir() -> Path:
    """`$AEGLOBAL_RULES` when set, else the project's identity_rules/ directory."""
    explicit = os.environ.get("AEGLOBAL_RULES")
    return Path(explicit) if explicit else Path(__file__).resolve().parents[2] / "identity_rules"


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


Column = Annotated[str, Field(description="a matching feature column")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_columns(columns: list[str]) -> list[str]:
    unknown = [c for c in columns if c not in FEATURE_COLUMNS]
    if unknown:
        raise ValueError(f"unknown column(s) {unknown}; known: {', '.join(FEATURE_COLUMNS)}")
    return columns


class _Comparison(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")  # Splink output column, shown in charts

    def columns(self) -> list[str]:
        return [v for k, v in self if k.endswith("column") and isinstance(v, str)]

    @model_validator(mode="after")
    def _known_columns(self):
        _check_columns(self.columns())
        return self


class ExactComparison(_Comparison):
    kind: Literal["exact"]
    column: Column
    term_frequency: bool = False

    def build(self) -> cl.ComparisonCreator:
        return cl.ExactMatch(self.column).configure(term_frequency_adjustments=self.term_frequency)


class JaroWinklerComparison(_Comparison):
    kind: Literal["jaro_winkler"]
    column: Column
    thresholds: list[Annotated[float, Field(gt=0, lt=1)]] = [0.92, 0.85]
    term_frequency: bool = False

    def build(self) -> cl.ComparisonCreator:
        comparison = cl.JaroWinklerAtThresholds(self.column, self.thresholds)
        return comparison.configure(term_frequency_adjustments=self.term_frequency)


class PersonNameComparison(_Comparison):
    """Given + family name together: exact, swapped order, fuzzy, nickname or initial, one part."""

    kind: Literal["person_name"]
    given_column: Column = "given_name_norm"
    family_column: Column = "family_name_norm"
    full_name_column: Column = "full_name"
    family_first_column: Column = "family_first"
    nickname_column: Column = "given_nick_groups"
    thresholds: list[Annotated[float, Field(gt=0, lt=1)]] = [0.92, 0.85]
    term_frequency: bool = True

    def build(self) -> cl.ComparisonCreator:
        g, f = self.given_column, self.family_column
        high, *lower = sorted(self.thresholds, reverse=True)
        tf = {"tf_adjustment_column": self.full_name_column} if self.term_frequency else {}
        family_close = cll.Or(
            cll.JaroWinklerLevel(f, high), cll.ExactMatchLevel(self.family_first_column)
        )
        # An initial ("J.") or a nickname in the same group as the other side's name.
        given_compatible = cll.Or(
            cll.ArrayIntersectLevel(self.nickname_column, 1),
            cll.CustomLevel(
                f'(length("{g}_l") = 1 OR length("{g}_r") = 1) '
                f'AND substr("{g}_l", 1, 1) = substr("{g}_r", 1, 1)'
            ),
        )
        levels = [
            cll.And(cll.NullLevel(g), cll.NullLevel(f)),
            cll.ExactMatchLevel(self.full_name_column).configure(
                label_for_charts="Exact full name", **tf
            ),
            cll.ColumnsReversedLevel(g, f, symmetrical=True).configure(
                label_for_charts="Given and family swapped"
            ),
            cll.And(cll.JaroWinklerLevel(g, high), family_close).configure(
                label_for_charts=f"Both names Jaro-Winkler >= {high}"
            ),
            cll.And(given_compatible, family_close).configure(
                label_for_charts="Nickname or initial, family name close"
            ),
        ]
        for threshold in lower:
            levels.append(
                cll.And(cll.JaroWinklerLevel(g, threshold), cll.JaroWinklerLevel(f, threshold)).configure(
                    label_for_charts=f"Both names Jaro-Winkler >= {threshold}"
                )
            )
        levels += [
            cll.ExactMatchLevel(f).configure(
                label_for_charts="Family name only",
                **({"tf_adjustment_column": f} if self.term_frequency else {}),
            ),
            cll.ExactMatchLevel(g).configure(label_for_charts="Given name only"),
            cll.ElseLevel(),
        ]
        return cl.CustomComparison(levels, output_column_name=self.name)


class EmailComparison(_Comparison):
    """Normalised address exact, local part exact (other domain), one-edit typo."""

    kind: Literal["email"]
    column: Column = "email_match"
    local_column: Column = "email_local_match"
    term_frequency: bool = True

    def build(self) -> cl.ComparisonCreator:
        e, local = self.column, self.local_column
        tf = {"tf_adjustment_column": e} if self.term_frequency else {}
        tf_local = {"tf_adjustment_column": local} if self.term_frequency else {}
        levels = [
            cll.NullLevel(e),
            cll.ExactMatchLevel(e).configure(label_for_charts="Exact address", **tf),
            cll.ExactMatchLevel(local).configure(label_for_charts="Same local part", **tf_local),
            cll.DamerauLevenshteinLevel(e, 1).configure(label_for_charts="One edit apart"),
            cll.ElseLevel(),
        ]
        return cl.CustomComparison(levels, output_column_name=self.name)


class PhoneComparison(_Comparison):
    """Mobile and landline in E.164; a shared switchboard or home line weighs little (tf)."""

    kind: Literal["phone"]
    phone_column: Column = "phone_match"
    mobile_column: Column = "mobile_match"
    term_frequency: bool = True

    def build(self) -> cl.ComparisonCreator:
        p, m = self.phone_column, self.mobile_column
        null = cll.CustomLevel(
            f'("{p}_l" IS NULL AND "{m}_l" IS NULL) OR ("{p}_r" IS NULL AND "{m}_r" IS NULL)'
        ).configure(is_null_level=True, label_for_charts="No phone on one side")
        tf = self.term_frequency
        levels = [
            null,
            cll.ExactMatchLevel(m).configure(
                label_for_charts="Same mobile", **({"tf_adjustment_column": m} if tf else {})
            ),
            cll.ExactMatchLevel(p).configure(
                label_for_charts="Same phone", **({"tf_adjustment_column": p} if tf else {})
            ),
            cll.CustomLevel(f'"{p}_l" = "{m}_r" OR "{m}_l" = "{p}_r"').configure(
                label_for_charts="Mobile in the other's phone field"
            ),
            cll.ElseLevel(),
        ]
        return cl.CustomComparison(levels, output_column_name=self.name)


class LocationComparison(_Comparison):
    """Postal code (and city), else city alone; city frequencies damp big cities."""

    kind: Literal["location"]
    postal_column: Column = "postal_norm"
    city_column: Column = "city_norm"
    term_frequency: bool = True

    def build(self) -> cl.ComparisonCreator:
        postal, city = self.postal_column, self.city_column
        levels = [
            cll.And(cll.NullLevel(postal), cll.NullLevel(city)),
            cll.ExactMatchLevel(postal).configure(
                label_for_charts="Same postal code",
                **({"tf_adjustment_column": postal} if self.term_frequency else {}),
            ),
            cll.ExactMatchLevel(city).configure(
                label_for_charts="Same city",
                **({"tf_adjustment_column": city} if self.term_frequency else {}),
            ),
            cll.ElseLevel(),
        ]
        return cl.CustomComparison(levels, output_column_name=self.name)


class DateComparison(_Comparison):
    kind: Literal["date"]
    column: Column = "birthdate"

    def build(self) -> cl.ComparisonCreator:
        return cl.DateOfBirthComparison(self.column, input_is_string=False)


Comparison = Annotated[
    ExactComparison
    | JaroWinklerComparison
    | PersonNameComparison
    | EmailComparison
    | PhoneComparison
    | LocationComparison
    | DateComparison,
    Field(discriminator="kind"),
]
COMPARISON_KINDS = ("exact", "jaro_winkler", "person_name", "email", "phone", "location", "date")

BlockingRule = Annotated[list[str], Field(min_length=1)]


class Thresholds(_Strict):
    match_probability: float = Field(0.95, gt=0, lt=1)  # accept an edge at or above this
    grey_zone_lower: float = Field(0.5, gt=0, lt=1)  # keep pairs above this for stewards
    max_cluster_size: int = Field(50, ge=2)  # larger clusters are cut on their weakest edges

    @model_validator(mode="after")
    def _ordered(self):
        if self.grey_zone_lower > self.match_probability:
            raise ValueError("grey_zone_lower must not exceed match_probability")
        return self


class PriorEstimate(_Strict):
    """Deterministic rules and their assumed recall estimate how rare a random match is."""

    deterministic_rules: list[BlockingRule]
    recall: float = Field(gt=0, le=1)

    @field_validator("deterministic_rules")
    @classmethod
    def _known(cls, rules: list[list[str]]) -> list[list[str]]:
        for rule in rules:
            _check_columns(rule)
        return rules


class Training(_Strict):
    seed: int = 42
    u_max_pairs: int = Field(2_000_000, ge=1000)
    em_blocking_rules: list[BlockingRule] = Field(min_length=1)
    em_max_iterations: int = Field(25, ge=1)
    prior: PriorEstimate

    @field_validator("em_blocking_rules")
    @classmethod
    def _known(cls, rules: list[list[str]]) -> list[list[str]]:
        for rule in rules:
            _check_columns(rule)
        return rules


class MatchingRules(_Strict):
    version: Literal[1] = 1
    blocking_rules: list[BlockingRule] = Field(min_length=1)
    comparisons: list[Comparison] = Field(min_length=1)
    thresholds: Thresholds = Thresholds()
    training: Training

    @field_validator("blocking_rules")
    @classmethod
    def _known(cls, rules: list[list[str]]) -> list[list[str]]:
        for rule in rules:
            _check_columns(rule)
        return rules

    @model_validator(mode="after")
    def _unique_names(self):
        names = [c.name for c in self.comparisons]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate comparison names: {duplicates}")
        return self

    def splink_settings(self) -> dict[str, Any]:
        """A JSON-serialisable Splink settings dict (dedupe over all records)."""
        creator = SettingsCreator(
            link_type="dedupe_only",
            unique_id_column_name=UNIQUE_ID,
            comparisons=[c.build() for c in self.comparisons],
            blocking_rules_to_generate_predictions=[block_on(*rule) for rule in self.blocking_rules],
            retain_intermediate_calculation_columns=True,  # per-comparison evidence for stewards
            retain_matching_columns=True,
            additional_columns_to_retain=list(RETAINED_COLUMNS),
        )
        return creator.create_settings_dict(sql_dialect_str="duckdb")

    def fingerprint_text(self) -> str:
        return self.model_dump_json()


def _key_path(location: tuple) -> str:
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in COMPARISON_KINDS or str(part).startswith("function-"):
            continue  # pydantic's union branch, not a key the user wrote
        else:
            path += f".{part}" if path else str(part)
    return path


def describe_validation_error(display: str, error: ValidationError) -> str:
    lines = []
    for problem in error.errors():
        location, message = tuple(problem["loc"]), problem["msg"]
        if problem["type"] == "union_tag_invalid":
            tag = problem.get("ctx", {}).get("tag")
            location += ("kind",)
            message = f"unknown comparison {tag!r} (expected one of {', '.join(COMPARISON_KINDS)})"
        elif problem["type"] == "union_tag_not_found":
            location += ("kind",)
            message = f"missing; one of {', '.join(COMPARISON_KINDS)}"
        elif problem["type"] == "extra_forbidden":
            message = "unknown key"
        elif message.startswith("Value error, "):
            message = message.removeprefix("Value error, ")
        lines.append(f"{display}: {_key_path(location)}: {message}")
    return "\n".join(lines)


def load_yaml(path: Path) -> Any:
    """Parse a rules file; syntax errors name the file and line."""
    display = _display(path)
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{display}: not found") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise ConfigError(f"{display}{where}: not valid YAML: {exc}") from exc


def load_matching_rules(path: Path | None = None) -> MatchingRules:
    """Read and validate matching.yaml (default: the active rules directory)."""
    path = path or rules_dir() / "matching.yaml"
    raw = load_yaml(path)
    if not isinstance(raw, dict):
        raise ConfigError(f"{_display(path)}: expected a mapping with blocking_rules, comparisons, ...")
    try:
        return MatchingRules.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(_display(path), exc)) from exc


class NicknameFile(_Strict):
    groups: list[Annotated[list[Annotated[str, Field(pattern=r"^[a-z][a-z -]*$")]], Field(min_length=2)]]


def load_nicknames(path: Path | None = None) -> list[tuple[str, int]]:
    """(name, group number) rows from identity_rules/nicknames.yaml."""
    path = path or rules_dir() / "nicknames.yaml"
    raw = load_yaml(path)
    try:
        parsed = NicknameFile.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(_display(path), exc)) from exc
    return [(name, index) for index, group in enumerate(parsed.groups) for name in group]
