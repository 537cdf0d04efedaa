"""Account Engagement API v5 prospects under /api/v5/objects/prospects.

Query: `fields` (required), `limit` (default 200, at most 1000), `orderBy` (`updatedAt`/`id`,
`asc`/`desc`), `deleted` (false | true | all), `updatedAtAfterOrEqualTo` and friends, paged with
`nextPageToken` (only `fields` may accompany it). Errors are `{"code": N, "message": ...}` with
Account Engagement's codes. Page tokens are signed, self-contained keyset positions.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time

from aeglobal_pipeline.sandbox.fields import PROSPECT, prospect_timestamp, to_stamp
from aeglobal_pipeline.sandbox.server import Request, Response, ae_error, json_response, parse_json
from aeglobal_pipeline.sandbox.store import KeyOrder, Row, record_key
from aeglobal_pipeline.sandbox.writes import ObjectWriter, WriteError, record_fault_error

DEFAULT_LIMIT = 200
MAX_LIMIT = 1_000
TOKEN_SECONDS = 4 * 3600
_PATH = re.compile(r"^/api/v5/objects/prospects(?:/(?P<id>[^/]+))?/?$")
_FILTERS = {
    "updatedAtAfterOrEqualTo": ("modstamp", ">="), "updatedAtAfter": ("modstamp", ">"),
    "updatedAtBefore": ("modstamp", "<"), "updatedAtBeforeOrEqualTo": ("modstamp", "<="),
    "idGreaterThan": ("rid", ">"), "idGreaterThanOrEqualTo": ("rid", ">="),
    "idLessThan": ("rid", "<"), "idLessThanOrEqualTo": ("rid", "<="),
}
_QUERY_PARAMS = frozenset({"fields", "limit", "orderBy", "deleted", "nextPageToken", *_FILTERS})
_READ_PARAMS = frozenset({"fields", "deleted"})
_DELETED = {"false": [("is_deleted = ?", (0,))], "true": [("is_deleted = ?", (1,))], "all": []}


def call_kind(request: Request) -> str:
    match = _PATH.match(request.path)
    if match and match["id"] is None:
        return "ae_query"
    return "ae_patch" if request.method == "PATCH" else "ae_get"


def _reject_unknown_parameters(request: Request, allowed: frozenset[str]) -> None:
    """AE refuses parameters it does not know: a misspelled filter must not pass silently."""
    unknown = sorted(set(request.query) - allowed)
    if unknown:
        raise ae_error(400, 5, f"Invalid query parameters: {', '.join(unknown)}")


def handle(app, source, request: Request) -> Response:
    match = _PATH.match(request.path)
    if match is None:
        raise ae_error(404, 2, "Invalid action: the sandbox serves /api/v5/objects/prospects only")
    _reject_unknown_parameters(request, _QUERY_PARAMS if match["id"] is None else _READ_PARAMS)
    columns = app.store.columns(source.name, PROSPECT)
    if match["id"] is None and request.method == "GET":
        return _query(app, source, request, columns)
    if match["id"] is not None and request.method in ("GET", "PATCH"):
        return _one(app, source, request, columns, match["id"])
    raise ae_error(405, 60, "Invalid HTTP request method")


def _requested_fields(request: Request, columns, value: str | None = None) -> list[tuple[str, int]]:
    text = value if value is not None else request.param("fields")
    if not text:
        raise ae_error(400, 13, "One or more required parameters are missing: fields")
    by_name = {c.name.lower(): (c.name, i) for i, c in enumerate(columns)}
    wanted = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in wanted if name.lower() not in by_name]
    if unknown:
        raise ae_error(400, 224, f"Invalid fields for request type: {', '.join(unknown)}")
    return [by_name[name.lower()] for name in wanted]


def _formatter(fields: list[tuple[str, int]], columns):
    timestamps = {i for _, i in fields if columns[i].type == "datetime"}

    def record(row: Row) -> dict:
        return {
            name: prospect_timestamp(row.values[i]) if i in timestamps and row.values[i] else row.values[i]
            for name, i in fields
        }

    return record


def _sign(app, payload: dict) -> str:
    body = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()
    mac = hmac.new(app.control_token.encode(), body.encode(), hashlib.sha256).hexdigest()[:24]
    return f"{body}.{mac}"


def _unsign(app, token: str) -> dict:
    body, _, mac = token.partition(".")
    expected = hmac.new(app.control_token.encode(), body.encode(), hashlib.sha256).hexdigest()[:24]
    try:
        if not hmac.compare_digest(mac, expected):
            raise ValueError("signature")
        payload = json.loads(base64.urlsafe_b64decode(body.encode()))
    except ValueError:
        raise ae_error(400, 211, "Page token is invalid.") from None
    if payload.get("generation") != app.store.generation():
        raise ae_error(400, 211, "Page token is invalid.")
    if time.time() - payload.get("issued", 0) > TOKEN_SECONDS:
        raise ae_error(400, 210, "Page token has expired.")
    return payload


def _query_spec(request: Request) -> dict:
    """The first request's parameters as a page-token payload."""
    try:
        limit = int(request.param("limit") or DEFAULT_LIMIT)
    except ValueError:
        raise ae_error(400, 23, "Invalid value specified for limit") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise ae_error(400, 23, f"Invalid value specified for limit: must be 1..{MAX_LIMIT}")
    deleted = (request.param("deleted") or "false").lower()
    if deleted not in _DELETED:
        raise ae_error(400, 27, "Parameter deleted must be true, false or all")
    order_text = (request.param("orderBy") or "id").strip()
    match = re.fullmatch(r"(id|updatedAt)(?:\s+(asc|desc))?(?:\s*,\s*id(?:\s+(asc|desc))?)?", order_text,
                         re.IGNORECASE)
    if not match:
        raise ae_error(400, 19, f"Invalid value specified for orderBy: {order_text}")
    filters = []
    for name, (column, op) in _FILTERS.items():
        value = request.param(name)
        if value is None:
            continue
        try:
            bound = to_stamp(value) if column == "modstamp" else record_key(PROSPECT, value)
        except ValueError:
            code = 7 if column == "modstamp" else 16  # invalid timestamp / invalid id
            raise ae_error(400, code, f"Invalid value for {name}: {value}") from None
        filters.append([f"{column} {op} ?", bound])
    return {
        "limit": limit, "deleted": deleted, "filters": filters,
        "by_updated": match[1].lower() == "updatedat", "desc": (match[2] or "asc").lower() == "desc",
        "fields": request.param("fields"), "after": None, "served": 0,
    }


