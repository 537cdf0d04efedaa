"""Salesforce REST routes under /services/data/vXX.X/: query, describe, sObject rows, collections.

Bulk API 2.0 routes (jobs/...) live in bulk_api.py. Wire formats follow the REST API guide:
errors are `[{"message", "errorCode", "fields"}]`, query pages carry `totalSize`, `done`,
`nextRecordsUrl` and records with `attributes` {type, url}.
"""

from __future__ import annotations

import re
import secrets
import string
import time
from dataclasses import dataclass, field

from aeglobal_pipeline.sandbox import bulk_api
from aeglobal_pipeline.sandbox.fields import (
    SALESFORCE_READ_ONLY,
    Column,
    is_custom,
    is_updateable,
    label,
    rest_timestamp,
)
from aeglobal_pipeline.sandbox.query_run import Position, QueryRun
from aeglobal_pipeline.sandbox.server import (
    Request,
    Response,
    json_response,
    parse_json,
    salesforce_error,
)
from aeglobal_pipeline.sandbox.soql import Query, SoqlError, parse_query
from aeglobal_pipeline.sandbox.store import Row, SourceInfo
from aeglobal_pipeline.sandbox.writes import ObjectWriter, WriteError, record_fault_error
from aeglobal_pipeline.sources.ids import to_18

_PATH = re.compile(r"^/services/data/v(?P<version>\d+\.\d+)/?(?P<rest>.*)$")
PAGE_SIZE = 2_000
COLLECTION_LIMIT = 200
CURSOR_IDLE_SECONDS = 15 * 60
MAX_CURSORS = 1_000


@dataclass
class Cursor:
    run: QueryRun
    version: str
    endpoint: str
    page_size: int
    positions: dict[int, Position] = field(default_factory=dict)  # by records served
    used: float = field(default_factory=time.monotonic)


def _split(request: Request) -> tuple[str, list[str]]:
    match = _PATH.match(request.path)
    if not match:
        raise salesforce_error(404, "NOT_FOUND", "The requested resource does not exist")
    return match["version"], [p for p in match["rest"].split("/") if p]


def call_kind(request: Request) -> str:
    """The statistics bucket of a call."""
    match = _PATH.match(request.path)
    parts = [p for p in (match["rest"] if match else "").split("/") if p]
    head = parts[0] if parts else ""
    if head in ("query", "queryAll"):
        return "queryMore" if len(parts) > 1 else head
    if head == "composite":
        return "composite"
    if head == "jobs":
        return "bulk_query" if parts[1:2] == ["query"] else "bulk_ingest"
    if head == "sobjects" and len(parts) == 3 and parts[2] != "describe":
        return "sobject_patch" if request.method == "PATCH" else "sobject_get"
    if head == "sobjects":
        return "describe"
    return head or "versions"


def object_lookup(app, source: SourceInfo):
    """For soql.parse_query: object name (any case) -> (canonical name, columns)."""
    objects = {o.lower(): o for o in app.store.objects(source.name)}

    def lookup(name: str) -> tuple[str, list[Column]] | None:
        canonical = objects.get(name.lower())
        return (canonical, app.store.columns(source.name, canonical)) if canonical else None

    return lookup


def parse_soql(app, source: SourceInfo, text: str | None) -> Query:
    if not text:
        raise salesforce_error(400, "MALFORMED_QUERY", "A query string is required (q)")
    try:
        return parse_query(text, object_lookup(app, source))
    except SoqlError as error:
        raise salesforce_error(400, error.error_code, error.message, error.fields) from None


def handle(app, source: SourceInfo, request: Request) -> Response:
    version, parts = _split(request)
    head = parts[0] if parts else ""
    if not parts:
        return json_response(200, {"sobjects": f"/services/data/v{version}/sobjects"})
    if head in ("query", "queryAll") and request.method == "GET":
        if len(parts) == 1:
            return _query(app, source, request, version, include_deleted=head == "queryAll")
        return _query_more(app, source, parts[1])
    if head == "sobjects":
        return _sobjects(app, source, request, version, parts[1:])
    if parts == ["composite", "sobjects"] and request.method == "PATCH":
        return _collection_update(app, source, request)
    if head == "jobs":
        return bulk_api.handle(app, source, request, version, parts[1:])
    if head == "limits":
        daily = app.limits.of(source.name).sf_daily_requests
        return json_response(200, {"DailyApiRequests": {
            "Max": daily, "Remaining": app.limits.remaining(source.name, daily),
        }})
    raise salesforce_error(404, "NOT_FOUND", "The requested resource does not exist")


# -- query -------------------------------------------------------------------------------------


