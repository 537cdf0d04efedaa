"""The report's sections: items in impact order, the decision a steward can record, and caps.

DuckDB holds every item of a section (`queries`), writes the section's CSV file and hands
Python only the items the page shows: the first ITEMS_PER_ENTITY per legal entity, at most
MAX_ITEMS_PER_SECTION. An item on the page is a plain dict the template reads; every item
carries `regions` and `legal_entities` (what the page filters on) and `commands`: (label,
command line) pairs for `aeglobal steward decide` where a decision applies.
"""

import json
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any

import duckdb

from aeglobal_pipeline.config import ConfigError
from aeglobal_pipeline.identity.decisions import load_decisions
from aeglobal_pipeline.identity.links import comparison_levels
from aeglobal_pipeline.identity.model import MODEL_FILE, latest_model, models_dir
from aeglobal_pipeline.report import queries
from aeglobal_pipeline.report.sql import copy_csv, joined, load_decided, shown_rows

# The page keeps every legal entity visible under a filter: up to this many items per entity
# and section, and never more than MAX_ITEMS_PER_SECTION in all. The CSV files hold everything.
ITEMS_PER_ENTITY = 150
MAX_ITEMS_PER_SECTION = 600
SECTIONS_AT_ONCE = 2
LARGEST_FIRST = ("field_conflicts", "uncertain_matches")  # most of the work at any size

Row = dict[str, Any]
Decided = dict[tuple[str, str], str]  # (record key, record key) sorted → "must-link" | "cannot-link"
CsvColumns = tuple[tuple[str, str], ...]  # (CSV header, SQL expression over the section's table)


def _same(*names: str) -> CsvColumns:
    return tuple((name, name) for name in names)


_RECORD_COLUMNS = ("name", "email", "phone", "company", "country", "source")
UNCERTAIN_CSV: CsvColumns = (
    *_same("record_key_a", "record_key_b", "match_probability", "match_weight"),
    ("currently", "CASE WHEN linked THEN 'one person' ELSE 'kept apart' END"),
    *_same("global_person_id_a", "global_person_id_b", "records_affected"),
    *_same(*(f"{c}_a" for c in _RECORD_COLUMNS), *(f"{c}_b" for c in _RECORD_COLUMNS)),
    ("evidence", "evidence_text"),
    *_same("must_link_command", "cannot_link_command"),
)
CLUSTER_CSV: CsvColumns = (
    *_same("global_person_id", "records", "sources"),
    ("distinct_family_names", "family_names"),
    ("at_size_limit", "CASE WHEN at_limit THEN 'True' ELSE 'False' END"),
    *((name, joined(name)) for name in ("regions", "legal_entities", "record_keys", "names")),
    ("weakest_link", "CASE WHEN coalesce(weakest_a, '') <> '' THEN weakest_a || ' ~ ' || weakest_b END"),
    ("weakest_link_weight", "weakest_weight"),
    ("cannot_link_command", "cannot_link_command"),
)
CONFLICT_CSV: CsvColumns = (
    *_same("global_person_id", "field", "winner_value", "winner_record_key"),
    *((name, joined(name)) for name in ("loser_values", "loser_record_keys")),
    *_same("rule", "detail"),
    *((name, joined(name)) for name in ("regions", "legal_entities")),
    ("cannot_link_command", "cannot_link_command"),
)
GOVERNANCE_CSV: CsvColumns = _same("finding_type", "source", "object", "region", "legal_entity", "subject",
                                   "record_count", "detail", "action")
REJECT_CSV: CsvColumns = (
    *_same("run_id", "source", "region", "legal_entity", "object", "record_id", "field", "old_value",
           "new_value", "rule", "status", "error"),
    ("at", "at_text"),
)


@dataclass
class Section:
    key: str
    title: str
    order: str  # how items are ranked, shown in the page
    action: str  # what a steward does about an item
    columns: tuple[str, ...]  # CSV columns
    total: int = 0  # items in the section (every one is in the CSV file)
    shown: list[Row] = field(default_factory=list)  # the items on the page, impact order
    missing: str | None = None
    note: str | None = None

    @property
    def csv_name(self) -> str:
        return f"steward_report_{self.key}.csv"


