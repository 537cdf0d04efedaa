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

from pydantic import Field, ValidationError, field_validator, model_validator
from splink import SettingsCreator, block_on

from aeglobal_pipeline.config import ConfigError, read_yaml
from aeglobal_pipeline.identity.comparison_base import _Strict, check_columns
from aeglobal_pipeline.identity.comparisons import COMPARISON_KINDS, Comparison

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


BlockingRule = Annotated[list[str], Field(min_length=1)]


class Thresholds(_Strict):
    match_probability: float = Field(0.95, gt=0, lt=1)  # accept an edge at or above this
    grey_zone_lower: float = Field(0.5, gt=0, lt=1)  # keep pairs above this for stewards
    max_cluster_size: int = Field(50, ge=2)  # larger clusters are cut on their weakest edges
    # The write-back's confidence gate (governance reads it): person fields are written only to
    # records whose best link to their person is at or above this (or deterministic).
    write_probability: float | None = Field(None, gt=0, le=1)

    @model_validator(mode="after")
    def _ordered(self):
        if self.grey_zone_lower > self.match_probability:
            raise ValueError("grey_zone_lower must not exceed match_probability")
        if self.write_probability is not None and self.write_probability < self.match_probability:
            raise ValueError("write_probability must not be below match_probability (it would gate nothing)")
        return self


class DeterministicRules(_Strict):
    """Deterministic rules and their assumed recall estimate how rare a random match is."""

    deterministic_rules: list[BlockingRule] = Field(min_length=1)
    recall: float = Field(gt=0, le=1)
    # The comparison levels at which two records of one person agree on every column of the
    # (one) rule. Given, the assumed recall only seeds training: once EM has run, the recall is
    # the trained m-probabilities of these levels multiplied (comparisons independent, as
    # Fellegi-Sunter takes them) times the share of pairs where both records hold the rule's
    # columns, and the prior is estimated again. An estate whose records of one
    # person rarely agree on name and birthdate (FEBRL3: 32%) would otherwise get a prior half
    # its size from an assumed 60%.
    recall_from_model: dict[str, list[str]] | None = None

    @model_validator(mode="after")
    def _one_rule_for_model_recall(self):
        if self.recall_from_model and len(self.deterministic_rules) != 1:
            raise ValueError("recall_from_model needs exactly one deterministic rule (its recall alone)")
        return self

    @field_validator("deterministic_rules")
    @classmethod
    def _known(cls, rules: list[list[str]]) -> list[list[str]]:
        for rule in rules:
            check_columns(rule)
        return rules


class PriorEstimate(DeterministicRules):
    # Tried in order when the rules above find no pair in the data (no e-mail at all, say);
    # when none finds one, the model keeps Splink's default prior and the manifest says so.
    fallback: list[DeterministicRules] = Field(default_factory=list)


class Training(_Strict):
    seed: int = 42
    # Below this many records there are too few pairs to learn from: the model keeps Splink's
    # default m/u values (deterministic links and steward decisions still apply).
    min_records: int = Field(1000, ge=0)
    u_max_pairs: int = Field(2_000_000, ge=1000)
    em_blocking_rules: list[BlockingRule] = Field(min_length=1)
    # Run only while a comparison is still untrained after the sessions above (data without
    # e-mail or mobile: nothing else trains the name comparison).
    em_fallback_blocking_rules: list[BlockingRule] = Field(default_factory=list)
    # A session whose blocking rule pairs fewer records than this is skipped (and recorded).
    min_session_pairs: int = Field(100, ge=1)
    em_max_iterations: int = Field(25, ge=1)
    prior: PriorEstimate

    @field_validator("em_blocking_rules", "em_fallback_blocking_rules")
    @classmethod
    def _known(cls, rules: list[list[str]]) -> list[list[str]]:
        for rule in rules:
            check_columns(rule)
        return rules


Levels = dict[str, list[str]]


