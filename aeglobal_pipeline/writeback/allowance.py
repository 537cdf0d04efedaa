"""Refusing a write-back that would spend an org's remaining daily API allowance.

Other integrations share the org's 24-hour allocation: a write-back that exhausts it stops them
(and itself part-way). Before the first write to a Salesforce org, the plan's calls are estimated
per object (sObject Collections or Bulk 2.0, re-reads, stamp reads, describe) and compared with
what `/limits` reports left, less the source's `api_reserve`; a plan that does not fit is
refused for that org, with the numbers, and its rows stay planned for the next run. Account
Engagement has no API to read the remaining allowance: its limit (code 122) stops the target.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable

from aeglobal_pipeline.writeback import audit
from aeglobal_pipeline.writeback.audit import Outcome
from aeglobal_pipeline.writeback.plan import PlanRow

# Calls per Bulk 2.0 ingest job: create, upload, close, a poll or two, the result sets.
BULK_JOB_CALLS = 7
READ_SLICE = 200


def estimated_calls(records: int, bulk: bool, bulk_batch: int, composite_batch: int) -> int:
    """Calls one object's writes take: re-read before writing, write, read stamps after, describe."""
    reads = 2 * math.ceil(records / READ_SLICE)
    writes = math.ceil(records / bulk_batch) * BULK_JOB_CALLS if bulk else \
        math.ceil(records / min(composite_batch, 200))
    return 1 + reads + writes


def refuse_over_allowance(run_id: str, rows: list[PlanRow], pool, log: Callable[[str], None],
                          applied_status: str = "applied") -> list[PlanRow]:
    """The rows that may be written; the others are logged `skipped` with the numbers."""
    options = pool.options
    by_source: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for row in rows:
        by_source[row.target_source][row.object].add(row.record_id)
    refused: set[str] = set()
    for source_name, objects in sorted(by_source.items()):
        source = pool.sources.by_name(source_name)  # rows were validated: the source exists
        if source.kind != "salesforce":
            continue
        needed = sum(
            estimated_calls(len(ids), len(ids) > options.bulk_threshold, options.bulk_batch,
                            options.composite_batch)
            for ids in objects.values()
        )
        object_name = sorted(objects)[0]
        try:
            # The pool's writer for this target (the one apply_rows uses next): its client.
            sf = pool.writer(run_id, source_name, object_name, applied_status).target.sf
            daily = sf.limits()["DailyApiRequests"]
        except Exception as error:  # no verdict: the writes themselves report what happens
            log(f"{source_name}: remaining API allowance unknown ({error}); not checked")
            continue
        remaining, reserve = int(daily["Remaining"]), source.api_calls_reserved
        if needed <= remaining - reserve:
            log(f"{source_name}: plan needs about {needed} API calls; {remaining} of "
                f"{daily['Max']} left today, {reserve} reserved")
            continue
        refused.add(source_name)
        message = (
            f"API_ALLOWANCE: {source_name} has {remaining} of {daily['Max']} daily API calls left "
            f"and keeps {reserve} in reserve (api_reserve); this plan needs about {needed}; "
            "refused before any write, planned again next run"
        )
        log(message)
        outcomes = [Outcome(r, "skipped", message) for r in rows if r.target_source == source_name]
        audit.log_outcomes(run_id, outcomes)
        pool.health.add(outcomes)
    return [r for r in rows if r.target_source not in refused]
