"""Dagster assets: the governance rules files, validated and written to the `rules` schema."""

from collections.abc import Iterator

import dagster as dg

from aeglobal_pipeline.governance.rules import rules_dir
from aeglobal_pipeline.governance.tables import TABLES, rules_fingerprint, write_rules
from aeglobal_pipeline.rules_check.asset import CONFIGURATION_CHECK_KEY

GROUP = "governance"
KINDS = {"yaml", "duckdb"}

DESCRIPTIONS = {
    "precedence": "Survivorship strategy per canonical field and region (precedence.yaml).",
    "precedence_priority": "Ordered roles/sources of each source_priority rule (precedence.yaml).",
    "protected_fields": "Fields the write-back never changes on the named targets (precedence.yaml).",
    "consent_channels": "Opt-out field and propagation scope per channel (consent.yaml).",
    "consent_evidence_fields": "Regional fields that prove an explicit opt-in (consent.yaml).",
    "consent_regimes": "Opt-in / opt-out jurisdiction and retention per country (consent.yaml).",
    "sharing": "Fields allowed to cross between legal entities (sharing.yaml).",
    "field_dictionary": "Central, regional and system fields with API names (field_dictionary.yaml).",
    "lifecycle_stages": "Global lifecycle stages, rank and promotion score (lifecycle.yaml).",
    "lifecycle_status_map": "Regional Lead Status and object values → global stage (lifecycle.yaml).",
    "scoring": "Core & Flex scoring rules (lifecycle.yaml).",
    "identity_thresholds": "Grey zone and cluster size limits, read from matching.yaml.",
    "rule_files": "Which version (sha256) of each rules file was loaded.",
}

RULE_SPECS = [
    dg.AssetSpec(
        key=dg.AssetKey(["rules", table]),
        group_name=GROUP,
        kinds=KINDS,
        description=DESCRIPTIONS[table],
        owners=["team:data-governance"],
        deps=[CONFIGURATION_CHECK_KEY],
    )
    for table in TABLES
]


@dg.multi_asset(specs=RULE_SPECS, name="governance_rules", pool="warehouse")
def governance_rules(context: dg.AssetExecutionContext) -> Iterator[dg.MaterializeResult]:
    """Validate identity_rules/ governance files and write them to the warehouse `rules` schema."""
    from aeglobal_pipeline.governance.rules import load_rules
    from aeglobal_pipeline.warehouse import connect

    directory = rules_dir()
    rules = load_rules(directory)  # RulesError names file and key; nothing is written then
    with connect() as con:
        counts = write_rules(con, rules)
    fingerprint = rules_fingerprint(rules)
    context.log.info(f"rules {fingerprint} from {directory}: {counts}")
    for table, rows in counts.items():
        yield dg.MaterializeResult(
            asset_key=dg.AssetKey(["rules", table]),
            metadata={"rows": dg.MetadataValue.int(rows), "rules_version": fingerprint,
                      "rules_dir": str(directory)},
        )