class WhereCommon(_Strict):
    """Where the estate's own trained model finds a veto's `when` levels common among one
    person's record pairs (their m-probabilities add up to at least `m_probability`), the
    contradiction is how this data is corrupted, not how relatives differ: the veto also yields
    to the `unless` alternatives listed here. The decision is the model's, so it holds for every
    run that reuses the model and is recorded in its manifest."""

    m_probability: float = Field(gt=0, lt=1)
    unless: list[Annotated[Levels, Field(min_length=1)]] = Field(min_length=1)


class NeverLink(_Strict):
    """The model never links a pair at any of the `when` levels (all comparisons listed must
    match) unless strong evidence overrides it. `unless` is either a mapping (any one of its
    comparisons at one of its levels overrides) or a list of mappings (any one mapping whose
    comparisons ALL hold overrides: `[{birthdate: [exact], location: [address]}]`)."""

    when: Levels = Field(min_length=1)
    unless: Levels | list[Annotated[Levels, Field(min_length=1)]] = Field(default_factory=dict)
    # Also never in one person through third records (twins both linked by a record that lacks
    # the given name): clustering treats such a pair like a steward's cannot-link.
    across_chains: bool = False
    where_common: WhereCommon | None = None
    why: str = ""

    def unless_groups(self) -> list[Levels]:
        """`unless` as alternatives, each a mapping whose entries must all hold."""
        if isinstance(self.unless, dict):
            return [{name: levels} for name, levels in self.unless.items()]
        return list(self.unless)


class LinkOn(_Strict):
    """The model links a pair at all the `when` levels whatever its score (a never_link_on veto
    still wins): the deterministic rules of commercial matchers ("exact name and the same
    mobile"), for evidence Fellegi-Sunter underrates because a job change's disagreements
    (company, office, work phone and e-mail) move together and are counted as independent."""

    when: Levels = Field(min_length=1)
    why: str = ""