def _record_formatter(object_name: str, version: str, select: list[tuple[str, int]], columns):
    timestamps = {index for _, index in select if columns[index].type == "datetime"}
    base = f"/services/data/v{version}/sobjects/{object_name}/"

    def record(row: Row) -> dict:
        out: dict = {"attributes": {"type": object_name, "url": base + row.rid}}
        for name, index in select:
            value = row.values[index]
            out[name] = rest_timestamp(value) if index in timestamps and value else value
        return out

    return record


def _page_size(request: Request) -> int:
    options = request.headers.get("Sforce-Query-Options", "")
    match = re.search(r"batchSize\s*=\s*(\d+)", options)
    return max(200, min(PAGE_SIZE, int(match[1]))) if match else PAGE_SIZE


def _query(app, source: SourceInfo, request: Request, version: str, include_deleted: bool) -> Response:
    query = parse_soql(app, source, request.param("q"))
    run = QueryRun(app.store, source.name, query, include_deleted)
    if query.count_only:
        return json_response(200, {"totalSize": run.total_size, "done": True, "records": []})
    cursor = Cursor(run, version, "queryAll" if include_deleted else "query", _page_size(request))
    cursor_id = "01g" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(15))
    with app.lock:
        idle = [k for k, c in app.cursors.items() if time.monotonic() - c.used > CURSOR_IDLE_SECONDS]
        for key in idle[: max(len(idle), len(app.cursors) - MAX_CURSORS)]:
            app.cursors.pop(key, None)
        app.cursors[cursor_id] = cursor
    return _page(app, source, cursor_id, cursor, Position())


def _query_more(app, source: SourceInfo, locator: str) -> Response:
    cursor_id, _, served = locator.partition("-")
    cursor = app.cursors.get(cursor_id)
    position = cursor.positions.get(int(served)) if cursor and served.isdigit() else None
    if cursor is None or position is None or cursor.run.source != source.name:
        raise salesforce_error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
    cursor.used = time.monotonic()
    return _page(app, source, cursor_id, cursor, position)


def _page(app, source: SourceInfo, cursor_id: str, cursor: Cursor, position: Position) -> Response:
    run = cursor.run
    columns = app.store.columns(source.name, run.query.object_name)
    to_json = _record_formatter(run.query.object_name, cursor.version, run.query.select, columns)
    rows, next_position = run.page(position, cursor.page_size)
    payload: dict = {"totalSize": run.total_size, "done": next_position is None}
    if next_position is not None:
        cursor.positions[next_position.served] = next_position
        payload["nextRecordsUrl"] = (
            f"/services/data/v{cursor.version}/{cursor.endpoint}/{cursor_id}-{next_position.served}"
        )
    else:
        with app.lock:
            app.cursors.pop(cursor_id, None)
    payload["records"] = [to_json(row) for row in rows]
    return json_response(200, payload)


# -- sObjects ----------------------------------------------------------------------------------


def _describe_field(object_name: str, column: Column) -> dict:
    kind = {"int": "int"}.get(column.type, column.type)
    reference_to = []
    if column.type == "reference":
        target = column.name.removeprefix("Converted").removesuffix("Id")
        reference_to = ["User"] if target in ("Owner", "CreatedBy", "LastModifiedBy") else [target]
    updateable = is_updateable(object_name, column.name)
    return {
        "name": column.name, "type": kind, "label": label(column.name),
        "custom": is_custom(object_name, column.name), "updateable": updateable,
        "createable": updateable and column.name not in SALESFORCE_READ_ONLY,
        "nillable": column.type != "boolean" and column.name != "Id",
        "referenceTo": reference_to, "length": 255 if column.type == "string" else 0,
    }


