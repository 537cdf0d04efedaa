"""A late-visible record: committed with a change stamp older than the newest already served.

In a real org a long transaction commits with the SystemModstamp of its start, and replicas
make AE reads lag: a reader that resumes at `>= newest stamp seen` never sees such a record.
`commit_late_record` reproduces it: it applies the changes to one record and stamps it
`seconds_before_newest` seconds before the newest stamp of its object.
"""

from __future__ import annotations

from datetime import timedelta

from aeglobal_pipeline.sandbox.fields import PROSPECT, stamp, stamp_to_datetime
from aeglobal_pipeline.sandbox.server import salesforce_error
from aeglobal_pipeline.sandbox.store import record_key
from aeglobal_pipeline.sandbox.writes import ObjectWriter, WriteError


def commit_late_record(app, body: object) -> dict:
    if not isinstance(body, dict):
        raise salesforce_error(400, "INVALID_FAULT", "late_record needs a JSON object")
    source, object_name = str(body.get("source", "")), str(body.get("object", ""))
    changes = body.get("changes") or {}
    seconds = float(body.get("seconds_before_newest", 60))
    columns = app.store.columns(source, object_name)
    if not columns or not isinstance(changes, dict):
        raise salesforce_error(400, "INVALID_FAULT", f"no object {object_name!r} in source {source!r}")
    rid = record_key(object_name, body.get("record_id"))
    writer = ObjectWriter(app.store, source, object_name, columns)
    resolved = writer.resolve(changes)
    if isinstance(resolved, WriteError):
        raise salesforce_error(400, resolved.code, resolved.message)
    with app.store.transaction() as conn:
        row = app.store.get(source, object_name, rid)
        if row is None:
            raise salesforce_error(404, "NOT_FOUND", f"no record {rid} in {source}.{object_name}")
        newest = conn.execute(
            "SELECT MAX(modstamp) FROM records WHERE source = ? AND object = ?", (source, object_name)
        ).fetchone()[0]
        writer.apply(row, resolved)
        late = stamp(stamp_to_datetime(newest) - timedelta(seconds=seconds))
        row.modstamp = late
        maintained = ("updatedAt",) if object_name == PROSPECT else ("SystemModstamp", "LastModifiedDate")
        for name in maintained:
            row.values[writer.by_name[name.lower()]] = late
        app.store.save(conn, source, object_name, [row])
    return {"record_id": body.get("record_id"), "modstamp": late, "newest": newest}
