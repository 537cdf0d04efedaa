"""The report's sections: items in impact order, the decision a steward can record, and caps.

An item is a plain dict the template and the CSV writer both read. Every item carries
`regions` and `legal_entities` (what the page filters on) and `commands`: (label, command line)
pairs for `aeglobal steward decide` where a decision applies.
"""

import json
import shlex
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

from aeglobal_pipeline.config import ConfigError
from aeglobal_pipeline.identity.decisions import load_decisions
from aeglobal_pipeline.identity.links import comparison_levels
from aeglobal_pipeline.identity.model import MODEL_FILE, latest_model, models_dir
from aeglobal_pipeline.report.queries import SectionRows

# The page keeps every legal entity visible under a filter: up to this many items per entity
# and section, and never more than MAX_ITEMS_PER_SECTION in all. The CSV files hold everything.
ITEMS_PER_ENTITY = 150
MAX_ITEMS_PER_SECTION = 600
# Fields whose disagreement may mean two people were merged, so a cannot-link can be the answer.
IDENTITY_FIELDS = ("given_name", "family_name", "email", "birthdate")
CONTACT_FIELDS = ("phone", "mobile", "company")

_RECORD_COLUMNS = ("name", "email", "phone", "company", "country", "source")
UNCERTAIN_COLUMNS = (
    "record_key_a", "record_key_b", "match_probability", "match_weight", "currently",
    "global_person_id_a", "global_person_id_b", "records_affected",
    *(f"{c}_a" for c in _RECORD_COLUMNS), *(f"{c}_b" for c in _RECORD_COLUMNS),
    "evidence", "must_link_command", "cannot_link_command",
)
CLUSTER_COLUMNS = (
    "global_person_id", "records", "sources", "distinct_family_names", "at_size_limit", "regions",
    "legal_entities", "record_keys", "names", "weakest_link", "weakest_link_weight",
    "cannot_link_command",
)
CONFLICT_COLUMNS = (
    "global_person_id", "field", "winner_value", "winner_record_key", "loser_values",
    "loser_record_keys", "rule", "detail", "regions", "legal_entities", "cannot_link_command",
)
GOVERNANCE_COLUMNS = ("finding_type", "source", "object", "region", "legal_entity", "subject",
                      "record_count", "detail", "action")
REJECT_COLUMNS = ("run_id", "source", "region", "legal_entity", "object", "record_id", "field",
                  "old_value", "new_value", "rule", "status", "error", "at")


@dataclass
class Section:
    key: str
    title: str
    order: str  # how items are ranked, shown in the page
    action: str  # what a steward does about an item
    columns: tuple[str, ...]  # CSV columns, read from each item
    items: list[dict[str, Any]] = field(default_factory=list)
    missing: str | None = None
    note: str | None = None
    shown: list[dict[str, Any]] = field(default_factory=list)

    @property
    def csv_name(self) -> str:
        return f"steward_report_{self.key}.csv"

    @property
    def total(self) -> int:
        return len(self.items)


def decide_command(kind: str, record_a: str, record_b: str, why: str) -> str:
    """The exact `aeglobal steward decide` line; the steward edits only the reason."""
    return (f"aeglobal steward decide {kind} {shlex.quote(record_a)} {shlex.quote(record_b)} "
            f'--by "$USER" --why {shlex.quote(why)}')


Decided = dict[tuple[str, str], str]  # (record key, record key) sorted → "must-link" | "cannot-link"


def decided_pairs() -> Decided:
    """The pairs steward_decisions.yaml already decides (they need no second decision)."""
    try:
        decisions = load_decisions()
    except ConfigError:
        return {}  # the identity step reports a broken file by name; the report still renders
    pairs = {(a, b): "must-link" for a, b, _ in decisions.must_links}
    return pairs | {(a, b): "cannot-link" for a, b, _ in decisions.cannot_links}