def _sobjects(app, source: SourceInfo, request: Request, version: str, parts: list[str]) -> Response:
    if not parts:
        objects = app.store.objects(source.name)
        return json_response(200, {"sobjects": [
            {"name": o, "label": o, "custom": False, "queryable": True, "updateable": True}
            for o in objects
        ]})
    found = object_lookup(app, source)(parts[0])
    if found is None:
        raise salesforce_error(404, "NOT_FOUND", f"The requested resource does not exist: {parts[0]}")
    object_name, columns = found
    if parts[1:] == ["describe"]:
        return json_response(200, {
            "name": object_name, "label": object_name, "custom": False, "queryable": True,
            "updateable": True, "fields": [_describe_field(object_name, c) for c in columns],
        })
    if len(parts) == 1:
        return json_response(200, {"objectDescribe": {"name": object_name}, "recentItems": []})
    if len(parts) != 2:
        raise salesforce_error(404, "NOT_FOUND", "The requested resource does not exist")
    record_id = to_18(parts[1])
    row = app.store.get(source.name, object_name, record_id)
    if request.method == "GET":
        if row is None:
            raise salesforce_error(404, "NOT_FOUND", "The requested resource does not exist")
        if row.is_deleted:
            raise salesforce_error(404, "ENTITY_IS_DELETED", "entity is deleted")
        select = _selected_fields(request.param("fields"), object_name, columns)
        return json_response(200, _record_formatter(object_name, version, select, columns)(row))
    if request.method == "PATCH":
        changes = parse_json(request, salesforce_error(400, "JSON_PARSER_ERROR", "Invalid JSON body"))
        if not isinstance(changes, dict):
            raise salesforce_error(400, "JSON_PARSER_ERROR", "Expected a JSON object")
        changes = {k: v for k, v in changes.items() if k != "attributes"}
        writer = ObjectWriter(app.store, source.name, object_name, columns)
        with app.store.transaction() as conn:
            row = app.store.get(source.name, object_name, record_id)
            error = _update_one(app, source, writer, row, record_id, changes)
            if error is None:
                app.store.save(conn, source.name, object_name, [row])
        if error is not None:
            if error.code == "INVALID_CROSS_REFERENCE_KEY":
                error = WriteError("NOT_FOUND", "The requested resource does not exist", http_status=404)
            raise salesforce_error(error.http_status, error.code, error.message, error.fields)
        return Response(204)
    raise salesforce_error(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{request.method}' not allowed")


def _selected_fields(wanted: str | None, object_name: str, columns) -> list[tuple[str, int]]:
    """The `fields` parameter of a record GET (all fields without one)."""
    by_name = {c.name.lower(): (c.name, i) for i, c in enumerate(columns)}
    names = [n.strip() for n in wanted.split(",") if n.strip()] if wanted else list(by_name)
    unknown = [n for n in names if n.lower() not in by_name]
    if unknown:
        raise salesforce_error(
            400, "INVALID_FIELD", f"No such column '{unknown[0]}' on sobject of type {object_name}",
            unknown,
        )
    return [by_name[n.lower()] for n in names]


def _update_one(app, source, writer: ObjectWriter, row, record_id: str, changes: dict) -> WriteError | None:
    resolved = writer.resolve(changes)
    if isinstance(resolved, WriteError):
        return resolved
    error = writer.check_target(row, record_id) or record_fault_error(app, source.name, record_id)
    if error is None:
        writer.apply(row, resolved)
    return error


def _collection_update(app, source: SourceInfo, request: Request) -> Response:
    body = parse_json(request, salesforce_error(400, "JSON_PARSER_ERROR", "Invalid JSON body"))
    records = body.get("records") if isinstance(body, dict) else None
    if not isinstance(records, list) or not records:
        raise salesforce_error(400, "INVALID_FIELD", "records: a non-empty list is required")
    if len(records) > COLLECTION_LIMIT:
        raise salesforce_error(
            400, "EXCEEDED_ID_LIMIT",
            f"record limit reached. cannot submit more than {COLLECTION_LIMIT} records into this call",
        )
    all_or_none = bool(body.get("allOrNone", False))
    lookup = object_lookup(app, source)
    results: list[dict] = []
    touched: dict[tuple[str, str], Row] = {}
    with app.store.transaction() as conn:
        for record in records:
            record = record if isinstance(record, dict) else {}
            record_id = to_18(str(record.get("id") or record.get("Id") or ""))
            type_name = (record.get("attributes") or {}).get("type", "")
            found = lookup(type_name) if type_name else None
            error = None
            if found is None:
                error = WriteError("INVALID_TYPE", f"sObject type '{type_name}' is not supported")
            elif not record_id:
                error = WriteError("MISSING_ARGUMENT", "Id not specified in an update call", ["Id"])
            else:
                object_name, columns = found
                key = (object_name, record_id)
                row = touched.get(key) or app.store.get(source.name, object_name, record_id)
                changes = {k: v for k, v in record.items() if k not in ("attributes", "id", "Id")}
                writer = ObjectWriter(app.store, source.name, object_name, columns)
                error = _update_one(app, source, writer, row, record_id, changes)
                if error is None:
                    touched[key] = row
            results.append(
                {"id": record_id or None, "success": error is None,
                 "errors": [error.as_salesforce()] if error else []}
            )
        failed = any(not r["success"] for r in results)
        if all_or_none and failed:
            for result in results:
                if result["success"]:
                    result["success"] = False
                    result["errors"] = [{
                        "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                        "message": "Record rolled back because not all records were valid and the "
                                   "request was using AllOrNone header",
                        "fields": [],
                    }]
        else:
            for (object_name, _), row in touched.items():
                app.store.save(conn, source.name, object_name, [row])
    return json_response(200, results)
