"""Reading the write-back plan and summarising it as a preview a data engineer can approve.

Each plan row is joined to the raw table it was derived from for the change stamp extracted
with it (SystemModstamp / updatedAt): optimistic concurrency compares the target's stamp
against that one just before writing.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

import duckdb

from aeglobal_pipeline.sources.raw_tables import raw_table_name
from aeglobal_pipeline.warehouse import quote_identifier

DEFAULT_PLAN_RELATION = "marts.writeback_plan"
PLAN_COLUMNS = (
    "target_source", "object", "record_id", "field", "current_value", "new_value", "value_source",
    "rule", "global_person_id",
)
_RELATION = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")
FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
SAMPLE_ROWS = 5


@dataclass(frozen=True)
class PlanRow:
    target_source: str
    object: str
    record_id: str
    field: str
    current_value: str | None
    new_value: str | None
    rule: str
    value_source: str | None = None
    global_person_id: str | None = None
    extracted_stamp: str | None = None  # None: guard on current_value instead (rollback)

    @property
    def target(self) -> tuple[str, str]:
        return self.target_source, self.object


def quote_relation(relation: str) -> str:
    """`schema.table` quoted; anything else is refused (the name is configuration, not SQL)."""
    if not _RELATION.match(relation):
        raise ValueError(f"plan relation {relation!r} must look like schema.table")
    return ".".join(quote_identifier(part) for part in relation.split("."))


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _raw_shape(object_name: str) -> tuple[str, str]:
    return ("id", "updatedAt") if object_name == "Prospect" else ("Id", "SystemModstamp")


def _table_exists(con: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    schema, name = qualified.split(".", 1)
    return bool(con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, name],
    ).fetchone()[0])


def _existing_plan(con: duckdb.DuckDBPyConnection, relation: str) -> str:
    """The plan relation, quoted for SQL; a LookupError when dbt has not built it yet."""
    schema, _, name = relation.rpartition(".")
    if not _table_exists(con, f"{schema or 'main'}.{name}"):
        raise LookupError(f"the write-back plan {relation} does not exist yet; run dbt first")
    return quote_relation(relation)


def read_plan(con: duckdb.DuckDBPyConnection, relation: str = DEFAULT_PLAN_RELATION) -> list[PlanRow]:
    """Every plan row with its extracted stamp (None when the raw row is missing)."""
    plan = _existing_plan(con, relation)
    targets = con.execute(
        f"select distinct target_source, object from {plan} order by 1, 2"  # noqa: S608 - quoted name
    ).fetchall()
    rows: list[PlanRow] = []
    for source, object_name in targets:
        raw = raw_table_name(source, object_name)
        id_column, stamp_column = _raw_shape(object_name)
        if _table_exists(con, raw):
            stamp = f"r.{quote_identifier(stamp_column)}"
            join = f"left join {raw} r on r.{quote_identifier(id_column)} = cast(p.record_id as varchar)"
        else:
            stamp, join = "null", ""
        # Identifiers are validated/quoted above; source and object values are bound.
        result = con.execute(
            f"""select p.target_source, p.object, cast(p.record_id as varchar), p.field,
                       p.current_value, p.new_value, p.rule, p.value_source,
                       cast(p.global_person_id as varchar), cast({stamp} as varchar)
                from {plan} p {join}
                where p.target_source = ? and p.object = ?
                order by p.record_id, p.field""",  # noqa: S608
            [source, object_name],
        ).fetchall()
        rows += [
            PlanRow(r[0], r[1], r[2], r[3], _text(r[4]), _text(r[5]), r[6] or "", r[7], r[8], r[9])
            for r in result
        ]
    return rows


@dataclass
class PreviewGroup:
    """What would change in one target source × object."""

    target_source: str
    object: str
    records: int
    field_changes: int
    fields: dict[str, int]
    rules: dict[str, int]
    sample: list[dict]


def rule_family(rule: str) -> str:
    """The rule without its per-record evidence: consent rules name the opted-out record and
    its timestamp after the first comma, which would make every row its own group."""
    return rule.split(", ", 1)[0]


def preview(rows: list[PlanRow]) -> list[PreviewGroup]:
    grouped: dict[tuple[str, str], list[PlanRow]] = defaultdict(list)
    for row in rows:
        grouped[row.target].append(row)
    groups = []
    for (source, object_name), members in sorted(grouped.items()):
        fields: dict[str, int] = defaultdict(int)
        rules: dict[str, int] = defaultdict(int)
        for row in members:
            fields[row.field] += 1
            rules[rule_family(row.rule)] += 1
        sample = [
            {"record_id": r.record_id, "field": r.field, "current_value": _short(r.current_value),
             "new_value": _short(r.new_value), "rule": r.rule}
            for r in members[:SAMPLE_ROWS]
        ]
        groups.append(PreviewGroup(source, object_name, len({r.record_id for r in members}),
                                   len(members), dict(fields), dict(rules), sample))
    return groups


def preview_plan(con: duckdb.DuckDBPyConnection, relation: str = DEFAULT_PLAN_RELATION) -> list[PreviewGroup]:
    """`preview(read_plan(...))` computed by DuckDB: a dry run need not load a million rows."""
    plan = _existing_plan(con, relation)
    # Identifiers are validated/quoted above; there are no values in these statements.
    totals = con.execute(
        f"""select target_source, object, count(distinct cast(record_id as varchar)), count(*)
            from {plan} group by all order by 1, 2"""  # noqa: S608
    ).fetchall()
    counts: dict[tuple[str, str, str], dict[str, int]] = defaultdict(dict)
    for kind, expression in (("fields", "field"), ("rules", "split_part(coalesce(rule, ''), ', ', 1)")):
        for source, object_name, key, n in con.execute(
            f"select target_source, object, {expression}, count(*) from {plan} group by all"  # noqa: S608
        ).fetchall():
            counts[(source, object_name, kind)][key] = n
    samples: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for source, object_name, record_id, field, current, new, rule in con.execute(
        f"""select target_source, object, cast(record_id as varchar), field, current_value, new_value,
                   coalesce(rule, '')
            from {plan}
            qualify row_number() over (
                partition by target_source, object order by cast(record_id as varchar), field) <= ?
            order by target_source, object, cast(record_id as varchar), field""",  # noqa: S608
        [SAMPLE_ROWS],
    ).fetchall():
        samples[(source, object_name)].append(
            {"record_id": record_id, "field": field, "current_value": _short(_text(current)),
             "new_value": _short(_text(new)), "rule": rule}
        )
    return [
        PreviewGroup(source, object_name, records, changes, counts[(source, object_name, "fields")],
                     counts[(source, object_name, "rules")], samples[(source, object_name)])
        for source, object_name, records, changes in totals
    ]


def _short(value: str | None, limit: int = 40) -> str | None:
    return value if value is None or len(value) <= limit else value[: limit - 1] + "…"


def preview_markdown(groups: list[PreviewGroup]) -> str:
    """Counts, and samples whose personal values are masked (Dagster keeps metadata for good);
    every cell escaped so a `|` in a value cannot break the table."""
    from aeglobal_pipeline.report.safe_text import markdown_cell as cell
    from aeglobal_pipeline.report.safe_text import mask

    lines = ["| target | object | records | field changes | by rule |", "|---|---|---|---|---|"]
    for g in groups:
        rules = ", ".join(f"{rule}: {n}" for rule, n in sorted(g.rules.items()))
        lines.append(f"| {cell(g.target_source)} | {cell(g.object)} | {g.records} | {g.field_changes} "
                     f"| {cell(rules)} |")
    for g in groups:
        lines += ["", f"**{cell(g.target_source)}.{cell(g.object)}** sample (personal values masked)",
                  "",
                  "| record | field | current | new | rule |", "|---|---|---|---|---|"]
        lines += [f"| {cell(s['record_id'])} | {cell(s['field'])} "
                  f"| {cell(mask(s['field'], s['current_value']))} "
                  f"| {cell(mask(s['field'], s['new_value']))} | {cell(rule_family(s['rule']))} |"
                  for s in g.sample]
    return "\n".join(lines)
