"""Bulk API 2.0 under /services/data/vXX.X/jobs/: ingest `update` jobs and query/queryAll jobs.

Jobs run synchronously when their data is complete (ingest: on `UploadComplete`; query: on
creation), so a client polling the job sees `JobComplete` on its first poll. Results are CSV as
Salesforce writes them: every value quoted, `sf__Id` + `sf__Created` / `sf__Error` ahead of the
uploaded columns, and query results paged with the `Sforce-Locator` header (`null` at the end).
"""

from __future__ import annotations

import base64
import csv
import io
import secrets
import string
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aeglobal_pipeline.sandbox.fields import stamp
from aeglobal_pipeline.sandbox.query_run import Position, QueryRun
from aeglobal_pipeline.sandbox.server import Request, Response, json_response, parse_json, salesforce_error
from aeglobal_pipeline.sandbox.writes import ObjectWriter, WriteError, record_fault_error
from aeglobal_pipeline.sources.ids import to_18

DELIMITERS = {"COMMA": ",", "TAB": "\t", "PIPE": "|", "SEMICOLON": ";", "CARET": "^", "BACKQUOTE": "`"}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
DEFAULT_MAX_RECORDS = 50_000
CSV_TYPE = "text/csv"


@dataclass
class Job:
    id: str
    kind: str  # ingest | query
    source: str
    object_name: str
    operation: str
    version: str
    column_delimiter: str = "COMMA"
    line_ending: str = "LF"
    state: str = "Open"
    created: str = field(default_factory=lambda: stamp(datetime.now(UTC)))
    batches: list[bytes] = field(default_factory=list)
    successful: list[list[str]] = field(default_factory=list)
    failed: list[list[str]] = field(default_factory=list)
    unprocessed: list[list[str]] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    processed: int = 0
    error_message: str | None = None
    run: QueryRun | None = None
    locators: dict[str, Position] = field(default_factory=dict)

    def info(self) -> dict:
        info = {
            "id": self.id, "operation": self.operation, "object": self.object_name,
            "createdById": "005000000000000AAA", "createdDate": self.created.replace("Z", "+0000"),
            "systemModstamp": self.created.replace("Z", "+0000"), "state": self.state,
            "concurrencyMode": "Parallel", "contentType": "CSV", "apiVersion": float(self.version),
            "lineEnding": self.line_ending, "columnDelimiter": self.column_delimiter,
            "numberRecordsProcessed": self.processed, "retries": 0, "totalProcessingTime": 0,
        }
        if self.kind == "ingest":
            info["contentUrl"] = f"services/data/v{self.version}/jobs/ingest/{self.id}/batches"
            info["numberRecordsFailed"] = len(self.failed)
            info["jobType"] = "V2"
        if self.error_message:
            info["errorMessage"] = self.error_message
        return info


def _job_id() -> str:
    return "750" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(15))


def _csv_response(job: Job, header: list[str], rows: list[list[str]], headers=None) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(
        buffer, delimiter=DELIMITERS[job.column_delimiter], lineterminator=LINE_ENDINGS[job.line_ending],
        quoting=csv.QUOTE_ALL,
    )
    writer.writerow(header)
    writer.writerows(rows)
    return Response(200, buffer.getvalue().encode(), CSV_TYPE, headers or {})


def handle(app, source, request: Request, version: str, parts: list[str]) -> Response:
    if not parts or parts[0] not in ("ingest", "query"):
        raise salesforce_error(404, "NOT_FOUND", "The requested resource does not exist")
    kind, rest = parts[0], parts[1:]
    if not rest and request.method == "POST":
        job = _create_ingest(app, source, request, version) if kind == "ingest" else \
            _create_query(app, source, request, version)
        with app.lock:
            app.jobs[job.id] = job
        return json_response(200, job.info())
    if not rest and request.method == "GET":
        jobs = [j.info() for j in app.jobs.values() if j.source == source.name and j.kind == kind]
        return json_response(200, {"done": True, "records": jobs, "nextRecordsUrl": None})
    job = app.jobs.get(rest[0]) if rest else None
    if job is None or job.source != source.name or job.kind != kind:
        raise salesforce_error(404, "NOT_FOUND", "The requested resource does not exist")
    action = rest[1] if len(rest) > 1 else ""
    if not action:
        return _job_action(app, source, job, request)
    if kind == "ingest" and action == "batches" and request.method == "PUT":
        if job.state != "Open":
            raise salesforce_error(400, "INVALIDJOB", f"Job {job.id} is not open for uploads")
        job.batches.append(request.body)
        return Response(201)
    if kind == "ingest" and request.method == "GET":
        return _ingest_results(job, action.lower())
    if kind == "query" and action == "results" and request.method == "GET":
        return _query_results(job, request)
    raise salesforce_error(404, "NOT_FOUND", "The requested resource does not exist")


