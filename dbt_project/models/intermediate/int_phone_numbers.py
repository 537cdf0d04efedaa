"""Every distinct (raw phone, country) pair of the person records, parsed to E.164.

Phone numbers are the one normalisation SQL is the wrong tool for: national formats, trunk
prefixes and extensions need libphonenumber. The record's country is the default region, so a
national number like "030 1234567" from a German record becomes +49301234567.

Incremental: a (raw, country) pair parses the same way every time, so each run parses only the
pairs the table has not seen yet (on an incremental run with 1% of records changed, a few
thousand instead of every phone number). The table is a cache that only grows; after upgrading
phonenumbers, rebuild it with `aeglobal run --full-refresh`.
"""

import phonenumbers
import pyarrow as pa


def to_e164(raw, region):
    if raw is None:
        return None
    try:
        number = phonenumbers.parse(raw, region or None)
    except phonenumbers.NumberParseException:
        return None
    # Keep numbers of the wrong length for their plan too (typos, extensions run together): the
    # canonical form still lets two copies of the same mistyped number agree.
    if len(str(number.national_number)) < 6:
        return None
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    # Parsing an E.164 string can strip a trunk prefix an earlier parse kept ("+61 0614…" on a
    # wrong-length number): normalise to a fixpoint, so a value we write back normalises to itself.
    for _ in range(5):
        again = phonenumbers.format_number(phonenumbers.parse(e164), phonenumbers.PhoneNumberFormat.E164)
        if again == e164:
            break
        e164 = again
    if len(e164) < 8:
        return None
    return e164


def model(dbt, session):
    dbt.config(materialized="incremental")
    records = dbt.ref("int_person_records__unioned")
    distinct_pairs = (
        "select distinct raw, country_code from ("
        " select phone_raw as raw, country_code from records where phone_raw is not null"
        " union all"
        " select mobile_raw, country_code from records where mobile_raw is not null) as p"
    )
    if dbt.is_incremental:
        # dbt.this is the model's own relation name, not data.
        distinct_pairs += (
            f" where not exists (select 1 from {dbt.this} as known where known.phone_raw = p.raw"
            " and known.country_code is not distinct from p.country_code)"
        )
    pairs = session.sql(distinct_pairs).fetchall()
    raws, regions, parsed = [], [], []
    for raw, region in pairs:
        raws.append(raw)
        regions.append(region)
        parsed.append(to_e164(raw, region))
    return pa.table(
        {
            "phone_raw": pa.array(raws, pa.string()),
            "country_code": pa.array(regions, pa.string()),
            "phone_e164": pa.array(parsed, pa.string()),
        }
    )
