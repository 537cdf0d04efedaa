"""Governance: precedence, consent, sharing, field dictionary and lifecycle rules.

The rules live in identity_rules/*.yaml, are validated here (`rules.load_rules`), written to the
warehouse schema `rules` (`tables.write_rules`) by the `rules/*` assets, and read by the dbt
marts golden_person, identity_conflicts, writeback_plan, kpi_lifecycle_by_region and
governance_findings. `checks.py` holds the Dagster asset checks on consent, sharing and
statuses; `plan_checks.py` those that the plan makes records more right (DESIGN rule 8).
"""

from aeglobal_pipeline.governance.assets import governance_rules
from aeglobal_pipeline.governance.checks import governance_checks as consent_and_sharing_checks
from aeglobal_pipeline.governance.plan_checks import plan_checks

governance_assets = [governance_rules]
governance_checks = [*consent_and_sharing_checks, *plan_checks]

__all__ = ["governance_assets", "governance_checks"]