class MatchingRules(_Strict):
    version: Literal[1] = 1
    blocking_rules: list[BlockingRule] = Field(min_length=1)
    comparisons: list[Comparison] = Field(min_length=1)
    never_link_on: list[NeverLink] = Field(default_factory=list)
    link_on: list[LinkOn] = Field(default_factory=list)
    thresholds: Thresholds = Thresholds()
    training: Training

    @field_validator("blocking_rules")
    @classmethod
    def _known(cls, rules: list[list[str]]) -> list[list[str]]:
        for rule in rules:
            check_columns(rule)
        return rules

    @model_validator(mode="after")
    def _unique_names(self):
        names = [c.name for c in self.comparisons]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate comparison names: {duplicates}")
        by_name = {c.name: c for c in self.comparisons}
        parts = [(f"link_on[{index}].when", rule.when) for index, rule in enumerate(self.link_on)]
        for index, rule in enumerate(self.never_link_on):
            single = isinstance(rule.unless, dict)
            parts += [(f"never_link_on[{index}].when", rule.when)] + [
                (f"never_link_on[{index}].unless" + ("" if single else f"[{i}]"), group)
                for i, group in enumerate([rule.unless] if single else rule.unless)
            ]
            if rule.where_common is not None:
                parts += [(f"never_link_on[{index}].where_common.unless[{i}]", group)
                          for i, group in enumerate(rule.where_common.unless)]
        prior = self.training.prior
        parts += [(where, option.recall_from_model) for where, option in
                  [("training.prior", prior)]
                  + [(f"training.prior.fallback[{i}]", f) for i, f in enumerate(prior.fallback)]
                  if option.recall_from_model]
        for part, mapping in parts:
            for name, levels in mapping.items():
                where = f"{part}.{name}"
                comparison = by_name.get(name)
                if comparison is None:
                    raise ValueError(f"{where}: no comparison named {name!r}")
                known = comparison.level_ids()
                unknown = [level for level in levels if level not in known]
                if unknown or not known:
                    raise ValueError(f"{where}: unknown level(s) {unknown}; known: {known}")
        return self

    def gamma(self, comparison: str, level: str) -> int:
        """Splink's gamma value of a named level (null level -1, then n-2 … 0 in level order)."""
        ids = next(c for c in self.comparisons if c.name == comparison).level_ids()
        return len(ids) - 1 - ids.index(level) if level != "null" else -1

    def veto_conditions(self, *, across_chains: bool | None = None, model: dict[str, Any] | None = None,
                        ) -> list[tuple[dict[str, list[int]], list[dict[str, list[int]]]]]:
        """never_link_on as (when, unless groups): dicts of comparison → gamma values; only the
        rules with that `across_chains` setting when it is given. With the trained Splink
        `model`, a rule whose `when` levels the model finds common within one person also
        yields to its `where_common.unless`."""

        def gammas(part: Levels) -> dict[str, list[int]]:
            return {name: [self.gamma(name, level) for level in levels] for name, levels in part.items()}

        yielding = {entry["rule"] for entry in self.where_common_report(model) if entry["yields"]}
        return [(gammas(rule.when),
                 [gammas(group) for group in rule.unless_groups()
                  + (rule.where_common.unless if index in yielding else [])])
                for index, rule in enumerate(self.never_link_on)
                if across_chains is None or rule.across_chains == across_chains]

    def where_common_report(self, model: dict[str, Any] | None) -> list[dict[str, Any]]:
        """Per never_link_on rule with `where_common`: the trained probability that two records
        of one person compare at its `when` levels (comparisons taken as independent, as
        Fellegi-Sunter does; an untrained level counts 0), and whether the veto yields."""
        if model is None:
            return []
        report = []
        for index, rule in enumerate(self.never_link_on):
            if rule.where_common is None:
                continue
            probability = self.m_probability_of(model, rule.when)
            report.append({"rule": index, "when": rule.when, "m_probability": round(probability, 5),
                           "at_least": rule.where_common.m_probability,
                           "yields": probability >= rule.where_common.m_probability})
        return report

    def m_probability_of(self, model: dict[str, Any], levels: Levels) -> float:
        """The trained probability that two records of one person compare at `levels` (any of
        a comparison's listed levels, every comparison listed): m-probabilities summed within a
        comparison and multiplied across comparisons (independent, as Fellegi-Sunter takes
        them); an untrained level counts 0, the null level has no m-probability."""
        by_name = {c["output_column_name"]: c for c in model["comparisons"]}
        probability = 1.0
        for name, wanted in levels.items():
            trained = [lv for lv in by_name[name]["comparison_levels"] if not lv.get("is_null_level")]
            probability *= sum(
                trained[len(trained) - 1 - self.gamma(name, level)].get("m_probability") or 0.0
                for level in wanted if level != "null"
            )
        return probability

    def link_conditions(self) -> list[dict[str, list[int]]]:
        """link_on as dicts of comparison → gamma values (all entries of one must hold)."""
        return [{name: [self.gamma(name, level) for level in levels] for name, levels in rule.when.items()}
                for rule in self.link_on]

    def splink_settings(self) -> dict[str, Any]:
        """A JSON-serialisable Splink settings dict (dedupe over all records)."""
        creator = SettingsCreator(
            link_type="dedupe_only",
            unique_id_column_name=UNIQUE_ID,
            # As dicts, so every comparison carries the name matching.yaml gives it.
            comparisons=[
                {**c.build().create_comparison_dict("duckdb"), "output_column_name": c.name}
                for c in self.comparisons
            ],
            blocking_rules_to_generate_predictions=[block_on(*rule) for rule in self.blocking_rules],
            retain_intermediate_calculation_columns=True,  # per-comparison evidence for stewards
            retain_matching_columns=True,
            additional_columns_to_retain=list(RETAINED_COLUMNS),
            max_iterations=self.training.em_max_iterations,
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
        key = _key_path(location)
        lines.append(f"{display}: {key}: {message}" if key else f"{display}: {message}")
    return "\n".join(lines)


def load_yaml(path: Path) -> Any:
    """Parse a rules file; syntax errors name the file and line."""
    return read_yaml(path, _display(path))


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