def _query(app, source, request: Request, columns) -> Response:
    token = request.param("nextPageToken")
    if token:
        extra = sorted(set(request.query) - {"nextPageToken", "fields"})
        if extra:
            raise ae_error(400, 5, f"Only fields may accompany nextPageToken, not: {', '.join(extra)}")
        spec = _unsign(app, token)
    else:
        spec = _query_spec(request)
    fields = _requested_fields(request, columns, request.param("fields") or spec["fields"])
    order = KeyOrder(by_modstamp=spec["by_updated"], descending=spec["desc"])
    filters = [(sql, (bound,)) for sql, bound in spec["filters"]] + _DELETED[spec["deleted"]]
    after = tuple(spec["after"]) if spec["after"] else None
    # A token sequence ends at the cap (100,000 records): no token, and warning 203 instead.
    room = app.limits.of(source.name).ae_sequence_cap - spec.get("served", 0)
    size = max(min(spec["limit"], room), 0)
    rows = app.store.fetch(source.name, PROSPECT, filters, order, after, size + 1) if size else []
    more = len(rows) > size
    rows = rows[:size]
    capped = more and size == room
    next_token = next_url = None
    headers = {}
    if capped:
        headers["Pardot-Warning"] = (
            "203 - The nextPageToken sequence has reached its limit of records; "
            "start a new query from the last record's position"
        )
    elif more:
        next_token = _sign(app, {
            **spec, "after": list(order.key(rows[-1])), "issued": time.time(),
            "generation": app.store.generation(), "served": spec.get("served", 0) + len(rows),
        })
        host = request.headers.get("Host", "127.0.0.1")
        next_url = f"https://{host}/api/v5/objects/prospects?nextPageToken={next_token}"
    to_json = _formatter(fields, columns)
    return json_response(200, {
        "values": [to_json(row) for row in rows], "nextPageToken": next_token, "nextPageUrl": next_url,
    }, headers)


def _one(app, source, request: Request, columns, prospect_id: str) -> Response:
    try:
        rid = record_key(PROSPECT, prospect_id)
    except ValueError:
        raise ae_error(400, 16, f"Invalid ID: {prospect_id}") from None
    if request.method == "GET":
        fields = _requested_fields(request, columns)
        row = app.store.get(source.name, PROSPECT, rid)
        show_deleted = (request.param("deleted") or "false").lower() in ("true", "all")
        if row is None or (row.is_deleted and not show_deleted):
            raise ae_error(404, 192, "Object specified does not exist")
        return json_response(200, _formatter(fields, columns)(row))
    changes = parse_json(request, ae_error(400, 150, "Input needs to be valid JSON"))
    if not isinstance(changes, dict) or not changes:
        raise ae_error(400, 152, "Request body can't be empty")
    fields = _requested_fields(request, columns) if request.param("fields") else None
    writer = ObjectWriter(app.store, source.name, PROSPECT, columns)
    resolved = writer.resolve(changes)
    with app.store.transaction() as conn:
        row = app.store.get(source.name, PROSPECT, rid)
        error = resolved if isinstance(resolved, WriteError) else (
            writer.check_target(row, prospect_id) or record_fault_error(app, source.name, prospect_id)
        )
        if error is None:
            writer.apply(row, resolved)
            app.store.save(conn, source.name, PROSPECT, [row])
    if error is not None:
        status = 404 if error.ae_code == 192 else 400
        raise ae_error(status, error.ae_code, error.message)
    if fields is None:
        return Response(204)
    return json_response(200, _formatter(fields, columns)(row))
