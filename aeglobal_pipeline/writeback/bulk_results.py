"""Each row's true outcome when a Bulk 2.0 ingest job fails part-way.

A job that ends `Failed` has still committed the rows it processed: they are in its
successfulResults (and failedResults), and the rest in unprocessedrecords. simple-salesforce
raises on a failed job without saying which job it was, so the ids of the jobs a write created
are taken from the responses (a requests response hook, a public feature) and their three
result sets read back. A row written is `None` (applied); a row not written is a failure.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager

import requests

from aeglobal_pipeline.sources.ids import to_18
from aeglobal_pipeline.writeback.retry import Failure


@contextmanager
def created_jobs(session: requests.Session) -> Iterator[list[str]]:
    """The ids of the Bulk ingest jobs created through `session` inside the block."""
    created: list[str] = []

    def remember(response: requests.Response, *args: object, **kwargs: object) -> None:
        request = response.request
        if request.method == "POST" and (request.url or "").rstrip("/").endswith("/jobs/ingest") \
                and response.ok:
            created.append(response.json().get("id"))

    session.hooks["response"].append(remember)
    try:
        yield created
    finally:
        session.hooks["response"].remove(remember)


def _ids(text: str, column: str) -> dict[str, dict]:
    return {to_18(row.get(column) or ""): row for row in csv.DictReader(io.StringIO(text))}


def outcomes_of_failed_jobs(handler, job_ids: list[str], record_ids: list[str], transient_codes,
                            error: str) -> dict[str, Failure | None]:
    """Per record: applied (None) if a job's successfulResults holds it, else its failure."""
    succeeded: set[str] = set()
    failed: dict[str, dict] = {}
    for job_id in job_ids:
        succeeded |= set(_ids(handler.get_successful_records(job_id), "sf__Id"))
        failed.update(_ids(handler.get_failed_records(job_id), "sf__Id"))
    outcome: dict[str, Failure | None] = {}
    for record_id in record_ids:
        key = to_18(record_id)
        if key in succeeded:
            outcome[record_id] = None
        elif key in failed:
            code, _, message = (failed[key].get("sf__Error") or "UNKNOWN_ERROR").partition(":")
            outcome[record_id] = Failure(code, message.rsplit(":", 1)[0], code in transient_codes)
        else:  # unprocessed (or never uploaded): not written
            outcome[record_id] = Failure("BULK_JOB_FAILED", f"not processed: {error}"[:300], False)
    return outcome
