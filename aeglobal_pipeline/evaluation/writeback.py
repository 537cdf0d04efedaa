"""`aeglobal evaluate`, write-back section: the current writeback_plan scored against the truth.

Inputs: the warehouse's `marts.writeback_plan`, the record → person truth (`X.truth.csv`) and the
persons' true attributes beside it (`X.truth_attributes.csv`, sandbox/truth_attributes.py). Each
plan row that changes a person field (names, e-mail, phones, company, address, country,
birthdate) is classified by evaluation/classify.py. Consent flags and the global id are not
person-field values: they are counted apart and not scored.

Persons are processed in batches, so memory follows the batch, not the plan.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from aeglobal_pipeline import warehouse
from aeglobal_pipeline.evaluation.classify import CATEGORIES, PersonTruth, classify
from aeglobal_pipeline.sandbox.truth_attributes import attributes_path
from aeglobal_pipeline.writeback.plan import DEFAULT_PLAN_RELATION

# Central fields that are not person-field values: counted, not scored.
NOT_SCORED = {"global_person_id": "global id", "email_opt_out": "consent", "phone_opt_out": "consent"}
# Plan field (central name) → truth field: every number of the person is a phone.
TRUTH_FIELD = {"mobile": "phone"}
EXAMPLES = 3
RECORDS_RELATION = "intermediate.int_person_records"
BATCH_PERSONS = 20_000


@dataclass
class Example:
    record_key: str
    field: str
    current_value: str | None
    new_value: str | None
    value_source: str
    rule: str
    detail: str

    def __str__(self) -> str:
        return (
            f"{self.record_key} {self.field}: {self.current_value!r} → {self.new_value!r} "
            f"[{self.detail}] from {self.value_source} by {self.rule}"
        )


@dataclass
class WritebackScore:
    changes: int = 0  # scored person-field changes
    counts: Counter = field(default_factory=Counter)  # category → changes
    by_field: dict[str, Counter] = field(default_factory=dict)  # truth field → category → changes
    examples: dict[str, list[Example]] = field(default_factory=dict)
    not_scored: Counter = field(default_factory=Counter)  # global id / consent / unknown field
    from_other_person: Counter = field(default_factory=Counter)  # category → value from another person
    unknown_targets: int = 0

    def share(self, category: str) -> float:
        return self.counts[category] / self.changes if self.changes else 0.0

    def to_dict(self) -> dict:
        return {
            "person_field_changes": self.changes,
            "counts": {c: self.counts[c] for c in CATEGORIES},
            "shares": {c: round(self.share(c), 4) for c in CATEGORIES},
            "good_fills_plus_fixes": self.counts["good_fill"] + self.counts["good_fix"],
            "by_field": {
                f: {c: n for c, n in sorted(counts.items())} for f, counts in sorted(self.by_field.items())
            },
            "values_from_another_person": dict(self.from_other_person),
            "not_scored": dict(self.not_scored),
            "examples": {c: [vars(e) for e in examples] for c, examples in self.examples.items()},
        }

    def __str__(self) -> str:
        lines = [f"write-back plan: {self.changes:,} person-field changes scored against the true attributes"]
        for category in CATEGORIES:
            lines.append(f"  {category:<24} {self.counts[category]:>8,}  {self.share(category):>7.2%}")
        lines.append(f"  good fills + fixes: {self.counts['good_fill'] + self.counts['good_fix']:,}")
        if self.from_other_person:
            taken = ", ".join(f"{c} {n}" for c, n in sorted(self.from_other_person.items()))
            lines.append(f"  values taken from another person's record (false merges): {taken}")
        skipped = ", ".join(f"{k} {n:,}" for k, n in sorted(self.not_scored.items())) or "none"
        lines.append(f"  not scored (not person-field values): {skipped}")
        lines.append(
            "  by field: "
            + "; ".join(
                f"{f} " + " ".join(f"{c}={n}" for c, n in sorted(counts.items()))
                for f, counts in sorted(self.by_field.items())
            )
        )
        for category in CATEGORIES:
            for example in self.examples.get(category, []):
                lines.append(f"  e.g. {category}: {example}")
        return "\n".join(lines)


def plan_fields() -> dict[tuple[str, str], str]:
    """(object, API name) → central field, from field_dictionary.yaml."""
    from aeglobal_pipeline.governance.rules import load_rules

    central = load_rules().field_dictionary.central_fields
    return {(obj, api): name for name, spec in central.items() for obj, api in spec.api_names.items()}


def score_writeback(
    truth_csv: Path, attributes_csv: Path | None = None, plan_relation: str = DEFAULT_PLAN_RELATION
) -> WritebackScore:
    """Score the warehouse's current plan (read-only) against the truth files."""
    attributes_csv = attributes_csv or attributes_path(truth_csv)
    if not Path(attributes_csv).exists():
        raise FileNotFoundError(f"{attributes_csv}: no truth attributes beside the truth file")
    with warehouse.connect(read_only=True) as con:
        # plan_relation is a constant or a test's table name, never user data. The target's
        # company (what the record shows as the person's employer) tells a record of a former job.
        key = "plan.target_source || ':' || plan.object || ':' || plan.record_id"
        columns = f"{key} AS record_key, plan.object, plan.field, plan.current_value, plan.new_value, "
        columns += "plan.value_source, plan.rule, records.company AS target_company"
        plan = con.sql(
            f"SELECT {columns} FROM {plan_relation} AS plan "  # noqa: S608
            f"LEFT JOIN {RECORDS_RELATION} AS records ON records.record_key = {key}"
        ).to_arrow_table()
    with duckdb.connect() as memory:
        memory.register("plan_arrow", plan)
        return score_plan(memory, "plan_arrow", Path(truth_csv), Path(attributes_csv), plan_fields())