def decision(label: str, kind: str, record_a: str, record_b: str, why: str,
             decided: Decided) -> tuple[str, str]:
    """(label, command) — or a note without a command when the pair is decided already."""
    already = decided.get(tuple(sorted((record_a, record_b))))
    if already:
        return f"already decided: {already} in steward_decisions.yaml", ""
    return label, decide_command(kind, record_a, record_b, why)


def cap(items: list[dict[str, Any]], per_entity: int = ITEMS_PER_ENTITY,
        max_items: int = MAX_ITEMS_PER_SECTION) -> list[dict[str, Any]]:
    """The first items by impact, at most `per_entity` per (first) legal entity."""
    taken: Counter[str] = Counter()
    shown = []
    for item in items:
        entity = (item.get("legal_entities") or [""])[0]
        if taken[entity] >= per_entity:
            continue
        taken[entity] += 1
        shown.append(item)
        if len(shown) >= max_items:
            break
    return shown


def comparison_labels(model_version: str | None) -> dict[tuple[str, int], str]:
    """(comparison, gamma) → the level's readable label, from the model that scored the links."""
    path = models_dir() / model_version / MODEL_FILE if model_version else None
    if path is None or not path.is_file():
        artefact = latest_model()
        path = artefact.model_path if artefact else None
    if path is None:
        return {}
    model = json.loads(path.read_text(encoding="utf-8"))
    return {(name, gamma): label for name, gamma, label in comparison_levels(model)}


def readable_evidence(evidence: str | None, labels: dict[tuple[str, int], str]) -> list[dict[str, Any]]:
    """Per comparison: the level reached and its match weight (as identity.links.evidence_labels)."""
    if not evidence:
        return []
    return [
        {"comparison": name, "level": labels.get((name, gamma), f"level {gamma}"),
         "match_weight": weight}
        for name, (gamma, weight) in json.loads(evidence).items()
    ]


def _join(values) -> str:
    return " | ".join("" if v is None else str(v) for v in values or [])


def _record(row: dict[str, Any], side: str) -> dict[str, Any]:
    def get(column: str) -> Any:
        return row.get(f"{column}_{side}")

    return {
        "key": row[f"record_key_{side}"],
        "name": " ".join(v for v in (get("given_name"), get("family_name")) if v),
        "email": get("email"), "phone": get("phone_e164"), "mobile": get("mobile_e164"),
        "company": get("company"), "country": get("country_code"),
        "source": f"{get('source') or '?'} {get('object') or ''}".strip(),
        "region": get("region"), "legal_entity": get("legal_entity"),
        "person": row.get(f"person_{side}"),
    }


def uncertain_section(data: SectionRows, labels: dict[tuple[str, int], str], decided: Decided) -> Section:
    items, already = [], 0
    for row in data.rows:
        if tuple(sorted((row["record_key_a"], row["record_key_b"]))) in decided:
            already += 1  # the next run applies the decision; nothing left to decide
            continue
        a, b = _record(row, "a"), _record(row, "b")
        evidence = readable_evidence(row["evidence"], labels)
        must = ("same person", decide_command("must-link", a["key"], b["key"], "same person: <reason>"))
        cannot = ("different people",
                  decide_command("cannot-link", a["key"], b["key"], "different people: <reason>"))
        items.append({
            "a": a, "b": b, "evidence": evidence, "linked": bool(row["linked"]),
            "match_probability": row["match_probability"], "match_weight": row["match_weight"],
            "records_affected": row["records_affected"],
            "regions": sorted({r for r in (a["region"], b["region"]) if r}),
            "legal_entities": sorted({e for e in (a["legal_entity"], b["legal_entity"]) if e}),
            # The likelier correction first: a kept-apart pair may be one person, and vice versa.
            "commands": [cannot, must] if row["linked"] else [must, cannot],
            "csv": {
                "record_key_a": a["key"], "record_key_b": b["key"],
                "match_probability": row["match_probability"], "match_weight": row["match_weight"],
                "currently": "one person" if row["linked"] else "kept apart",
                "global_person_id_a": a["person"], "global_person_id_b": b["person"],
                "records_affected": row["records_affected"],
                **{f"{k}_a": a[k] for k in _RECORD_COLUMNS},
                **{f"{k}_b": b[k] for k in _RECORD_COLUMNS},
                "evidence": "; ".join(f"{e['comparison']}: {e['level']} ({e['match_weight']:+.2f})"
                                      for e in evidence),
                "must_link_command": must[1], "cannot_link_command": cannot[1],
            },
        })
    return Section(
        "uncertain_matches", "Uncertain matches",
        "most records affected by the decision first, then the likeliest match",
        "Compare the two records and the evidence; record a must-link or a cannot-link.",
        UNCERTAIN_COLUMNS,
        items, data.missing,
        note=(f"Left out: {already} already decided in steward_decisions.yaml." if already else None),
    )


