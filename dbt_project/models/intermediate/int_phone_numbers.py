"""Every distinct (raw phone, country) pair of the person records, parsed with libphonenumber.

Phone numbers are the one normalisation SQL is the wrong tool for: national formats, trunk
prefixes, `00` international prefixes, vanity letters and extensions (`ext.`, `x`, `;ext=`) need
libphonenumber. Per pair:
- phone_e164: the canonical number, the matching form (identity compares it). A number written
  with `00` + country code is read as such first; otherwise the record's country is the default
  region only when it yields a valid number; otherwise the number's own prefix (`+…` or `00…`)
  when that is valid; otherwise the best-effort parse in the record's region, kept so two copies
  of one mistyped number still agree.
- is_valid: phonenumbers' `is_valid_number` on that number. The write-back never writes an
  invalid number (governance hygiene).
- extension: kept apart from the number, never glued into it.
- write_form: what the write-back writes, valid numbers only: E.164 plus ` ext. N`. It parses
  back to the same number and extension in any region (a fixpoint: tests/governance/test_value_fixpoint.py).

Incremental: a (raw, country) pair parses the same way every time, so each run parses only the
pairs the table has not seen yet (on an incremental run with 1% of records changed, a few
thousand instead of every phone number). The table is a cache that only grows; after upgrading
phonenumbers, rebuild it with `aeglobal run --full-refresh`.
"""

import phonenumbers
import pyarrow as pa

E164 = phonenumbers.PhoneNumberFormat.E164


def _parse(raw, region):
    try:
        return phonenumbers.parse(raw, region or None)
    except phonenumbers.NumberParseException:
        return None


def _canonical(number):
    """E.164 of a parsed number, normalised to a fixpoint (None when too short to be a number)."""
    if number is None or len(str(number.national_number)) < 6:
        return None
    e164 = phonenumbers.format_number(number, E164)
    # Parsing an E.164 string can strip a trunk prefix an earlier parse kept ("+61 0614…" on a
    # wrong-length number): normalise to a fixpoint, so a value we write back normalises to itself.
    for _ in range(5):
        again = phonenumbers.format_number(phonenumbers.parse(e164), E164)
        if again == e164:
            break
        e164 = again
    return e164 if len(e164) >= 8 else None


def parse_phone(raw, region):
    """(phone_e164, is_valid, extension, write_form) of one raw phone in a record of `region`."""
    if raw is None or not raw.strip():
        return None, False, None, None
    text = raw.strip()
    attempts = [_parse(text, region)] if region else []
    if text.startswith("+"):
        attempts.append(_parse(text, None))
    elif text.startswith("00"):
        # `00` + country code is how people write their number abroad; read in the record's
        # region first, Brazil's carrier-select prefixes turn "0055 51 9…" into +51 9… (Peru).
        attempts.insert(0, _parse("+" + text[2:], None))
    for number in attempts:
        if number is not None and phonenumbers.is_valid_number(number):
            e164 = phonenumbers.format_number(number, E164)
            extension = number.extension or None
            write_form = e164 + (f" ext. {extension}" if extension else "")
            return e164, True, extension, write_form
    fallback = next((n for n in attempts if n is not None), None)
    if fallback is None:
        fallback = _parse(text, region)
    extension = fallback.extension if fallback is not None and fallback.extension else None
    return _canonical(fallback), False, extension, None


def to_e164(raw, region):
    """The matching form alone (kept for callers that need only that)."""
    return parse_phone(raw, region)[0]


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
    columns = {"phone_raw": [], "country_code": [], "phone_e164": [], "is_valid": [], "extension": [],
               "write_form": []}
    for raw, region in pairs:
        e164, valid, extension, write_form = parse_phone(raw, region)
        for name, value in zip(columns, (raw, region, e164, valid, extension, write_form), strict=True):
            columns[name].append(value)
    types = {"is_valid": pa.bool_()}
    return pa.table({name: pa.array(values, types.get(name, pa.string())) for name, values in columns.items()})