def score_plan(
    con: duckdb.DuckDBPyConnection,
    plan: str,
    truth_csv: Path,
    attributes_csv: Path,
    fields: dict[tuple[str, str], str],
) -> WritebackScore:
    """Score relation `plan(record_key, object, field, current_value, new_value, value_source,
    rule[, target_company])` on `con`."""
    score = WritebackScore()
    con.read_csv(str(truth_csv), header=True, all_varchar=True).create_view("truth_records", replace=True)
    con.read_csv(str(attributes_csv), header=True, all_varchar=True).create_view(
        "truth_attributes", replace=True
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE truth_map AS SELECT source || ':' || object || ':' || record_id "
        "AS record_key, person_id FROM truth_records"
    )
    mapping = con.execute(
        "CREATE OR REPLACE TEMP TABLE field_map (object VARCHAR, field VARCHAR, name VARCHAR)"
    )
    mapping.executemany("INSERT INTO field_map VALUES (?, ?, ?)", [(o, a, n) for (o, a), n in fields.items()])
    has_company = "target_company" in {c.lower() for c in con.table(plan).columns}
    company = "p.target_company" if has_company else "NULL::VARCHAR"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE scored_plan AS
            SELECT p.record_key, p.object, p.field, p.current_value, p.new_value, p.value_source,
                   p.rule, coalesce(m.name, '') AS name, t.person_id, s.person_id AS source_person,
                   {company} AS target_company
            FROM {plan} AS p
            LEFT JOIN field_map AS m USING (object, field)
            LEFT JOIN truth_map AS t USING (record_key)
            LEFT JOIN truth_map AS s ON s.record_key = p.value_source"""  # noqa: S608 - relation name from the caller
    )
    for name, label in NOT_SCORED.items():
        count = con.execute("SELECT count(*) FROM scored_plan WHERE name = ?", [name]).fetchone()[0]
        score.not_scored[label] += count
    unmapped = con.execute("SELECT count(*) FROM scored_plan WHERE name = ''").fetchone()[0]
    if unmapped:
        score.not_scored["field not in field_dictionary.yaml"] = unmapped
    skipped = ["", *NOT_SCORED]
    unknown = con.execute(
        "SELECT * FROM scored_plan WHERE person_id IS NULL AND NOT list_contains(?, name)", [skipped]
    ).fetchall()
    for row in unknown:
        _count(score, "other", row, "target record not in the truth", different_person=False)
    persons = [
        p
        for (p,) in con.execute(
            "SELECT DISTINCT person_id FROM scored_plan WHERE person_id IS NOT NULL "
            "AND NOT list_contains(?, name) ORDER BY person_id",
            [skipped],
        ).fetchall()
    ]
    for start in range(0, len(persons), BATCH_PERSONS):
        _score_batch(
            con, score, persons[start], persons[min(start + BATCH_PERSONS, len(persons)) - 1], skipped
        )
    return score


def _score_batch(con, score: WritebackScore, first: str, last: str, skipped: list[str]) -> None:
    truths: dict[str, PersonTruth] = {}
    for person_id, truth_field, kind, value in con.execute(
        "SELECT person_id, field, kind, value FROM truth_attributes WHERE person_id BETWEEN ? AND ?",
        [first, last],
    ).fetchall():
        truths.setdefault(person_id, PersonTruth()).add(truth_field, kind, value)
    rows = con.execute(
        "SELECT * FROM scored_plan WHERE person_id BETWEEN ? AND ? AND NOT list_contains(?, name) "
        "ORDER BY person_id, record_key, field",
        [first, last, skipped],
    ).fetchall()
    for row in rows:
        _, _, _, current, new, _, _, name, person_id, source_person, target_company = row
        truth_field = TRUTH_FIELD.get(name, name)
        person = truths.get(person_id, PersonTruth())
        category, detail = classify(truth_field, current, new, person, target_company)
        _count(score, category, row, detail, different_person=source_person not in (None, person_id))


def _count(score: WritebackScore, category: str, row: tuple, detail: str, *, different_person: bool) -> None:
    record_key, _, api_field, current, new, value_source, rule, name, *_ = row
    score.changes += 1
    score.counts[category] += 1
    score.by_field.setdefault(TRUTH_FIELD.get(name, name) or api_field, Counter())[category] += 1
    if different_person:
        score.from_other_person[category] += 1
        detail += ", value from another person's record"
    examples = score.examples.setdefault(category, [])
    # A few per category, one per field: the variety says more than the first three phones.
    if len(examples) < EXAMPLES and all(e.field != api_field for e in examples):
        examples.append(Example(record_key, api_field, current, new, value_source or "", rule, detail))


def writeback_section(truth_csv: Path) -> tuple[WritebackScore | None, str]:
    """(score, '') or (None, why it could not be scored) for `aeglobal evaluate`."""
    attributes = attributes_path(truth_csv)
    if not attributes.exists():
        return None, f"no truth attributes at {attributes}"
    try:
        return score_writeback(truth_csv, attributes), ""
    except duckdb.CatalogException:
        return None, f"no {DEFAULT_PLAN_RELATION} in the warehouse yet: run `aeglobal run` first"


def identity_dict(report) -> dict:
    """identity.evaluate.EvaluationReport as plain JSON-able figures."""
    figures: dict = {"scores": report.scores.to_dict()}
    if report.hard_negatives is not None:
        h = report.hard_negatives
        figures["hard_negatives"] = {
            "pairs": h.pairs,
            "merged": h.merged,
            "by_reason": {r: {"merged": m, "pairs": p} for r, (m, p) in h.by_reason.items()},
        }
    figures["false_merges"] = len(report.false_merges)
    figures["false_splits"] = len(report.false_splits)
    figures["split_evidence"] = report.split_evidence.to_dict() if report.split_evidence else None
    return figures
