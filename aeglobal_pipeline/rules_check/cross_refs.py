"""Checks across files: every name one file uses, the file that defines it must have.

- sources: precedence priorities and protected targets, steward decisions' record keys;
- legal entities: sharing.yaml `allow` crossings;
- objects: a decision's record key names an object its source has;
- regions: precedence overrides, lifecycle status maps and Flex scoring, regional fields. A region
  no source has is an error when it looks like a misspelling of one that does (`EMAE`, `emea`);
  otherwise a note, because shared rules may cover regions a deployment has not connected yet;
- country codes: ISO 3166-1 alpha-2 from pycountry's list (`UK` and `XX` are not codes);
- API names in the field dictionary: one Salesforce / Account Engagement name per entry.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from aeglobal_pipeline.governance.models import ROLES

# A Salesforce API name: a letter, then letters, digits and single underscores, not ending in
# one; custom names end in __c (or __pc, __r ...); a relationship path joins names with dots
# (Account.Name). Account Engagement names are camelCase.
_SEGMENT = r"[A-Za-z](?:[A-Za-z0-9]|_(?=[A-Za-z0-9]))*(?:__[a-z]{1,3})?"
API_NAME = re.compile(rf"^{_SEGMENT}(?:\.{_SEGMENT})*$")
Where = Callable[[str, tuple, str], Any]  # (file name, key path, message) → Problem


@dataclass
class Loaded:
    sources: Any = None  # config.SourcesFile
    governance: Any = None  # governance.rules.GovernanceRules
    decisions: Any = None  # identity.decisions.StewardDecisions


@cache
def iso_alpha2() -> frozenset[str]:
    import pycountry

    return frozenset(country.alpha_2 for country in pycountry.countries)


def country_problem(code: str) -> str | None:
    if code in iso_alpha2():
        return None
    hint = " (the United Kingdom is GB)" if code == "UK" else ""
    return f"{code!r} is not an ISO 3166-1 alpha-2 country code{hint}"


def cross_reference_problems(loaded: Loaded, at: Where, documents: set[str]) -> tuple[list, list[str]]:
    """(problems, notes). Runs only the checks whose files loaded."""
    problems: list = []
    notes: list[str] = []
    sources = loaded.sources
    if sources is not None:
        for i, source in enumerate(sources.sources):
            for j, code in enumerate(source.countries):
                if message := country_problem(code):
                    problems.append(at("sources.yaml", ("sources", i, "countries", j), message))
    rules = loaded.governance
    if rules is not None:
        for i, regime in enumerate(rules.consent.regimes):
            for j, code in enumerate(regime.countries):
                if message := country_problem(code):
                    problems.append(at("consent.yaml", ("regimes", i, "countries", j), message))
        problems += _api_names(rules.field_dictionary, at)
    if sources is None:
        return problems, notes
    if rules is not None:
        problems += _source_names(rules.precedence, sources, at)
        problems += _legal_entities(rules.sharing, sources, at)
        regions = Regions(sorted({s.region for s in sources.sources}), at, problems, notes)
        for region in rules.precedence.region_overrides:
            regions.check("precedence.yaml", ("region_overrides", region))
        for region in rules.lifecycle.status_map:
            regions.check("lifecycle.yaml", ("status_map", region))
        for region in rules.lifecycle.scoring.flex:
            regions.check("lifecycle.yaml", ("scoring", "flex", region))
        for region in rules.field_dictionary.regional_fields:
            regions.check("field_dictionary.yaml", ("regional_fields", region))
    if loaded.decisions is not None and "steward_decisions.yaml" in documents:
        problems += _decision_records(loaded.decisions, sources, at)
    return problems, notes


@dataclass
class Regions:
    known: list[str]
    at: Where
    problems: list
    notes: list[str]

    def check(self, name: str, path: tuple) -> None:
        region = path[-1]
        if region in self.known:
            return
        close = [k for k in self.known if k.lower() == str(region).lower()]
        close = close or difflib.get_close_matches(str(region), self.known, n=1, cutoff=0.6)
        listed = ", ".join(self.known)
        if close:
            self.problems.append(self.at(name, path, f"unknown region {region!r} (sources.yaml has "
                                                      f"{listed}; did you mean {close[0]!r}?)"))
        else:
            self.notes.append(f"note: {name}: {'.'.join(map(str, path))}: no source in sources.yaml "
                              f"has region {region!r} ({listed}); these rules apply to nothing yet")


def _source_names(precedence: Any, sources: Any, at: Where) -> list:
    known = [s.name for s in sources.sources]
    found = []
    scopes = [(("default",), precedence.default)]
    scopes += [(("fields", field), rule) for field, rule in precedence.fields.items()]
    scopes += [(("region_overrides", region, field), rule)
               for region, rules in precedence.region_overrides.items() for field, rule in rules.items()]
    listed = f"roles {', '.join(ROLES)} or sources in sources.yaml ({', '.join(known)})"
    for path, rule in scopes:
        for j, name in enumerate(rule.priority or []):
            if name not in ROLES and name not in known:
                found.append(at("precedence.yaml", (*path, "priority", j),
                                f"unknown source {name!r} (expected {listed})"))
    for i, entry in enumerate(precedence.protected_fields):
        for j, name in enumerate(entry.targets):
            if name not in ROLES and name != "any" and name not in known:
                found.append(at("precedence.yaml", ("protected_fields", i, "targets", j),
                                f"unknown source {name!r} (expected any, {listed})"))
    return found


def _legal_entities(sharing: Any, sources: Any, at: Where) -> list:
    known = sorted({s.legal_entity for s in sources.sources})
    found = []
    for i, crossing in enumerate(sharing.allow):
        for key, entity in (("from", crossing.from_), ("to", crossing.to)):
            if entity not in known:
                found.append(at("sharing.yaml", ("allow", i, key),
                                f"unknown legal entity {entity!r} (sources.yaml has {', '.join(known)})"))
    return found


def _api_names(dictionary: Any, at: Where) -> list:
    found = []
    for field, spec in dictionary.central_fields.items():
        for obj, api_name in spec.api_names.items():
            if not API_NAME.match(api_name):
                found.append(at("field_dictionary.yaml", ("central_fields", field, "api_names", obj),
                                f"{api_name!r} is not one API name (letters, digits, single "
                                "underscores; one name per object)"))
    for obj, names in dictionary.system_fields.items():
        for j, api_name in enumerate(names):
            if not API_NAME.match(api_name):
                found.append(at("field_dictionary.yaml", ("system_fields", obj, j),
                                f"{api_name!r} is not an API name"))
    return found


def _decision_records(decisions: Any, sources: Any, at: Where) -> list:
    by_name = {s.name: s for s in sources.sources}
    found = []
    for a, b, index in [*decisions.must_links, *decisions.cannot_links]:
        for key in (a, b):
            source_name, obj, _ = key.split(":", 2)
            source = by_name.get(source_name)
            if source is None:
                message = f"{key}: unknown source {source_name!r} (sources.yaml has {', '.join(by_name)})"
            elif obj not in source.objects:
                message = (f"{key}: source {source_name!r} ({source.kind}) has no {obj} records "
                           f"(it has {', '.join(source.objects)})")
            else:
                continue
            found.append(at("steward_decisions.yaml", ("decisions", index, "records"), message))
    return found
