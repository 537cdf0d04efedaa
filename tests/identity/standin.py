"""TEST STAND-IN for the lead's dbt model `intermediate.int_person_records`.

Builds the table contract described in the identity issue from a snapshot directory written by
`generate_snapshot` (DIR/<source>/<Object>.csv + DIR/sources.yaml), so the identity tests and
accuracy runs do not wait for dbt. It is deliberately simple and is NOT the production
normaliser: the real one is dbt_project/models/intermediate/int_person_records.sql.
Country spellings come from the sandbox's country table (test convenience only); every other
list here (free-mail domains, role mailboxes, legal suffixes) is written independently.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from functools import cache, lru_cache
from pathlib import Path

import duckdb
import phonenumbers
import pyarrow as pa
import yaml

FREE_MAIL = {
    "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "yahoo.co.jp", "yahoo.es", "yahoo.ca",
    "yahoo.com.mx", "yahoo.com.br", "yahoo.co.in", "yahoo.com.sg", "hotmail.com", "hotmail.co.uk",
    "hotmail.fr", "hotmail.es", "hotmail.it", "hotmail.nl", "outlook.com", "outlook.de", "live.nl",
    "aol.com", "icloud.com", "comcast.net", "gmx.de", "gmx.at", "gmx.ch", "web.de", "t-online.de",
    "aon.at", "chello.at", "bluewin.ch", "hispeed.ch", "orange.fr", "free.fr", "laposte.net",
    "sfr.fr", "skynet.be", "telenet.be", "ziggo.nl", "kpnmail.nl", "xs4all.nl", "btinternet.com",
    "sky.com", "eircom.net", "wp.pl", "onet.pl", "o2.pl", "interia.pl", "telefonica.net",
    "libero.it", "virgilio.it", "alice.it", "sapo.pt", "docomo.ne.jp", "ezweb.ne.jp", "qq.com",
    "163.com", "126.com", "sina.com", "singnet.com.sg", "bigpond.com", "optusnet.com.au",
    "rediffmail.com", "naver.com", "daum.net", "hanmail.net", "uol.com.br", "bol.com.br",
    "prodigy.net.mx", "videotron.ca", "shaw.ca", "rogers.com",
}  # fmt: skip
ROLE_LOCAL_PARTS = {
    "info", "sales", "office", "hello", "contact", "contacts", "enquiries", "inquiries", "admin",
    "support", "marketing", "team", "mail", "kontakt", "vertrieb", "buero", "einkauf", "commercial",
    "accueil", "contacto", "ventas", "administracion", "commerciale", "vendite", "segreteria",
    "biuro", "sprzedaz", "handlowy", "verkoop", "administratie", "contato", "vendas", "comercial",
    "atendimento", "eigyo", "soumu", "sales-jp", "xiaoshou", "kefu", "yeongeop", "service",
    "reception", "secretariat", "hr", "jobs", "billing", "accounts", "purchasing", "procurement",
}  # fmt: skip
LEGAL_SUFFIX = re.compile(
    r"\b(gmbh & co\.? ?kg|gmbh|ag|kg|se|sa|sas|sarl|s\.?a\.?s?|bv|b\.v\.|nv|n\.v\.|ltd\.?|limited|"
    r"plc|llc|l\.l\.c\.|inc\.?|incorporated|corp\.?|corporation|co\.?,? ltd\.?|co|k\.k\.|kk|"
    r"pte\.? ltd\.?|pty\.? ltd\.?|pvt\.? ltd\.?|ltda\.?|s\.?p\.?a\.?|s\.?r\.?l\.?|sp\. z o\.o\.|"
    r"s\.l\.|lda\.?|oy|ab|as|a/s|spa|srl|sl|lda)\s*$"
)
NO_COMPANY = {"", "n a", "na", "private", "not provided", "self employed", "freelancer", "none"}
SALUTATION_SEX = {
    "mr": "m", "herr": "m", "m": "m", "sr": "m", "sig": "m", "dhr": "m", "pan": "m",
    "ms": "f", "mrs": "f", "miss": "f", "frau": "f", "mme": "f", "sra": "f", "sig ra": "f",
    "mevr": "f", "pani": "f",
}  # fmt: skip


def salutation_sex(salutation: str | None) -> str | None:
    return SALUTATION_SEX.get(re.sub(r"[^a-z]+", " ", fold(salutation)).strip())


def fold(text: str | None) -> str:
    if not text:
        return ""
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c)).lower().replace("ß", "ss")


def name_norm(text: str | None) -> str | None:
    value = re.sub(r"[^\w\s-]|[\d_]", " ", fold(text))
    value = re.sub(r"\s+", " ", value).strip(" -")
    return value or None


def company_norm(text: str | None) -> str | None:
    value = fold(text).strip()
    for _ in range(2):
        value = LEGAL_SUFFIX.sub("", value).strip(" ,.-")
    value = re.sub(r"[^\w]+", " ", value).strip()
    return None if value in NO_COMPANY else value


@cache
def e164(raw: str, region: str | None) -> str | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        number = phonenumbers.parse(raw, region or None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def email_parts(raw: str | None) -> tuple[str | None, str | None, str | None, str | None]:
    email = (raw or "").strip().lower()
    if "@" not in email:
        return (email or None), None, None, None
    local, _, domain = email.rpartition("@")
    norm_local, norm_domain = local, "gmail.com" if domain == "googlemail.com" else domain
    if norm_domain == "gmail.com":
        norm_local = norm_local.split("+", 1)[0].replace(".", "")
    else:
        norm_local = norm_local.split("+", 1)[0]
    return email, f"{norm_local}@{norm_domain}", local, domain


@lru_cache(maxsize=1)
def country_lookup() -> dict[str, str]:
    # Test convenience: the sandbox's own spelling table (the dbt model has its own seed).
    path = Path(__file__).resolve().parents[2] / "aeglobal_pipeline/sandbox/data/countries.csv"
    lookup = {}
    with path.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            for spelling in [row["code"], row["english"], row["local"], *row["spellings"].split("|")]:
                lookup[spelling.strip().lower()] = row["code"]
    return lookup


def _read(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with duckdb.connect() as con:
        rel = con.read_csv(str(path), header=True, all_varchar=True)
        return rel.to_arrow_table().to_pylist()


def _bool(value: str | None) -> bool:
    return (value or "").strip().lower() == "true"


def build_rows(snapshot: Path) -> list[dict]:
    sources = yaml.safe_load((snapshot / "sources.yaml").read_text())["sources"]
    countries = country_lookup()
    rows: list[dict] = []
    for source in sources:
        name = source["name"]
        brand = (source.get("brands") or [None])[0]
        if source["kind"] == "salesforce":
            accounts = {a["Id"]: a["Name"] for a in _read(snapshot / name / "Account.csv")}
            objects = ("Lead", "Contact")
        else:
            accounts, objects = {}, ("Prospect",)
        for obj in objects:
            for r in _read(snapshot / name / f"{obj}.csv"):
                rows.append(_row(source, name, brand, obj, r, accounts, countries))
    return rows


def _row(source, name, brand, obj, r, accounts, countries) -> dict:
    g = r.get
    if obj == "Prospect":
        record_id, first, last = g("id"), g("firstName"), g("lastName")
        salutation = g("salutation")
        email_raw, phone_raw, mobile_raw = g("email"), g("phone"), None
        company, account = g("company"), g("salesforceAccountId")
        street, city, postal, state, birth = None, g("city"), None, None, None
        country_raw, created, modified = g("country"), g("createdAt"), g("updatedAt")
        email_opt, phone_opt, deleted = _bool(g("optedOut")), False, _bool(g("isDeleted"))
        crm = source.get("connected_crm")
        lead_key = f"{crm}:Lead:{g('salesforceLeadId')}" if crm and g("salesforceLeadId") else None
        contact_key = (
            f"{crm}:Contact:{g('salesforceContactId')}" if crm and g("salesforceContactId") else None
        )
        converted, status, written = None, g("grade"), None
    else:
        contact = obj == "Contact"
        record_id, first, last = g("Id"), g("FirstName"), g("LastName")
        salutation = g("Salutation")
        email_raw, phone_raw, mobile_raw = g("Email"), g("Phone"), g("MobilePhone")
        account = g("AccountId")
        company = accounts.get(account) if contact else g("Company")
        pre = "Mailing" if contact else ""
        street, city = g(pre + "Street"), g(pre + "City")
        postal, state = g(pre + "PostalCode"), g(pre + "State")
        birth = g("Birthdate") if contact else None
        country_raw = g(pre + "Country")
        created, modified = g("CreatedDate"), g("LastModifiedDate")
        email_opt, phone_opt, deleted = (
            _bool(g("HasOptedOutOfEmail")),
            _bool(g("DoNotCall")),
            _bool(g("IsDeleted")),
        )
        converted = f"{name}:Contact:{g('ConvertedContactId')}" if g("ConvertedContactId") else None
        lead_key = contact_key = None
        status, written = (None if contact else g("Status")), g("Global_Person_Id__c") or None
    country = countries.get((country_raw or "").strip().lower())
    email, email_norm, local, domain = email_parts(email_raw)
    return {
        "record_key": f"{name}:{obj}:{record_id}",
        "source": name,
        "object": obj,
        "record_id": record_id,
        "legal_entity": source["legal_entity"],
        "region": source["region"],
        "brand": brand,
        "salutation": salutation or None,
        "salutation_sex": salutation_sex(salutation),
        "given_name": first,
        "family_name": last,
        "given_name_norm": name_norm(first),
        "family_name_norm": name_norm(last),
        "email": email,
        "email_norm": email_norm,
        "email_local": local,
        "email_domain": domain,
        "is_free_mail": domain in FREE_MAIL if domain else False,
        "is_role_mailbox": local in ROLE_LOCAL_PARTS if local else False,
        "phone_e164": e164(phone_raw or "", country),
        "mobile_e164": e164(mobile_raw or "", country),
        "company": company,
        "company_norm": company_norm(company),
        "account_record_key": f"{name}:Account:{account}" if account and obj != "Prospect" else None,
        "street": street,
        "city": city,
        "postal_code": postal,
        "state": state,
        "birthdate": birth or None,
        "country_code": country,
        "status": status,
        "email_opt_out": email_opt,
        "phone_opt_out": phone_opt,
        "converted_contact_key": converted,
        "crm_lead_key": lead_key,
        "crm_contact_key": contact_key,
        "written_global_person_id": written,
        "created_at": created,
        "last_modified_at": modified,
        "is_deleted": deleted,
    }


def build_int_person_records(snapshot: Path, con: duckdb.DuckDBPyConnection) -> int:
    """Create `intermediate.int_person_records` on `con` from a snapshot directory."""
    con.register("standin_rows", pa.Table.from_pylist(build_rows(Path(snapshot))))
    con.execute("CREATE SCHEMA IF NOT EXISTS intermediate")
    con.execute(
        """
        CREATE OR REPLACE TABLE intermediate.int_person_records AS
        SELECT * REPLACE (
            CAST(birthdate AS DATE) AS birthdate,
            CAST(created_at AS TIMESTAMPTZ) AS created_at,
            CAST(last_modified_at AS TIMESTAMPTZ) AS last_modified_at)
        FROM standin_rows
        """
    )
    con.unregister("standin_rows")
    return con.execute("SELECT count(*) FROM intermediate.int_person_records").fetchall()[0][0]


CONTRACT_COLUMNS = (
    "record_key", "source", "object", "record_id", "legal_entity", "region", "brand", "salutation",
    "salutation_sex", "given_name",
    "family_name", "given_name_norm", "family_name_norm", "email", "email_norm", "email_local",
    "email_domain", "is_free_mail", "is_role_mailbox", "phone_e164", "mobile_e164", "company",
    "company_norm", "account_record_key", "street", "city", "postal_code", "state", "birthdate",
    "country_code", "status", "email_opt_out", "phone_opt_out", "converted_contact_key",
    "crm_lead_key", "crm_contact_key", "written_global_person_id", "created_at",
    "last_modified_at", "is_deleted",
)  # fmt: skip


def hand_record(record_key: str, given: str, family: str, **values) -> dict:
    """One hand-made int_person_records row; unspecified columns are null / false."""
    source, obj, record_id = record_key.split(":")
    email, email_norm, local, domain = email_parts(values.pop("email", None))
    row = dict.fromkeys(CONTRACT_COLUMNS)
    row.update(
        record_key=record_key, source=source, object=obj, record_id=record_id,
        given_name=given, family_name=family, given_name_norm=name_norm(given),
        family_name_norm=name_norm(family), email=email, email_norm=email_norm,
        email_local=local, email_domain=domain, is_free_mail=domain in FREE_MAIL if domain else False,
        is_role_mailbox=local in ROLE_LOCAL_PARTS if local else False, country_code="DE",
        is_deleted=False, email_opt_out=False, phone_opt_out=False,
        created_at="2024-01-01T00:00:00+00:00", last_modified_at="2024-01-01T00:00:00+00:00",
    )  # fmt: skip
    if "company" in values:
        values.setdefault("company_norm", company_norm(values["company"]))
    if "salutation" in values:
        values.setdefault("salutation_sex", salutation_sex(values["salutation"]))
    row.update(values)
    return row


def put_records(con: duckdb.DuckDBPyConnection, rows: list[dict]) -> None:
    """Insert or replace rows (by record_key) in intermediate.int_person_records."""
    con.register("put_rows", pa.Table.from_pylist(rows))
    con.execute(
        "DELETE FROM intermediate.int_person_records WHERE record_key IN (SELECT record_key FROM put_rows)"
    )
    columns = ", ".join(CONTRACT_COLUMNS)
    con.execute(
        f"INSERT INTO intermediate.int_person_records ({columns}) "  # noqa: S608 - constant names
        f"SELECT {columns} FROM put_rows"
    )
    con.unregister("put_rows")


def delete_records(con: duckdb.DuckDBPyConnection, keys: list[str]) -> None:
    con.execute("DELETE FROM intermediate.int_person_records WHERE list_contains(?, record_key)", [keys])
