"""Validating and applying record updates: shared by every write path of both APIs.

Each write bumps the record's modstamp (SystemModstamp + LastModifiedDate, or updatedAt) to the
store's clock, which is strictly increasing, so incremental extraction never misses a write.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aeglobal_pipeline.sandbox.fields import PROSPECT, Column, from_json, from_text, is_updateable
from aeglobal_pipeline.sandbox.store import Row, Store


@dataclass
class WriteError:
    code: str  # Salesforce statusCode
    message: str
    fields: list[str] = field(default_factory=list)
    http_status: int = 400  # for single-record endpoints
    ae_code: int = 85  # Account Engagement: "Unable to save the prospect"

    def as_salesforce(self) -> dict:
        return {"statusCode": self.code, "message": self.message, "fields": self.fields}

    def as_bulk(self) -> str:
        """sf__Error in Bulk 2.0 failed results: `CODE:message:fields --`."""
        return f"{self.code}:{self.message}:{','.join(self.fields)} --"


class ObjectWriter:
    """Validates and applies updates to one source × object."""

    def __init__(self, store: Store, source: str, object_name: str, columns: list[Column]):
        self.store, self.source, self.object_name = store, source, object_name
        self.columns = columns
        self.by_name = {c.name.lower(): i for i, c in enumerate(columns)}

    def resolve(self, changes: dict, *, from_csv: bool = False) -> dict[int, object] | WriteError:
        """Field name -> value pairs as column index -> stored value, or the first problem.

        Bulk CSV conventions when `from_csv`: an empty cell leaves the field alone, `#N/A` nulls it.
        """
        resolved: dict[int, object] = {}
        for name, value in changes.items():
            index = self.by_name.get(name.lower())
            if index is None:
                return WriteError(
                    "INVALID_FIELD", f"No such column '{name}' on sobject of type {self.object_name}",
                    [name], ae_code=180,
                )
            column = self.columns[index]
            if column.name.lower() in ("id",):
                continue
            if not is_updateable(self.object_name, column.name):
                return WriteError(
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    f"Unable to create/update fields: {column.name}. Please check the security "
                    "settings of this field and verify that it is read/write for your profile or "
                    "permission set.",
                    [column.name], ae_code=180,
                )
            try:
                if from_csv:
                    if value == "":
                        continue
                    resolved[index] = None if value == "#N/A" else from_text(column.type, value)
                else:
                    resolved[index] = from_json(column.type, value)
            except ValueError as error:
                return WriteError(
                    "INVALID_TYPE_ON_FIELD_IN_RECORD", f"{column.name}: {error}", [column.name],
                    ae_code=154,
                )
        return resolved

    def check_target(self, row: Row | None, record_id: str) -> WriteError | None:
        if row is None:
            return WriteError(
                "NOT_FOUND" if self.object_name == PROSPECT else "INVALID_CROSS_REFERENCE_KEY",
                f"invalid cross reference id: {record_id}", http_status=404, ae_code=192,
            )
        if row.is_deleted:
            return WriteError("ENTITY_IS_DELETED", "entity is deleted", http_status=404, ae_code=219)
        return None

    def apply(self, row: Row, resolved: dict[int, object]) -> None:
        """Set the values and bump the modstamp (the caller saves the row in its transaction)."""
        for index, value in resolved.items():
            row.values[index] = value
        row.modstamp = self.store.next_stamp()
        maintained = ("updatedAt",) if self.object_name == PROSPECT else (
            "SystemModstamp", "LastModifiedDate",
        )
        for name in maintained:
            row.values[self.by_name[name.lower()]] = row.modstamp


def record_fault_error(app: object, source: str, record_id: str) -> WriteError | None:
    """An injected per-record error, if one is pending for this record."""
    fault = app.faults.take_record_fault(source, record_id)  # type: ignore[attr-defined]
    if fault is None:
        return None
    # Account Engagement has no row locks to report; 62 ("Conflicting Update") is its analogue.
    ae_code = fault.ae_code or (62 if fault.error_code == "UNABLE_TO_LOCK_ROW" else 85)
    return WriteError(fault.error_code, fault.text, list(fault.fields), ae_code=ae_code)