def _job_action(app, source, job: Job, request: Request) -> Response:
    if request.method == "GET":
        return json_response(200, job.info())
    if request.method == "DELETE":
        with app.lock:
            app.jobs.pop(job.id, None)
        return Response(204)
    if request.method == "PATCH":
        body = parse_json(request, salesforce_error(400, "JSON_PARSER_ERROR", "Invalid JSON body"))
        state = body.get("state") if isinstance(body, dict) else None
        if state == "Aborted":
            job.state = "Aborted"
        elif state == "UploadComplete" and job.kind == "ingest" and job.state == "Open":
            job.state = "UploadComplete"
            response = json_response(200, job.info())
            _process_ingest(app, source, job)
            return response
        else:
            raise salesforce_error(400, "INVALIDJOB", f"Cannot change state of job {job.id} to {state}")
        return json_response(200, job.info())
    raise salesforce_error(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{request.method}' not allowed")


def _common_options(request: Request) -> dict:
    body = parse_json(request, salesforce_error(400, "JSON_PARSER_ERROR", "Invalid JSON body"))
    if not isinstance(body, dict):
        raise salesforce_error(400, "JSON_PARSER_ERROR", "Expected a JSON object")
    if body.get("columnDelimiter", "COMMA") not in DELIMITERS:
        raise salesforce_error(400, "INVALIDJOB", "Invalid columnDelimiter")
    if body.get("lineEnding", "LF") not in LINE_ENDINGS:
        raise salesforce_error(400, "INVALIDJOB", "Invalid lineEnding")
    return body


def _create_ingest(app, source, request: Request, version: str) -> Job:
    from aeglobal_pipeline.sandbox.salesforce_api import object_lookup

    body = _common_options(request)
    found = object_lookup(app, source)(str(body.get("object", "")))
    if found is None:
        raise salesforce_error(400, "INVALIDJOB", f"Unable to find object: {body.get('object')}")
    if body.get("operation") != "update":
        operation = body.get("operation")
        raise salesforce_error(
            400, "INVALIDJOB", f"The sandbox supports the 'update' operation only, not {operation!r}"
        )
    return Job(_job_id(), "ingest", source.name, found[0], "update", version,
               body.get("columnDelimiter", "COMMA"), body.get("lineEnding", "LF"))


def _create_query(app, source, request: Request, version: str) -> Job:
    from aeglobal_pipeline.sandbox.salesforce_api import parse_soql

    body = _common_options(request)
    operation = body.get("operation", "query")
    if operation not in ("query", "queryAll"):
        raise salesforce_error(400, "INVALIDJOB", f"Invalid operation: {operation}")
    query = parse_soql(app, source, body.get("query"))
    if query.count_only:
        raise salesforce_error(400, "INVALIDJOB", "COUNT() is not supported by Bulk API 2.0 queries")
    job = Job(_job_id(), "query", source.name, query.object_name, operation, version,
              body.get("columnDelimiter", "COMMA"), body.get("lineEnding", "LF"))
    job.run = QueryRun(app.store, source.name, query, include_deleted=operation == "queryAll")
    job.processed = job.run.total_size
    job.state = "JobComplete"
    job.locators[""] = Position()
    return job


def _process_ingest(app, source, job: Job) -> None:
    columns = app.store.columns(source.name, job.object_name)
    writer = ObjectWriter(app.store, source.name, job.object_name, columns)
    rows: list[list[str]] = []
    for batch in job.batches:
        text = io.StringIO(batch.decode("utf-8-sig"))
        reader = csv.reader(text, delimiter=DELIMITERS[job.column_delimiter])
        header = next(reader, [])
        if job.header and header != job.header:
            job.state, job.error_message = "Failed", "InvalidBatch : all batches must share one header"
            return
        job.header = header
        rows.extend(r for r in reader if r)
    lowered = [h.lower() for h in job.header]
    unknown = [h for h in job.header if h.lower() not in writer.by_name]
    if "id" not in lowered or unknown:
        job.state = "Failed"
        job.error_message = f"InvalidBatch : Field name not found : {(unknown or ['Id'])[0]}"
        return
    id_index = lowered.index("id")
    # A job can fail part-way (the org's limit, a platform error): rows before the failure stay
    # written, the rest is left unprocessed, as Salesforce reports them.
    fail_after = app.limits.of(source.name).bulk_fail_after
    if fail_after is not None and fail_after < len(rows):
        rows, job.unprocessed = rows[:fail_after], rows[fail_after:]
    with app.store.transaction() as conn:
        changed = {}
        for cells in rows:
            record_id = to_18(cells[id_index]) if len(cells) == len(job.header) else ""
            error = _ingest_row(app, source, writer, job, cells, record_id, changed)
            if error is None:
                job.successful.append([record_id, "false", *cells])
            else:
                job.failed.append([record_id, error.as_bulk(), *cells])
        app.store.save(conn, source.name, job.object_name, list(changed.values()))
    job.processed = len(rows)
    job.state = "Failed" if job.unprocessed else "JobComplete"
    if job.unprocessed:
        job.error_message = (f"InternalServerError : the job stopped after {len(rows)} of "
                             f"{len(rows) + len(job.unprocessed)} records")


def _ingest_row(app, source, writer: ObjectWriter, job: Job, cells, record_id, changed) -> WriteError | None:
    if len(cells) != len(job.header):
        return WriteError("INVALID_FIELD", "row has a different number of columns than the header")
    changes = {name: value for name, value in zip(job.header, cells, strict=True) if name.lower() != "id"}
    resolved = writer.resolve(changes, from_csv=True)
    if isinstance(resolved, WriteError):
        return resolved
    row = changed.get(record_id) or app.store.get(source.name, job.object_name, record_id)
    error = writer.check_target(row, record_id) or record_fault_error(app, source.name, record_id)
    if error is None:
        writer.apply(row, resolved)
        changed[record_id] = row
    return error


def _ingest_results(job: Job, action: str) -> Response:
    if job.state not in ("JobComplete", "Failed", "Aborted"):
        raise salesforce_error(400, "INVALIDJOB", f"Job {job.id} is not complete")
    if action == "successfulresults":
        return _csv_response(job, ["sf__Id", "sf__Created", *job.header], job.successful)
    if action == "failedresults":
        return _csv_response(job, ["sf__Id", "sf__Error", *job.header], job.failed)
    if action == "unprocessedrecords":
        return _csv_response(job, job.header, job.unprocessed)
    raise salesforce_error(404, "NOT_FOUND", "The requested resource does not exist")


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _query_results(job: Job, request: Request) -> Response:
    locator = request.param("locator") or ""
    position = job.locators.get(locator)
    if position is None:
        raise salesforce_error(400, "INVALID_LOCATOR", f"Invalid locator: {locator}")
    try:
        max_records = int(request.param("maxRecords") or DEFAULT_MAX_RECORDS)
    except ValueError:
        raise salesforce_error(400, "INVALIDJOB", "maxRecords must be an integer") from None
    run = job.run
    rows, next_position = run.page(position, max(1, max_records))
    next_locator = "null"
    if next_position is not None:
        next_locator = base64.b64encode(str(next_position.served).encode()).decode().rstrip("=")
        job.locators[next_locator] = next_position
    header = [name for name, _ in run.query.select]
    indexes = [index for _, index in run.query.select]
    body = [[_text(row.values[i]) for i in indexes] for row in rows]
    return _csv_response(job, header, body, {
        "Sforce-Locator": next_locator, "Sforce-NumberOfRecords": str(len(rows)),
    })