def large_cluster_section(data: SectionRows, decided: Decided) -> Section:
    limit = data.context.get("max_cluster_size")
    items = []
    for row in data.rows:
        members = list(zip(row["record_keys"], row["names"], strict=True))
        commands = []
        if row["weakest_a"]:
            commands.append(decision("split at the weakest link", "cannot-link", row["weakest_a"],
                                     row["weakest_b"], "different people: <reason>", decided))
        at_limit = limit is not None and row["records"] >= limit
        items.append({
            **row, "members": members, "at_limit": at_limit, "commands": commands,
            "csv": {
                "global_person_id": row["global_person_id"], "records": row["records"],
                "sources": row["sources"], "distinct_family_names": row["family_names"],
                "at_size_limit": at_limit, "regions": _join(row["regions"]),
                "legal_entities": _join(row["legal_entities"]),
                "record_keys": _join(row["record_keys"]), "names": _join(row["names"]),
                "weakest_link": f"{row['weakest_a']} ~ {row['weakest_b']}" if row["weakest_a"] else "",
                "weakest_link_weight": row["weakest_weight"],
                "cannot_link_command": commands[0][1] if commands else "",
            },
        })
    minimum = data.context.get("min_records")
    return Section(
        "large_clusters", "Largest clusters",
        "most records first, then most distinct family names",
        "Check the members are one person; if not, cut at the weakest link with a cannot-link.",
        CLUSTER_COLUMNS,
        items, data.missing,
        note=(f"Persons with at least {minimum} records; matching.yaml caps a cluster at {limit}."
              if minimum else None),
    )


def _conflict_item(row: dict[str, Any], commands: list[tuple[str, str]]) -> dict[str, Any]:
    losers = list(zip(row["loser_record_keys"] or [], row["loser_values"] or [], strict=False))
    return {
        **row, "losers": losers, "commands": commands,
        "regions": row["regions"] or [], "legal_entities": row["legal_entities"] or [],
        "csv": {
            "global_person_id": row["global_person_id"], "field": row["field"],
            "winner_value": row["winner_value"], "winner_record_key": row["winner_record_key"],
            "loser_values": _join(row["loser_values"]),
            "loser_record_keys": _join(row["loser_record_keys"]),
            "rule": row["rule"], "detail": row["detail"] or "",
            "regions": _join(row["regions"]), "legal_entities": _join(row["legal_entities"]),
            "cannot_link_command": commands[0][1] if commands else "",
        },
    }


def _first_loser_command(row: dict[str, Any], why: str, decided: Decided) -> list[tuple[str, str]]:
    losers = row["loser_record_keys"] or []
    if not losers or not row["winner_record_key"]:
        return []
    return [decision("if these are different people", "cannot-link", row["winner_record_key"],
                     losers[0], why, decided)]


