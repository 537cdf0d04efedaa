"""Write-back of the resolved values to the CRM orgs and Account Engagement business units.

Public API: `run_writeback` (dry run by default), `rollback_run`, `WritebackOptions`,
`RetryPolicy`, `WritebackResult`; Dagster pieces in `writeback.assets`.
"""

from aeglobal_pipeline.writeback.engine import WritebackOptions
from aeglobal_pipeline.writeback.plan import DEFAULT_PLAN_RELATION, PlanRow, read_plan
from aeglobal_pipeline.writeback.retry import RetryPolicy
from aeglobal_pipeline.writeback.rollback import rollback_run
from aeglobal_pipeline.writeback.run import WritebackBusy, WritebackResult, run_writeback

__all__ = [
    "DEFAULT_PLAN_RELATION", "PlanRow", "RetryPolicy", "WritebackBusy", "WritebackOptions",
    "WritebackResult", "read_plan", "rollback_run", "run_writeback",
]
