"""Governance: precedence, consent, sharing, field dictionary and lifecycle rules.

The rules live in identity_rules/*.yaml, are validated here (`rules.load_rules`), written to the
warehouse schema `rules` (`tables.write_rules`) by the `rules/*` assets, and read by the dbt
marts golden_person, identity_conflicts, writeback_plan, kpi_lifecycle_by_region and
governance_findings. `checks.py` holds the Dagster asset checks on the write-back plan.
"""

from aeglobal_pipeline.governance.assets import governance_rules
from aeglobal_pipeline.governance.checks import governance_checks

governance_assets = [governance_rules]

__all__ = ["governance_assets", "governance_checks"]
