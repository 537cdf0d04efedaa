"""Field metadata and value formats shared by the sandbox's store, loader and APIs.

Values are stored typed (JSON): booleans as booleans, Prospect ids and scores as integers,
timestamps as `2026-03-04T10:15:00.000Z` (UTC, millisecond precision, so that text order is time
order), dates as `YYYY-MM-DD`, everything else as text. Each API formats timestamps its own way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone

from aeglobal_pipeline.sources.ids import to_18

PROSPECT = "Prospect"

# Fields every Salesforce object in the sandbox has, whether or not the snapshot carried them.
SALESFORCE_SYSTEM_FIELDS = ("Id", "IsDeleted", "CreatedDate", "LastModifiedDate", "SystemModstamp")
SALESFORCE_READ_ONLY = {
    "Id", "IsDeleted", "CreatedDate", "LastModifiedDate", "SystemModstamp", "CreatedById",
    "LastModifiedById", "IsConverted", "ConvertedContactId", "ConvertedAccountId",
    "ConvertedOpportunityId", "ConvertedDate", "MasterRecordId", "LastActivityDate",
}
SALESFORCE_STANDARD_FIELDS = {
    "Id", "IsDeleted", "CreatedDate", "LastModifiedDate", "SystemModstamp", "Name", "FirstName",
    "LastName", "Salutation", "Email", "Phone", "MobilePhone", "Company", "Title", "Country",
    "City", "State", "Street", "PostalCode", "MailingCountry", "MailingCity", "MailingState",
    "MailingStreet", "MailingPostalCode", "BillingCountry", "BillingCity", "Website", "Industry",
    "Status", "LeadSource", "HasOptedOutOfEmail", "HasOptedOutOfFax", "DoNotCall", "IsConverted",
    "ConvertedContactId", "ConvertedAccountId", "ConvertedDate", "AccountId", "OwnerId",
    "Description", "Birthdate", "Department", "CreatedById", "LastModifiedById", "MasterRecordId",
    "LastActivityDate", "EmailBouncedDate", "EmailBouncedReason", "Rating", "Type",
}

# Account Engagement v5 prospect fields that exist in every business unit.
PROSPECT_STANDARD_FIELDS = (
    "id", "email", "salutation", "firstName", "lastName", "company", "jobTitle", "department",
    "country", "city", "state", "zip", "address1", "address2", "phone", "fax", "website",
    "industry", "annualRevenue", "employees", "source", "comments", "optedOut", "isDoNotEmail",
    "isDoNotCall", "isEmailHardBounced", "score", "grade", "salesforceId", "salesforceLeadId",
    "salesforceContactId", "salesforceAccountId", "salesforceOwnerId", "createdAt", "updatedAt",
    "lastActivityAt", "isDeleted",
)
PROSPECT_READ_ONLY = {
    "id", "createdAt", "updatedAt", "lastActivityAt", "isDeleted", "salesforceId",
    "salesforceLeadId", "salesforceContactId", "salesforceAccountId", "isEmailHardBounced",
}
PROSPECT_INTEGER_FIELDS = {"id", "score"}

_TIMESTAMP = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?"
    r"(Z|[+-]\d{2}:?\d{2})?$"
)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_UTC_MILLIS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}(?:Z|\+0000|\+00:00)$")
_UTC_SECONDS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:Z|\+0000|\+00:00)$")


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # id | reference | boolean | datetime | date | int | string


def _prefixed(name: str, prefix: str) -> bool:
    """`IsConverted` is prefixed by `Is`; `Island__c` is not."""
    rest = name[len(prefix):]
    return name.startswith(prefix) and rest[:1].isupper()


def salesforce_field_type(name: str) -> str:
    if name == "Id":
        return "id"
    if _prefixed(name, "Is") or _prefixed(name, "Has") or name == "DoNotCall":
        return "boolean"
    if name == "Birthdate":
        return "date"
    if name.endswith("Date") or name == "SystemModstamp":
        return "datetime"
    if name.endswith("Id"):
        return "reference"
    return "string"


def prospect_field_type(name: str) -> str:
    if name in PROSPECT_INTEGER_FIELDS:
        return "int"
    if _prefixed(name, "is") or name == "optedOut":
        return "boolean"
    if name.endswith("At"):
        return "datetime"
    return "string"


def field_type(object_name: str, name: str) -> str:
    return prospect_field_type(name) if object_name == PROSPECT else salesforce_field_type(name)


def is_updateable(object_name: str, name: str) -> bool:
    if object_name == PROSPECT:
        return name not in PROSPECT_READ_ONLY
    return name not in SALESFORCE_READ_ONLY


def is_custom(object_name: str, name: str) -> bool:
    if object_name == PROSPECT:
        return name not in PROSPECT_STANDARD_FIELDS
    return name.endswith("__c") or name not in SALESFORCE_STANDARD_FIELDS


def label(name: str) -> str:
    """`HasOptedOutOfEmail` -> `Has Opted Out Of Email`, `Region__c` -> `Region`."""
    base = name.removesuffix("__c").replace("_", " ")
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", base).strip()
    return spaced[:1].upper() + spaced[1:]


def parse_timestamp(text: str) -> datetime:
    """Any ISO 8601 form the APIs and snapshots use; naive values are taken as UTC."""
    text = text.strip()
    match = _TIMESTAMP.match(text)
    if not match:
        if _DATE.match(text):
            return datetime.fromisoformat(text).replace(tzinfo=UTC)
        raise ValueError(f"not a timestamp: {text!r}")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction or "0").ljust(6, "0"))
    value = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro)
    if zone in (None, "Z"):
        return value.replace(tzinfo=UTC)
    digits = zone[1:].replace(":", "")
    offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return value.replace(tzinfo=timezone(offset if zone[0] == "+" else -offset)).astimezone(UTC)


def stamp(moment: datetime) -> str:
    """The stored form: `2026-03-04T10:15:00.000Z`."""
    moment = moment.astimezone(UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


def to_stamp(text: str) -> str:
    # Fast path for the UTC forms snapshots are full of (millions of cells on a large load).
    if _UTC_MILLIS.match(text):
        datetime.fromisoformat(text[:23])  # still reject impossible dates like 2026-13-45
        return text[:23] + "Z"
    if _UTC_SECONDS.match(text):
        datetime.fromisoformat(text[:19])
        return text[:19] + ".000Z"
    return stamp(parse_timestamp(text))


def stamp_to_datetime(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def rest_timestamp(value: str) -> str:
    """Salesforce REST: `2026-03-04T10:15:00.000+0000`."""
    return value[:-1] + "+0000"


def prospect_timestamp(value: str) -> str:
    """Account Engagement v5: `2026-03-04T10:15:00+00:00`."""
    return value[:19] + "+00:00"


def parse_date(text: str) -> str:
    return date.fromisoformat(text.strip()).isoformat()


def parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise ValueError(f"not a boolean (true/false): {text!r}")


def from_text(column_type: str, text: str) -> object:
    """A CSV cell (non-empty) to its stored value; raises ValueError when it does not parse."""
    if column_type == "boolean":
        return parse_bool(text)
    if column_type == "datetime":
        return to_stamp(text)
    if column_type == "date":
        return parse_date(text)
    if column_type == "int":
        return int(text)
    if column_type in ("id", "reference"):
        # Salesforce accepts 15-character ids and stores (and answers) the 18-character form.
        return to_18(text)
    return text


def from_json(column_type: str, value: object) -> object:
    """A JSON value sent in a write to its stored value; raises ValueError when it does not fit."""
    if value is None:
        return None
    if column_type == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str):
            return parse_bool(value)
        raise ValueError(f"not a boolean: {value!r}")
    if column_type == "int":
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError(f"not an integer: {value!r}")
        return int(value)
    if not isinstance(value, str):
        if column_type == "string" and isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        raise ValueError(f"not a {column_type}: {value!r}")
    return from_text(column_type, value) if value != "" or column_type != "string" else value
