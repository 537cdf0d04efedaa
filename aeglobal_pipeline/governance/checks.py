"""Dagster asset checks on the governance marts, and the queries behind them.

Each `find_*` function returns the offending rows (empty = the invariant holds), so tests can
assert the same invariants the checks enforce:

- no write-back plan row turns an opt-out into an opt-in (or writes an opt-in at all), and every
  consent change names a record that really opted out;
- no plan row carries a value across a legal-entity boundary that sharing.yaml forbids;
- every regional status found in the sources is mapped to a global stage.
"""

from __future__ import annotations

import dagster as dg
import duckdb

PLAN = dg.AssetKey(["marts", "writeback_plan"])
KPI = dg.AssetKey(["marts", "kpi_lifecycle_by_region"])
SAMPLE = 20

# Plan rows with their canonical field, the target's legal entity and the value source's.
_PLAN_WITH_CONTEXT = """
    select
        plan.*,
        dictionary.field as canonical_field,
        target_system.legal_entity as target_legal_entity,
        source_system.legal_entity as value_legal_entity
    from marts.writeback_plan as plan
    left join rules.field_dictionary as dictionary
        on dictionary.kind = 'central' and dictionary.object = plan.object
        and dictionary.api_name = plan.field
    left join raw.source_systems as target_system on target_system.source = plan.target_source
    left join raw.source_systems as source_system
        on source_system.source = split_part(plan.value_source, ':', 1)
"""


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict]:
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def find_consent_violations(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """Consent plan rows that are not an opt-out justified by an opted-out source record."""
    return _rows(
        con,
        f"""
        with plan as ({_PLAN_WITH_CONTEXT})
        select plan.*, evidence.value_norm as source_value
        from plan
        inner join rules.consent_channels as channel on channel.field = plan.canonical_field
        -- The winning value's own candidate row (a table; the field_values view would unnest
        -- every record).
        left join intermediate.int_governance__candidates as evidence
            on evidence.record_key = plan.value_source and evidence.field = plan.canonical_field
        where lower(plan.new_value) <> 'true'
           or evidence.value_norm is distinct from 'true'
        """,  # noqa: S608 - fixed SQL, no user data
    )


def find_sharing_violations(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """Plan rows whose value comes from another legal entity without a sharing.yaml permission."""
    return _rows(
        con,
        f"""
        with plan as ({_PLAN_WITH_CONTEXT})
        select * from plan
        where canonical_field is null
           or target_legal_entity is null
           or value_legal_entity is null
           or (value_legal_entity <> target_legal_entity and not exists (
                select 1 from rules.sharing
                where sharing.field = plan.canonical_field
                  and sharing.from_legal_entity in (plan.value_legal_entity, '*')
                  and sharing.to_legal_entity in (plan.target_legal_entity, '*')))
        """,  # noqa: S608 - fixed SQL, no user data
    )


def find_unmapped_statuses(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """Regional status values (or objects without status) that lifecycle.yaml does not map."""
    return _rows(
        con,
        """
        select source, object, region, status, count(*) as records
        from intermediate.int_governance__record_stages
        where not is_mapped
        group by all
        order by records desc
        """,
    )


def _result(rows: list[dict], what: str, **check) -> dg.AssetCheckResult:
    """`check`: check_name and asset_key, where one step yields several checks' results."""
    sample = [{k: str(v) for k, v in row.items()} for row in rows[:SAMPLE]]
    return dg.AssetCheckResult(
        **check,
        passed=not rows,
        metadata={"violations": dg.MetadataValue.int(len(rows)), "sample": dg.MetadataValue.json(sample)},
        description=f"{len(rows)} {what}" if rows else None,
    )


@dg.asset_check(asset=PLAN, name="no_opt_in_over_opt_out", blocking=True)
def no_opt_in_over_opt_out() -> dg.AssetCheckResult:
    """No plan row turns an opt-out into an opt-in; every consent change cites an opted-out record."""
    from aeglobal_pipeline.warehouse import connect

    with connect(read_only=True) as con:
        return _result(find_consent_violations(con), "consent rows that are not justified opt-outs")


@dg.asset_check(asset=PLAN, name="sharing_policy_respected", blocking=True)
def sharing_policy_respected() -> dg.AssetCheckResult:
    """No plan row carries a value across a legal-entity boundary that sharing.yaml forbids."""
    from aeglobal_pipeline.warehouse import connect

    with connect(read_only=True) as con:
        return _result(find_sharing_violations(con), "plan rows crossing a forbidden boundary")


@dg.asset_check(asset=KPI, name="every_status_mapped")
def every_status_mapped() -> dg.AssetCheckResult:
    """Every regional Lead Status / object found in the sources maps to a global lifecycle stage."""
    from aeglobal_pipeline.warehouse import connect

    with connect(read_only=True) as con:
        return _result(find_unmapped_statuses(con), "unmapped status values (see lifecycle.yaml)")


governance_checks = [no_opt_in_over_opt_out, sharing_policy_respected, every_status_mapped]