def field_conflict_section(data: SectionRows, decided: Decided) -> Section:
    def rank(row: dict[str, Any]) -> tuple:
        field_rank = (0 if row["field"] in IDENTITY_FIELDS else 1 if row["field"] in CONTACT_FIELDS
                      else 2)
        return field_rank, -len(row["loser_record_keys"] or []), row["global_person_id"], row["field"]

    items = []
    for row in sorted(data.rows, key=rank):
        commands = (_first_loser_command(row, f"different people: {row['field']} differs", decided)
                    if row["field"] in IDENTITY_FIELDS else [])
        items.append(_conflict_item(row, commands))
    return Section(
        "field_conflicts", "Field conflicts",
        "names and e-mail first (they may mean a wrong merge), then the most losing records",
        "Check the winner; fix the value in its source or change identity_rules/precedence.yaml. "
        "Different names or e-mails may be two people: record a cannot-link.",
        CONFLICT_COLUMNS,
        items, data.missing,
    )


def consent_section(data: SectionRows, decided: Decided) -> Section:
    def rank(row: dict[str, Any]) -> tuple:
        return (row["detail"] is None, -len(row["legal_entities"] or []),
                -len(row["loser_record_keys"] or []), row["global_person_id"], row["field"])

    items = [
        _conflict_item(row, _first_loser_command(row, "different people: a wrong link spreads consent",
                                                 decided))
        for row in sorted(data.rows, key=rank)
    ]
    return Section(
        "consent_disagreements", "Consent disagreements",
        "possible re-subscriptions first, then persons spanning most legal entities",
        "The opt-out wins (most restrictive); confirm a re-subscription in the source system. "
        "If the records are two people, record a cannot-link so the opt-out stops spreading.",
        CONFLICT_COLUMNS,
        items, data.missing,
    )


GOVERNANCE_ACTIONS = {
    "unmapped_status": "map it in identity_rules/lifecycle.yaml (status_map.{region}.{object})",
    "undeclared_field": "declare it in identity_rules/field_dictionary.yaml or drop it at the source",
    "retention_exceeded": "review these persons for deletion (consent.yaml retention)",
}


def governance_section(data: SectionRows) -> Section:
    items = []
    for row in data.rows:
        action = GOVERNANCE_ACTIONS.get(row["finding_type"], "review").format(
            region=row["region"], object=row["object"])
        items.append({
            **row, "action": action, "commands": [],
            "regions": [row["region"]] if row["region"] else [],
            "legal_entities": [row["legal_entity"]] if row["legal_entity"] else [],
            "csv": {k: row[k] for k in GOVERNANCE_COLUMNS[:-1]} | {"action": action},
        })
    return Section(
        "governance_findings", "Unmapped statuses and undeclared fields",
        "unmapped statuses, then undeclared regional fields, then retention; most records first",
        "Change the rules file named in each row; the next run picks it up.",
        GOVERNANCE_COLUMNS,
        items, data.missing,
    )


def rejects_section(data: SectionRows) -> Section:
    items = []
    for row in data.rows:
        items.append({
            **row, "commands": [],
            "regions": [row["region"]] if row["region"] else [],
            "legal_entities": [row["legal_entity"]] if row["legal_entity"] else [],
            "csv": {k: row[k] for k in REJECT_COLUMNS},
        })
    run_id = data.context.get("run_id")
    return Section(
        "writeback_rejects", "Write-back rejects of the last run",
        "the most frequent error first",
        "Fix the record or the validation rule in the target org; the next run writes it again.",
        REJECT_COLUMNS,
        items, data.missing,
        note=(f"Applied write-back run {run_id}, finished "
              f"{data.context['finished_at'].astimezone(UTC):%Y-%m-%d %H:%M} UTC." if run_id else None),
    )


def build_sections(rows: dict[str, SectionRows], model_version: str | None,
                   decided: Decided | None = None) -> list[Section]:
    """All sections in page order, each capped for the page."""
    decided = decided or {}
    sections = [
        uncertain_section(rows["uncertain_matches"], comparison_labels(model_version), decided),
        large_cluster_section(rows["large_clusters"], decided),
        field_conflict_section(rows["field_conflicts"], decided),
        consent_section(rows["consent_disagreements"], decided),
        governance_section(rows["governance_findings"]),
        rejects_section(rows["writeback_rejects"]),
    ]
    for section in sections:
        section.shown = cap(section.items)
    return sections