def decided_pairs() -> Decided:
    """The pairs steward_decisions.yaml already decides (they need no second decision)."""
    try:
        decisions = load_decisions()
    except ConfigError:
        return {}  # the identity step reports a broken file by name; the report still renders
    pairs = {(a, b): "must-link" for a, b, _ in decisions.must_links}
    return pairs | {(a, b): "cannot-link" for a, b, _ in decisions.cannot_links}


def _decision(label: str, row: Row) -> list[tuple[str, str]]:
    """[(label, command)] — a note without a command when the pair is decided already — or []
    when no decision applies (no command column value)."""
    if row["cannot_link_command"] is None:
        return []
    if row["decided"]:
        return [(f"already decided: {row['decided']} in steward_decisions.yaml", "")]
    return [(label, row["cannot_link_command"])]


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


def _record(row: Row, side: str) -> Row:
    return {
        "key": row[f"record_key_{side}"],
        **{column: row[f"{column}_{side}"]
           for column in ("name", "email", "phone", "mobile", "company", "country", "source", "region",
                          "legal_entity")},
        "person": row[f"global_person_id_{side}"],
    }


def uncertain_item(row: Row, labels: dict[tuple[str, int], str]) -> Row:
    a, b = _record(row, "a"), _record(row, "b")
    must = ("same person", row["must_link_command"])
    cannot = ("different people", row["cannot_link_command"])
    return {
        "a": a, "b": b, "evidence": readable_evidence(row["evidence_json"], labels),
        "linked": bool(row["linked"]),
        "match_probability": row["match_probability"], "match_weight": row["match_weight"],
        "records_affected": row["records_affected"],
        "regions": sorted({r for r in (a["region"], b["region"]) if r}),
        "legal_entities": sorted({e for e in (a["legal_entity"], b["legal_entity"]) if e}),
        # The likelier correction first: a kept-apart pair may be one person, and vice versa.
        "commands": [cannot, must] if row["linked"] else [must, cannot],
    }


def cluster_item(row: Row) -> Row:
    return {**row, "members": list(zip(row["record_keys"], row["names"], strict=True)),
            "commands": _decision("split at the weakest link", row)}


def conflict_item(row: Row) -> Row:
    losers = list(zip(row["loser_record_keys"] or [], row["loser_values"] or [], strict=False))
    return {**row, "losers": losers, "commands": _decision("if these are different people", row)}


def single_scope_item(row: Row) -> Row:
    """A governance finding or a reject: one source, so one region and one legal entity."""
    return {**row, "commands": [],
            "regions": [row["region"]] if row["region"] else [],
            "legal_entities": [row["legal_entity"]] if row["legal_entity"] else []}


@dataclass(frozen=True)
class SectionSpec:
    key: str
    title: str
    order: str
    action: str
    csv: CsvColumns
    create: Callable[..., queries.SectionTable]  # (con, tables, labels) → the section's table
    item: Callable[..., Row]  # (shown row, labels) → page item
    note: Callable[[dict[str, Any]], str | None] = lambda context: None


def _rejects_note(context: dict[str, Any]) -> str | None:
    run_id = context.get("run_id")
    return (f"Applied write-back run {run_id}, finished "
            f"{context['finished_at'].astimezone(UTC):%Y-%m-%d %H:%M} UTC." if run_id else None)


