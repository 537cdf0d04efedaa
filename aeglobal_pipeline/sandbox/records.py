"""The snapshot's systems, column layouts and value formats (Salesforce ids, timestamps).

Headers follow the Salesforce REST field names and the Account Engagement v5 prospect fields;
each CRM org adds a few regional custom fields, some a field dictionary would accept and some
(Legacy_Score__c) it should flag.
"""

from __future__ import annotations

import time
from random import Random

from aeglobal_pipeline.config import Source, SourcesFile
from aeglobal_pipeline.sandbox.names import Weighted, read_table

SOURCES = SourcesFile(
    sources=[
        Source(
            name="crm_emea",
            kind="salesforce",
            region="EMEA",
            legal_entity="Northwind Europe GmbH",
            brands=["northwind"],
            countries=["DE", "AT", "CH", "FR", "BE", "NL", "GB", "IE", "PL", "ES", "IT", "PT"],
        ),
        Source(
            name="crm_na",
            kind="salesforce",
            region="NA",
            legal_entity="Northwind Americas Inc.",
            brands=["northwind", "contoso"],
            countries=["US", "CA", "MX", "BR"],
        ),
        Source(
            name="crm_apac",
            kind="salesforce",
            region="APAC",
            legal_entity="Northwind Asia Pacific Pte. Ltd.",
            brands=["northwind", "fabrikam"],
            countries=["JP", "CN", "SG", "AU", "IN", "KR"],
        ),
        Source(
            name="ae_emea",
            kind="account_engagement",
            region="EMEA",
            legal_entity="Northwind Europe GmbH",
            brands=["northwind"],
            business_unit_id="0UvEMEA0000000001",
            connected_crm="crm_emea",
        ),
        Source(
            name="ae_na",
            kind="account_engagement",
            region="NA",
            legal_entity="Northwind Americas Inc.",
            brands=["northwind", "contoso"],
            business_unit_id="0UvNA000000000001",
            connected_crm="crm_na",
        ),
    ]
)
CRM_ORGS = tuple(s.name for s in SOURCES.sources if s.kind == "salesforce")
AE_UNITS = tuple(s.name for s in SOURCES.sources if s.kind == "account_engagement")
AE_FOR_CRM = {s.connected_crm: s.name for s in SOURCES.sources if s.connected_crm}
BRANDS = {s.name: tuple(s.brands) for s in SOURCES.sources}

LEAD_FIELDS = [
    "Id", "FirstName", "LastName", "Email", "Phone", "MobilePhone", "Company", "Title", "Street",
    "City", "PostalCode", "State", "Country", "Status", "LeadSource", "HasOptedOutOfEmail",
    "DoNotCall", "IsConverted", "ConvertedContactId", "ConvertedAccountId", "Brand__c",
    "Global_Person_Id__c", "CreatedDate", "LastModifiedDate", "SystemModstamp", "IsDeleted",
    "Salutation",
]  # fmt: skip
CONTACT_FIELDS = [
    "Id", "AccountId", "FirstName", "LastName", "Email", "Phone", "MobilePhone", "Title",
    "MailingStreet", "MailingCity", "MailingPostalCode", "MailingState", "MailingCountry",
    "Birthdate", "LeadSource", "HasOptedOutOfEmail", "DoNotCall", "Brand__c",
    "Global_Person_Id__c", "CreatedDate", "LastModifiedDate", "SystemModstamp", "IsDeleted",
    "Salutation",
]  # fmt: skip
ACCOUNT_FIELDS = [
    "Id", "Name", "Website", "Industry", "BillingCountry", "BillingCity", "CreatedDate",
    "LastModifiedDate", "SystemModstamp", "IsDeleted",
]  # fmt: skip
PROSPECT_FIELDS = [
    "id", "email", "firstName", "lastName", "company", "jobTitle", "country", "city", "phone",
    "optedOut", "isDoNotEmail", "score", "grade", "salesforceLeadId", "salesforceContactId",
    "salesforceAccountId", "createdAt", "updatedAt", "isDeleted", "salutation",
]  # fmt: skip
# Regional custom fields per org and object (appended after the standard columns).
CUSTOM_FIELDS = {
    ("crm_emea", "Lead"): ["GDPR_Consent_Date__c", "Preferred_Language__c", "Legacy_Score__c"],
    ("crm_emea", "Contact"): ["GDPR_Consent_Date__c", "Preferred_Language__c"],
    ("crm_na", "Lead"): ["State_Code__c", "Legacy_Score__c"],
    ("crm_na", "Contact"): ["State_Code__c"],
    ("crm_apac", "Lead"): ["Kana_Name__c", "Local_Name__c"],
    ("crm_apac", "Contact"): ["Kana_Name__c", "Local_Name__c"],
}


