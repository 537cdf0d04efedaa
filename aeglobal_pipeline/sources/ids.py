"""Salesforce record ids: 15 characters (case-sensitive) or 18 (with a case-folding checksum).

Salesforce accepts both and always answers with 18; Account Engagement's salesforceLeadId /
salesforceContactId and exported files may carry either. Everything the pipeline joins or
indexes by id uses the 18-character form, so the two spellings of one record are one key.
"""

from __future__ import annotations

import re

_CHECKSUM_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_ID15 = re.compile(r"^[a-zA-Z0-9]{15}$")


def to_18(record_id: str | None) -> str | None:
    """The 18-character form of a 15-character id; anything else is returned unchanged."""
    if record_id is None or not _ID15.match(record_id):
        return record_id
    suffix = ""
    for start in (0, 5, 10):
        chunk = record_id[start:start + 5]
        bits = sum(1 << i for i, char in enumerate(chunk) if "A" <= char <= "Z")
        suffix += _CHECKSUM_ALPHABET[bits]
    return record_id + suffix