SPECS = (
    SectionSpec(
        "uncertain_matches", "Uncertain matches",
        "most records affected by the decision first, then the likeliest match",
        "Compare the two records and the evidence; record a must-link or a cannot-link.",
        UNCERTAIN_CSV, queries.uncertain_matches, uncertain_item,
        lambda c: (f"Left out: {c['already_decided']} already decided in steward_decisions.yaml."
                   if c.get("already_decided") else None),
    ),
    SectionSpec(
        "large_clusters", "Largest clusters",
        "most records first, then most distinct family names",
        "Check the members are one person; if not, cut at the weakest link with a cannot-link.",
        CLUSTER_CSV, lambda con, tables, _: queries.large_clusters(con, tables),
        lambda row, _: cluster_item(row),
        lambda c: (f"Persons with at least {c['min_records']} records; matching.yaml caps a cluster at "
                   f"{c['max_cluster_size']}." if c.get("min_records") else None),
    ),
    SectionSpec(
        "field_conflicts", "Field conflicts",
        "names and e-mail first (they may mean a wrong merge), then the most losing records",
        "Check the winner; fix the value in its source or change identity_rules/precedence.yaml. "
        "Different names or e-mails may be two people: record a cannot-link.",
        CONFLICT_CSV, lambda con, tables, _: queries.conflicts(con, tables, "field_disagreement"),
        lambda row, _: conflict_item(row),
    ),
    SectionSpec(
        "consent_disagreements", "Consent disagreements",
        "possible re-subscriptions first, then persons spanning most legal entities",
        "The opt-out wins (most restrictive); confirm a re-subscription in the source system. "
        "If the records are two people, record a cannot-link so the opt-out stops spreading.",
        CONFLICT_CSV, lambda con, tables, _: queries.conflicts(con, tables, "consent_disagreement"),
        lambda row, _: conflict_item(row),
    ),
    SectionSpec(
        "governance_findings", "Unmapped statuses, undeclared fields, dropped values and links",
        "unmapped statuses, undeclared regional fields, retention, then links and values the "
        "person records left out (one per record); most records first",
        "Change the rules file named in each row, or fix the record it names; the next run picks "
        "it up.",
        GOVERNANCE_CSV, lambda con, tables, _: queries.governance_findings(con, tables),
        lambda row, _: single_scope_item(row),
    ),
    SectionSpec(
        "writeback_rejects", "Write-back rejects of the last run",
        "the most frequent error first",
        "Fix the record or the validation rule in the target org; the next run writes it again.",
        REJECT_CSV, lambda con, tables, _: queries.writeback_rejects(con, tables),
        lambda row, _: single_scope_item(row), _rejects_note,
    ),
)


def _write_csv(con: duckdb.DuckDBPyConnection, spec: SectionSpec, table: str | None, path: Path) -> int:
    """The section's CSV file, written beside the target and renamed (a reader never sees half
    a file); a section without data gets the header alone, so links in the page still open."""
    partial = path.with_name(path.name + ".partial")
    total = 0
    if table is None:
        partial.write_bytes((",".join(name for name, _ in spec.csv) + "\r\n").encode("utf-8"))
    else:
        total = copy_csv(con, table, list(spec.csv), partial)
    os.replace(partial, path)
    return total


def _read_section(con: duckdb.DuckDBPyConnection, spec: SectionSpec, tables: set[str],
                  labels: dict[tuple[str, int], str], decided: Decided, directory: Path) -> Section:
    # A cursor of its own (temporary tables belong to one connection), so sections run side by side.
    with con.cursor() as cursor:
        load_decided(cursor, decided)
        data = spec.create(cursor, tables, labels)
        section = Section(spec.key, spec.title, spec.order, spec.action,
                          tuple(name for name, _ in spec.csv), missing=data.missing)
        section.total = _write_csv(cursor, spec, data.table, directory / section.csv_name)
        if data.table is not None:
            rows = shown_rows(cursor, data.table, ITEMS_PER_ENTITY, MAX_ITEMS_PER_SECTION)
            section.shown = [spec.item(row, labels) for row in rows]
            section.note = spec.note(data.context)
    return section


def read_sections(con: duckdb.DuckDBPyConnection, directory: Path,
                  decided: Decided) -> tuple[list[Section], str | None]:
    """Every section in page order, its CSV file written to `directory`, and the model version
    the links came from. Two sections at a time: DuckDB leaves a core idle in parts of a query
    (final merges, ordered writes), which the other section's query then uses."""
    tables = queries.existing_tables(con)
    model_version = queries.model_version_of_links(con, tables)
    labels = comparison_labels(model_version)
    with ThreadPoolExecutor(max_workers=SECTIONS_AT_ONCE) as pool:
        # The largest sections first, so the two workers finish at about the same time.
        futures = {spec.key: pool.submit(_read_section, con, spec, tables, labels, decided, directory)
                   for spec in sorted(SPECS, key=lambda spec: spec.key not in LARGEST_FIRST)}
        sections = [futures[spec.key].result() for spec in SPECS]
    return sections, model_version
