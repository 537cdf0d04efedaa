"""Comparing and encoding field values across the plan (text), REST/v5 JSON and Bulk CSV.

The plan carries every value as text; the APIs answer with typed JSON. Two values are the same
when their canonical text is equal, so `True` and "true", `12` and "12", null and "" agree.
"""

from __future__ import annotations

from datetime import UTC, datetime

_BOOL_TEXT = {"true": True, "false": False}


def canonical(value: object) -> str:
    """The text a value compares by: "" for null, lower-case booleans, integral numbers bare."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value)
    return text.lower() if text.lower() in _BOOL_TEXT else text


def same_value(current: object, planned: object) -> bool:
    return canonical(current) == canonical(planned)


def to_json_value(planned: str | None, current: object) -> object:
    """A plan value typed like the field's current API value (JSON booleans stay booleans)."""
    if planned is None or planned == "":
        return None
    if isinstance(current, bool) and planned.lower() in _BOOL_TEXT:
        return _BOOL_TEXT[planned.lower()]
    if isinstance(current, int) and not isinstance(current, bool):
        try:
            return int(planned)
        except ValueError:
            return planned
    if isinstance(current, float):
        try:
            return float(planned)
        except ValueError:
            return planned
    return planned


def to_csv_value(planned: str | None) -> str:
    """Bulk API 2.0 CSV: an empty cell leaves a field alone, `#N/A` clears it."""
    if planned is None or planned == "":
        return "#N/A"
    return canonical(planned)


def parse_stamp(value: object) -> datetime | None:
    """SystemModstamp / updatedAt in any of the forms the APIs and the raw tables use."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def same_stamp(current: object, extracted: object) -> bool:
    left, right = parse_stamp(current), parse_stamp(extracted)
    return left is not None and left == right
