"""What real exports look like, and the checks that keep a damaged one out of the sandbox.

Salesforce Data Loader writes quoted UPPERCASE headers (`"ID","FIRSTNAME",...`), CRLF line ends
and often a byte-order mark; `sf data export bulk` writes the API names as they are. API names
are case-insensitive in Salesforce, so a header is matched to the standard field (or a field the
field dictionary declares) whatever its case. The checks here name what is wrong and where:
missing standard columns, a header that is no API name (`Brace{0}__c`), an unclosed quote that
swallowed the following records into one cell, and the real line of a byte that does not decode.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable
from pathlib import Path

from aeglobal_pipeline.sandbox.fields import (
    PROSPECT,
    PROSPECT_STANDARD_FIELDS,
    SALESFORCE_STANDARD_FIELDS,
    SALESFORCE_SYSTEM_FIELDS,
)

# Without these a file is not an export of the object: an identity needs the record's id, its
# name and its e-mail column (a cell may be empty; a missing column is a broken export).
REQUIRED_COLUMNS = {
    "Lead": ("Id", "LastName", "Email"),
    "Contact": ("Id", "LastName", "Email"),
    "Account": ("Id", "Name"),
    PROSPECT: ("id", "email"),
}
# One API name: a letter, then letters, digits and single underscores, not ending in one; a
# custom field ends in __c. No dots: a relationship column (Account.Name) is not a field.
# An optional managed-package namespace (`pi__`), the name, an optional custom suffix (`__c`).
_NAME_PART = r"[A-Za-z](?:[A-Za-z0-9]|_(?=[A-Za-z0-9]))*"
API_NAME = re.compile(rf"^(?:{_NAME_PART}__)?{_NAME_PART}(?:__c)?$")
_SALESFORCE_ID = re.compile(r'^"?[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?"?,')
_PROSPECT_ID = re.compile(r'^"?\d{1,12}"?,')


class FormatError(ValueError):
    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line, self.message = line, message


def known_names(object_name: str) -> dict[str, str]:
    """lower-case name → the API name's own spelling, for this object's known fields."""
    if object_name == PROSPECT:
        names: Iterable[str] = PROSPECT_STANDARD_FIELDS
    else:
        names = (*SALESFORCE_STANDARD_FIELDS, *SALESFORCE_SYSTEM_FIELDS)
    known = {name.lower(): name for name in names}
    for name in _dictionary_names(object_name):
        known.setdefault(name.lower(), name)
    return known


def _dictionary_names(object_name: str) -> list[str]:
    """API names field_dictionary.yaml gives this object, when the rules load (else none)."""
    try:
        from aeglobal_pipeline.governance.rules import load_rules

        dictionary = load_rules().field_dictionary
    except Exception:
        return []
    names = [spec.api_names.get(object_name) for spec in dictionary.central_fields.values()]
    names += [f.api_name for fields in dictionary.regional_fields.values() for f in fields
              if f.object == object_name]
    return [n for n in names if n and API_NAME.match(n)]


def canonical_header(object_name: str, header: list[str]) -> list[str]:
    """The header with each name in its API spelling; raises FormatError naming the column."""
    known = known_names(object_name)
    names = []
    for position, raw in enumerate(header, start=1):
        name = raw.strip()
        if not API_NAME.match(name) and not API_NAME.match(name[:-3] + name[-3:].lower()):
            raise FormatError(1, f"column {position} {raw!r} is not a field API name (a letter, then "
                                 "letters, digits and single underscores; custom fields end in __c)")
        if name.lower() in known:
            name = known[name.lower()]
        elif name.lower().endswith("__c"):
            name = name[:-3] + "__c"
        names.append(name)
    seen: dict[str, int] = {}
    for position, name in enumerate(names, start=1):
        if name.lower() in seen:
            raise FormatError(1, f"columns {seen[name.lower()]} and {position} are both {name!r} "
                                 "(API names ignore case)")
        seen[name.lower()] = position
    missing = [n for n in REQUIRED_COLUMNS[object_name] if n not in names]
    if missing:
        raise FormatError(1, f"missing the standard column{'s' if len(missing) > 1 else ''} "
                             f"{', '.join(missing)} of {object_name} (header: {', '.join(header)})")
    return names


def swallowed_rows(object_name: str, cells: list[str], header: list[str], width: int,
                   start_line: int) -> FormatError | None:
    """A quoted cell whose later lines start like records of this file: an unclosed quote ate
    them. The error names the line the quote opened on."""
    id_shape = _PROSPECT_ID if object_name == PROSPECT else _SALESFORCE_ID
    line = start_line
    for index, cell in enumerate(cells):
        breaks = cell.splitlines()
        for later in breaks[1:]:
            if id_shape.match(later) and later.count(",") >= min(2, width - 1):
                return FormatError(line, f"the quoted {header[index]} cell opened on this line runs "
                                         f"over {len(breaks)} lines and holds what look like records "
                                         f"(a line starts {later[:40]!r}): an unclosed quote?")
        line += cell.count("\n") or cell.count("\r")
    return None


def normalise_encoding(name: str | None) -> str:
    """The codec to read with; UTF-8 (the default) also accepts a byte-order mark."""
    name = name or "utf-8"
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        raise ValueError(f"unknown encoding {name!r} (e.g. utf-8, cp1252, latin-1)") from None
    return "utf-8-sig" if codec in ("utf-8", "utf-8-sig") else codec


def decode_error_line(path: Path, encoding: str) -> tuple[int, str]:
    """(line, what) of the first byte that does not decode, read again from the start: the text
    reader decodes ahead of the CSV reader, so the row it was on is not the line."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    line = 1
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as error:
                # The decoder may hold back a few bytes of the previous chunk; count them here.
                line += chunk[: max(error.start - len(error.object) + len(chunk), 0)].count(b"\n")
                bad = error.object[error.start : error.end]
                return line, f"byte {bad.hex(' ')} ({error.reason})"
            line += chunk.count(b"\n")
    return line, "undecodable text"