def header(source: str, obj: str) -> list[str]:
    base = {"Lead": LEAD_FIELDS, "Contact": CONTACT_FIELDS, "Account": ACCOUNT_FIELDS}
    return base.get(obj, PROSPECT_FIELDS) + CUSTOM_FIELDS.get((source, obj), [])


KEY_PREFIX = {"Account": "001", "Contact": "003", "Lead": "00Q"}
POD = {"crm_emea": "5g", "crm_na": "8d", "crm_apac": "7Q"}
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_CHECKSUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def salesforce_id(org: str, obj: str, number: int) -> str:
    """An 18-character id: key prefix, pod, reserved 0, 9-digit base62 number, case checksum."""
    digits = []
    for _ in range(9):
        number, rest = divmod(number, 62)
        digits.append(_BASE62[rest])
    short = KEY_PREFIX[obj] + POD[org] + "0" + "".join(reversed(digits))
    suffix = ""
    for chunk in range(3):
        bits = 0
        for i, char in enumerate(short[chunk * 5 : chunk * 5 + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << i
        suffix += _CHECKSUM[bits]
    return short + suffix


class IdSequence:
    """Increasing, gapped record numbers per (org, object), so ids look like a real org's."""

    def __init__(self, rng: Random, start: int) -> None:
        self.rng, self.next = rng, start

    def take(self) -> int:
        self.next += 1 + int(self.rng.random() * 40)
        return self.next


# Timestamps: the snapshot is taken at SNAPSHOT_AT; records were created in the years before.
SNAPSHOT_AT = 1774915200  # 2026-03-31T00:00:00Z
EARLIEST = 1546300800  # 2019-01-01T00:00:00Z


def sf_timestamp(epoch: int) -> str:
    t = time.gmtime(epoch)
    return (
        f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T"
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}.000+0000"
    )


def ae_timestamp(epoch: int) -> str:
    t = time.gmtime(epoch)
    return (
        f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}+00:00"
    )


def iso_date(epoch: int) -> str:
    t = time.gmtime(epoch)
    return f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}"


def lifecycle_times(rng: Random, created: int) -> tuple[int, int, int]:
    """(created, last modified, system modstamp): modstamp ≥ modified ≥ created."""
    if created < EARLIEST:  # the CRM went live in 2019: everything older was imported then
        created = EARLIEST + int(rng.random() * 60 * 86400)
    created = min(created, SNAPSHOT_AT - 86400)
    modified = created + int((SNAPSHOT_AT - created) * rng.random() ** 2)
    modstamp = min(SNAPSHOT_AT, modified + (int(rng.random() * 86400) if rng.random() < 0.2 else 0))
    return created, modified, modstamp


def _statuses() -> dict[str, tuple[Weighted, str]]:
    open_states: dict[str, tuple[list, list]] = {}
    converted: dict[str, str] = {}
    for row in read_table("lead_statuses.csv"):
        if row["kind"] == "converted":
            converted[row["source"]] = row["status"]
        else:
            items, weights = open_states.setdefault(row["source"], ([], []))
            items.append(row["status"])
            weights.append(row["weight"])
    return {org: (Weighted(*open_states[org]), converted[org]) for org in open_states}


LEAD_STATUSES = _statuses()
LEAD_SOURCES = Weighted(
    ["Web", "Trade Show", "Webinar", "Partner Referral", "Purchased List", "Employee Referral",
     "Phone Inquiry", "Other", ""],
    [30, 15, 12, 8, 8, 5, 5, 7, 10],
)  # fmt: skip
GRADES = Weighted(
    ["A+", "A", "A-", "B+", "B", "B-", "C+", "C", "D", "F", ""], [2, 4, 5, 6, 9, 8, 7, 8, 6, 4, 41]
)


def boolean(value: bool) -> str:
    return "true" if value else "false"
