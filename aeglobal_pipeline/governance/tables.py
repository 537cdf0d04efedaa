"""The validated rules as warehouse tables in schema `rules`, so dbt reads rules, not code.

Each table is replaced as a whole inside one transaction: a run sees either the old or the new
rules, never half. `'*'` in a region / legal-entity / country column means "any".
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import duckdb

from aeglobal_pipeline.governance.rules import GovernanceRules

ANY = "*"

# table → column definitions (names are fixed here; every value below is a bound parameter)
TABLES: dict[str, str] = {
    "precedence": "field varchar, region varchar, strategy varchar, ignore_empty boolean, "
    "priority varchar[], rule_name varchar, authoritative boolean, name_order_margin integer",
    "precedence_priority": "field varchar, region varchar, position integer, role varchar",
    "protected_fields": "field varchar, target varchar, reason varchar",
    "consent_channels": "channel varchar, field varchar, propagation varchar",
    "consent_evidence_fields": "channel varchar, api_name varchar",
    "consent_regimes": "country_code varchar, regime varchar, retention_days integer, law varchar",
    "sharing": "from_legal_entity varchar, to_legal_entity varchar, field varchar, reason varchar",
    "field_dictionary": "kind varchar, field varchar, region varchar, object varchar, api_name varchar, "
    "writable boolean, personal_data boolean, owner varchar, definition varchar, position integer, "
    "survivorship boolean, value_type varchar, match_form varchar, contact_point boolean, "
    "write_policy varchar, normalize_on_write boolean, max_length integer, employer_bound boolean",
    "lifecycle_stages": "stage varchar, rank integer, min_score double",
    "lifecycle_status_map": "region varchar, object varchar, status varchar, stage varchar",
    "scoring": "rule_id varchar, scope varchar, region varchar, signal varchar, api_field varchar, "
    "threshold double, values varchar[], points double",
    "identity_thresholds": "grey_zone_lower double, match_probability double, max_cluster_size integer, "
    "write_probability double",
    "rule_files": "file varchar, sha256 varchar, loaded_at timestamptz",
}


def _precedence_rows(rules: GovernanceRules) -> tuple[list[tuple], list[tuple]]:
    """One row per field for region '*', plus one per field a region overrides."""
    precedence = rules.precedence
    scopes: list[tuple[str, str | None]] = [(f, None) for f in rules.survivorship_fields]
    scopes += [(f, region) for region, fields in precedence.region_overrides.items() for f in fields]
    rows, priority_rows = [], []
    for field, region in scopes:
        strategy, priority, ignore_empty = precedence.resolve(field, region)
        priority = priority if strategy == "source_priority" else []
        region_key = region or ANY
        name = f"{strategy}({', '.join(priority)})" if priority else strategy
        authoritative = precedence.is_authoritative(field, region)
        rows.append((field, region_key, strategy, ignore_empty, priority, name, authoritative,
                     precedence.name_order_margin))
        priority_rows += [(field, region_key, i + 1, role) for i, role in enumerate(priority)]
    return rows, priority_rows


def _field_dictionary_rows(rules: GovernanceRules) -> list[tuple]:
    dictionary = rules.field_dictionary
    rows = []
    no_policy = (None,) * 9
    for position, (field, spec) in enumerate(dictionary.central_fields.items(), start=1):
        def policy(obj: str | None, spec=spec, position=position) -> tuple:
            write = spec.write_policy(obj) if obj else spec.write
            return (position, spec.survivorship, spec.type, spec.match_form, spec.contact_point, write,
                    spec.normalize_on_write, spec.max_length, spec.employer_bound)

        if not spec.api_names:
            rows.append(("central", field, ANY, None, None, False, spec.personal_data, spec.owner,
                         spec.definition, *policy(None)))
        for obj, api_name in spec.api_names.items():
            writable = obj not in spec.read_only_on and spec.write_policy(obj) != "never"
            rows.append(("central", field, ANY, obj, api_name, writable, spec.personal_data, spec.owner,
                         spec.definition, *policy(obj)))
    for obj, names in dictionary.system_fields.items():
        rows += [("system", None, ANY, obj, name, False, False, None, None, *no_policy) for name in names]
    for region, fields in dictionary.regional_fields.items():
        rows += [("regional", None, region, f.object, f.api_name, False, False, f.owner, f.definition,
                  *no_policy) for f in fields]
    return rows


def _lifecycle_rows(rules: GovernanceRules) -> tuple[list[tuple], list[tuple], list[tuple]]:
    lifecycle = rules.lifecycle
    stages = [(s.name, s.rank, s.min_score) for s in lifecycle.stages]
    status_map = [
        (region, obj, status, stage)
        for region, objects in lifecycle.status_map.items()
        for obj, statuses in objects.items()
        for status, stage in statuses.items()
    ]
    status_map += [(ANY, obj, ANY, stage) for obj, stage in lifecycle.object_stages.items()]
    scoring = [
        (f"core[{i}]", "core", ANY, r.signal, r.field, r.threshold, r.values, r.points)
        for i, r in enumerate(lifecycle.scoring.core)
    ]
    scoring += [
        (f"flex.{region}[{i}]", "flex", region, r.signal, r.field, r.threshold, r.values, r.points)
        for region, flex in lifecycle.scoring.flex.items()
        for i, r in enumerate(flex)
    ]
    return stages, status_map, scoring


def table_rows(rules: GovernanceRules, *, now: datetime | None = None) -> dict[str, list[tuple]]:
    """Every rules table's rows (pure: no warehouse needed)."""
    precedence, priority = _precedence_rows(rules)
    consent = rules.consent
    regimes = [(ANY, consent.default_regime.regime, consent.default_regime.retention_days,
                consent.default_regime.law)]
    regimes += [(c, r.regime, r.retention_days, r.law) for r in consent.regimes for c in r.countries]
    sharing = [(ANY, ANY, f, "cross_entity_fields") for f in rules.sharing.cross_entity_fields]
    sharing += [(c.from_, c.to, f, c.reason) for c in rules.sharing.allow for f in c.fields]
    stages, status_map, scoring = _lifecycle_rows(rules)
    thresholds = rules.identity_thresholds
    loaded_at = now or datetime.now(UTC)
    return {
        "precedence": precedence,
        "precedence_priority": priority,
        "protected_fields": [
            (p.field, t, p.reason) for p in rules.precedence.protected_fields for t in p.targets
        ],
        "consent_channels": [(name, c.field, c.propagation) for name, c in consent.channels.items()],
        "consent_evidence_fields": [
            (name, api) for name, c in consent.channels.items() for api in c.opt_in_evidence_fields
        ],
        "consent_regimes": regimes,
        "sharing": sharing,
        "field_dictionary": _field_dictionary_rows(rules),
        "lifecycle_stages": stages,
        "lifecycle_status_map": status_map,
        "scoring": scoring,
        "identity_thresholds": [(thresholds["grey_zone_lower"], thresholds["match_probability"],
                                 int(thresholds["max_cluster_size"]), thresholds["write_probability"])],
        "rule_files": [
            (name, hashlib.sha256(text.encode("utf-8")).hexdigest(), loaded_at)
            for name, text in sorted(rules.files.items())
        ],
    }


def write_rules(con: duckdb.DuckDBPyConnection, rules: GovernanceRules) -> dict[str, int]:
    """Replace every rules.* table in one transaction; returns row counts per table."""
    rows = table_rows(rules)
    counts = {}
    con.execute("begin transaction")
    try:
        con.execute("create schema if not exists rules")
        for table, columns in TABLES.items():
            con.execute(f"create or replace table rules.{table} ({columns})")
            data = rows[table]
            if data:
                marks = ", ".join("?" * len(columns.split(",")))
                con.executemany(f"insert into rules.{table} values ({marks})", data)  # noqa: S608
            counts[table] = len(data)
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return counts


def rules_fingerprint(rules: GovernanceRules) -> str:
    """A short hash of all five files, to tell in metadata which rules a run used."""
    joined = json.dumps(rules.files, sort_keys=True)
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()[:12]
