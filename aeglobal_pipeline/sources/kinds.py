"""One descriptor per source kind and object: what every extract, view and reader needs to know.

A new source kind (or a new object of an existing kind) is one entry here plus its client and
extract function, instead of another `if kind == ...` in each module. Descriptors are data only;
the functions that use them import the clients lazily, so this module stays import-light.
"""

from __future__ import annotations

from dataclasses import dataclass

from aeglobal_pipeline.sources.raw_tables import ObjectShape

_SALESFORCE_SYSTEM = ("Id", "CreatedDate", "LastModifiedDate", "SystemModstamp", "IsDeleted")
# What the AE extract requests (v5 returns only the fields asked for) and the view always carries.
PROSPECT_COLUMNS = (
    "id", "email", "salutation", "firstName", "lastName", "company", "jobTitle", "country", "city",
    "phone", "optedOut", "isDoNotEmail", "score", "grade", "salesforceLeadId", "salesforceContactId",
    "salesforceAccountId", "createdAt", "updatedAt", "isDeleted",
)


@dataclass(frozen=True)
class ObjectDescriptor:
    """One object of one source kind, as the warehouse sees it."""

    kind: str                       # salesforce | account_engagement
    name: str                       # API name: Lead, Contact, Account, Prospect
    union_view: str                 # the relation dbt reads (every source of this kind unioned)
    shape: ObjectShape              # id, change stamp, deletion and standard columns

    @property
    def standard_columns(self) -> tuple[str, ...]:
        """Always present in the union view and the raw table (null where an org lacks them)."""
        return self.shape.columns

    @property
    def id_column(self) -> str:
        return self.shape.id_column

    @property
    def stamp_column(self) -> str:
        return self.shape.modstamp_column


@dataclass(frozen=True)
class SourceKind:
    """A kind of source system: its label and the objects extracted from it."""

    name: str
    label: str                      # how a human calls one system of this kind
    objects: tuple[str, ...]


def _salesforce(name: str, view: str, columns: tuple[str, ...]) -> ObjectDescriptor:
    shape = ObjectShape("Id", "SystemModstamp", "IsDeleted", columns)
    return ObjectDescriptor("salesforce", name, view, shape)


OBJECTS: dict[str, ObjectDescriptor] = {
    d.name: d
    for d in (
        _salesforce("Lead", "raw.salesforce_leads", (
            "Id", "Salutation", "FirstName", "LastName", "Email", "Phone", "MobilePhone", "Company",
            "Title", "Street", "City", "PostalCode", "State", "Country", "Status", "LeadSource",
            "HasOptedOutOfEmail", "DoNotCall", "IsConverted", "ConvertedContactId",
            "ConvertedAccountId", "Global_Person_Id__c", "Brand__c", *_SALESFORCE_SYSTEM[1:],
        )),
        _salesforce("Contact", "raw.salesforce_contacts", (
            "Id", "AccountId", "Salutation", "FirstName", "LastName", "Email", "Phone", "MobilePhone",
            "Title", "MailingStreet", "MailingCity", "MailingPostalCode", "MailingState", "MailingCountry",
            "Birthdate", "LeadSource", "HasOptedOutOfEmail", "DoNotCall", "Global_Person_Id__c",
            "Brand__c", *_SALESFORCE_SYSTEM[1:],
        )),
        _salesforce("Account", "raw.salesforce_accounts", (
            "Id", "Name", "Website", "Industry", "BillingCountry", "BillingCity",
            *_SALESFORCE_SYSTEM[1:],
        )),
        ObjectDescriptor(
            "account_engagement", "Prospect", "raw.account_engagement_prospects",
            ObjectShape("id", "updatedAt", "isDeleted", PROSPECT_COLUMNS),
        ),
    )
}

KINDS: dict[str, SourceKind] = {
    "salesforce": SourceKind("salesforce", "Salesforce org", ("Account", "Contact", "Lead")),
    "account_engagement": SourceKind(
        "account_engagement", "Account Engagement business unit", ("Prospect",)
    ),
}


def descriptor(object_name: str) -> ObjectDescriptor:
    try:
        return OBJECTS[object_name]
    except KeyError:
        raise KeyError(f"no descriptor for object {object_name!r} (known: {sorted(OBJECTS)})") from None


def all_objects() -> list[str]:
    """Every object of every kind: the union views exist whichever kinds a deployment has."""
    return sorted(OBJECTS)
