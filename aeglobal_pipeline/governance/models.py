"""Pydantic models of the five governance rules files; loading and error messages: rules.py."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

# Derived per person, not by survivorship; still subject to the dictionary and sharing. The
# survivorship fields are the dictionary's `survivorship: true` ones (FieldDictionary.survivorship_fields).
DERIVED_FIELDS = ("global_person_id", "lifecycle_stage")
WRITE_POLICIES = ("fill_empty", "correct", "never")
MATCH_FORMS = ("name", "email", "phone", "company", "lower_trim", "postal", "place", "exact")
STRATEGIES = ("source_priority", "most_recent", "most_frequent", "most_restrictive")
ROLES = ("owning_crm", "owning_ae", "any_crm", "any_ae")
OBJECTS = ("Lead", "Contact", "Prospect")
SIGNALS = (
    "business_email", "has_phone", "has_mobile", "has_company", "multi_source",
    "recent_activity", "ae_score_at_least", "ae_grade_in", "field_present",
)  # fmt: skip
SOURCE_NAME = re.compile(r"^[a-z0-9_]+$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _role_or_source(value: str, extra: tuple[str, ...] = ()) -> str:
    if value in ROLES or value in extra:
        return value
    if SOURCE_NAME.match(value) and not value.startswith(("owning", "any")):
        return value  # a source name; whether it exists depends on sources.yaml
    raise ValueError(f"unknown role {value!r} (expected one of {', '.join(ROLES + extra)} or a source name)")


# --- precedence.yaml ---------------------------------------------------------------------------


class FieldRule(_Strict):
    strategy: str | None = None
    priority: list[str] | None = None
    ignore_empty: bool | None = None
    # true: the priority list decides before support (how many independent records agree)
    authoritative: bool | None = None

    @field_validator("strategy")
    @classmethod
    def _known_strategy(cls, value: str | None) -> str | None:
        if value is not None and value not in STRATEGIES:
            raise ValueError(f"unknown strategy {value!r} (expected one of {', '.join(STRATEGIES)})")
        return value

    @field_validator("priority")
    @classmethod
    def _known_roles(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            if not value:
                raise ValueError("priority must name at least one role or source")
            for item in value:
                _role_or_source(item)
            if len(set(value)) != len(value):
                raise ValueError(f"priority lists a role twice: {value}")
        return value


class ProtectedField(_Strict):
    field: str
    targets: list[str] = Field(min_length=1)
    reason: str

    @field_validator("targets")
    @classmethod
    def _known_targets(cls, value: list[str]) -> list[str]:
        return [_role_or_source(v, ("any",)) for v in value]


class Precedence(_Strict):
    version: Literal[1]
    default: FieldRule
    fields: dict[str, FieldRule] = Field(default_factory=dict)
    region_overrides: dict[str, dict[str, FieldRule]] = Field(default_factory=dict)
    protected_fields: list[ProtectedField] = Field(default_factory=list)
    # How many more independent records the other given/family order needs before a record's
    # order counts as swapped (a worse form, corrected); a smaller margin leaves the order to stewards.
    name_order_margin: int = Field(2, ge=1)

    def resolve(self, field: str, region: str | None = None) -> tuple[str, list[str], bool]:
        """(strategy, priority, ignore_empty) of a field, default ← field ← region override."""
        layers = [self.default, self.fields.get(field)]
        if region is not None:
            layers.append(self.region_overrides.get(region, {}).get(field))
        strategy, priority, ignore_empty = "source_priority", list(ROLES), True
        for layer in layers:
            if layer is None:
                continue
            strategy = layer.strategy or strategy
            priority = layer.priority or priority
            ignore_empty = ignore_empty if layer.ignore_empty is None else layer.ignore_empty
        return strategy, priority, ignore_empty

    def is_authoritative(self, field: str, region: str | None = None) -> bool:
        layers = [self.default, self.fields.get(field)]
        if region is not None:
            layers.append(self.region_overrides.get(region, {}).get(field))
        found = False
        for layer in layers:
            if layer is not None and layer.authoritative is not None:
                found = layer.authoritative
        return found

    def problems(self) -> list[tuple[str, str]]:
        found = []
        if self.default.strategy is None:
            found.append(("default.strategy", "a default strategy is required"))
        if self.default.strategy == "most_restrictive":
            found.append(("default.strategy", "most_restrictive applies to boolean fields only"))
        return found

    def field_problems(self, fields: dict[str, str]) -> list[tuple[str, str]]:
        """Keys naming a field the dictionary does not resolve by survivorship (`fields`: name →
        type), or a most_restrictive strategy on a non-boolean field."""
        found = []
        scopes = [("fields", None, self.fields)] + [
            (f"region_overrides.{region}", region, rules) for region, rules in self.region_overrides.items()
        ]
        for prefix, region, rules in scopes:
            for field in rules:
                key = f"{prefix}.{field}"
                if field not in fields:
                    expected = ", ".join(fields)
                    found.append((key, f"unknown field {field!r} (expected one of {expected}: "
                                       "the survivorship fields of field_dictionary.yaml)"))
                    continue
                strategy, _, _ = self.resolve(field, region)
                if strategy == "most_restrictive" and fields[field] != "boolean":
                    message = f"most_restrictive applies to boolean fields only, not {field!r}"
                    found.append((f"{key}.strategy", message))
        for index, entry in enumerate(self.protected_fields):
            if entry.field not in fields:
                found.append((f"protected_fields[{index}].field", f"unknown field {entry.field!r}"))
        return found


# --- consent.yaml ------------------------------------------------------------------------------


class Channel(_Strict):
    field: str
    propagation: Literal["legal_entity", "global"]
    opt_in_evidence_fields: list[str] = Field(default_factory=list)
    # Whether `field` is a boolean survivorship field is checked against the dictionary (rules.py).


class Regime(_Strict):
    regime: Literal["opt_in", "opt_out"]
    retention_days: int = Field(gt=0)
    law: str = ""


class CountryRegime(Regime):
    countries: list[str] = Field(min_length=1)

    @field_validator("countries")
    @classmethod
    def _alpha2(cls, value: list[str]) -> list[str]:
        bad = [c for c in value if not re.fullmatch(r"[A-Z]{2}", c)]
        if bad:
            raise ValueError(f"not ISO 3166-1 alpha-2 codes: {bad}")
        return value


class Consent(_Strict):
    version: Literal[1]
    channels: dict[Literal["email", "phone"], Channel]
    default_regime: Regime
    regimes: list[CountryRegime] = Field(default_factory=list)

    def problems(self) -> list[tuple[str, str]]:
        seen: dict[str, int] = {}
        found = []
        for index, regime in enumerate(self.regimes):
            for country in regime.countries:
                if country in seen:
                    message = f"{country} is already in regimes[{seen[country]}]"
                    found.append((f"regimes[{index}].countries", message))
                seen[country] = index
        return found


# --- sharing.yaml ------------------------------------------------------------------------------


class Crossing(_Strict):
    from_: str = Field(alias="from", min_length=1)
    to: str = Field(min_length=1)
    fields: list[str] = Field(min_length=1)
    reason: str = ""


class Sharing(_Strict):
    version: Literal[1]
    cross_entity_fields: list[str] = Field(default_factory=list)
    allow: list[Crossing] = Field(default_factory=list)


# --- field_dictionary.yaml ---------------------------------------------------------------------

ApiName = Field(pattern=r"^[A-Za-z][A-Za-z0-9_.]*$")


WritePolicy = Literal["fill_empty", "correct", "never"]
MatchForm = Literal["name", "email", "phone", "company", "lower_trim", "postal", "place", "exact"]
ObjectName = Literal["Lead", "Contact", "Prospect"]


class CentralField(_Strict):
    definition: str = Field(min_length=1)
    owner: str = Field(min_length=1)
    personal_data: bool = False
    api_names: dict[ObjectName, str] = Field(default_factory=dict)
    read_only_on: list[ObjectName] = Field(default_factory=list)
    # survivorship and write-back (field_dictionary.yaml's header explains each)
    survivorship: bool = False
    type: Literal["text", "date", "boolean"] = "text"
    match_form: MatchForm | None = None
    contact_point: bool = False
    employer_bound: bool = False
    write: WritePolicy = "fill_empty"
    write_on: dict[ObjectName, WritePolicy] = Field(default_factory=dict)
    normalize_on_write: bool = False
    max_length: int | None = Field(default=None, gt=0)

    def write_policy(self, object_name: str) -> str:
        return self.write_on.get(object_name, self.write)  # type: ignore[arg-type]

    def problems(self) -> list[tuple[str, str]]:
        found = []
        if self.survivorship and self.match_form is None:
            forms = ", ".join(MATCH_FORMS)
            found.append(("match_form", f"a survivorship field needs a match_form (one of {forms})"))
        if not self.survivorship and self.match_form is not None:
            found.append(("match_form", "only a survivorship field has a match_form"))
        policies = [("write", self.write)] + [(f"write_on.{o}", p) for o, p in self.write_on.items()]
        for key, policy in policies:
            if self.contact_point and policy == "correct":
                found.append((key, "a contact point is never replaced by another (a person may have "
                                   "several): use fill_empty or never"))
        for obj in self.write_on:
            if obj not in self.api_names:
                found.append((f"write_on.{obj}", f"the field has no API name on {obj}"))
        return found


class RegionalField(_Strict):
    object: Literal["Lead", "Contact", "Prospect"]
    api_name: str = ApiName
    definition: str = Field(min_length=1)
    owner: str = Field(min_length=1)


class FieldDictionary(_Strict):
    version: Literal[1]
    central_fields: dict[str, CentralField]
    system_fields: dict[Literal["Lead", "Contact", "Prospect"], list[str]] = Field(default_factory=dict)
    regional_fields: dict[str, list[RegionalField]] = Field(default_factory=dict)

    def survivorship_fields(self) -> dict[str, str]:
        """Name → type of every field survivorship resolves, in declaration order."""
        return {name: spec.type for name, spec in self.central_fields.items() if spec.survivorship}

    def problems(self) -> list[tuple[str, str]]:
        found = []
        for field in DERIVED_FIELDS:
            if field not in self.central_fields:
                found.append((f"central_fields.{field}", "required central field is missing"))
        if not self.survivorship_fields():
            found.append(("central_fields", "no field has `survivorship: true`"))
        for name, spec in self.central_fields.items():
            found += [(f"central_fields.{name}.{key}", message) for key, message in spec.problems()]
        return found


# --- lifecycle.yaml ----------------------------------------------------------------------------


class Stage(_Strict):
    name: str = Field(min_length=1)
    rank: int
    min_score: float | None = None


class ScoringRule(_Strict):
    signal: str
    points: float
    threshold: float | None = None
    values: list[str] | None = None
    field: str | None = None

    @field_validator("signal")
    @classmethod
    def _known_signal(cls, value: str) -> str:
        if value not in SIGNALS:
            raise ValueError(f"unknown signal {value!r} (expected one of {', '.join(SIGNALS)})")
        return value

    def problems(self) -> list[tuple[str, str]]:
        needs = {"recent_activity": "threshold", "ae_score_at_least": "threshold",
                 "ae_grade_in": "values", "field_present": "field"}  # fmt: skip
        wanted = needs.get(self.signal)
        if wanted and getattr(self, wanted) in (None, []):
            return [(wanted, f"signal {self.signal!r} needs {wanted!r}")]
        return []


class Scoring(_Strict):
    core: list[ScoringRule] = Field(default_factory=list)
    flex: dict[str, list[ScoringRule]] = Field(default_factory=dict)


class Lifecycle(_Strict):
    version: Literal[1]
    stages: list[Stage] = Field(min_length=1)
    status_map: dict[str, dict[Literal["Lead", "Contact", "Prospect"], dict[str, str]]]
    object_stages: dict[Literal["Lead", "Contact", "Prospect"], str] = Field(default_factory=dict)
    scoring: Scoring = Field(default_factory=Scoring)

    def problems(self) -> list[tuple[str, str]]:
        names = [s.name for s in self.stages]
        found = []
        for index, name in enumerate(names):
            if names.count(name) > 1:
                found.append((f"stages[{index}].name", f"stage {name!r} is declared twice"))
        known = set(names)
        for region, objects in self.status_map.items():
            for obj, statuses in objects.items():
                for status, stage in statuses.items():
                    if stage not in known:
                        found.append((f"status_map.{region}.{obj}.{status}", f"unknown stage {stage!r}"))
        for obj, stage in self.object_stages.items():
            if stage not in known:
                found.append((f"object_stages.{obj}", f"unknown stage {stage!r}"))
        rules = [("scoring.core", i, r) for i, r in enumerate(self.scoring.core)]
        for region, flex in self.scoring.flex.items():
            rules += [(f"scoring.flex.{region}", i, r) for i, r in enumerate(flex)]
        for prefix, index, rule in rules:
            found += [(f"{prefix}[{index}].{key}", msg) for key, msg in rule.problems()]
        return found
