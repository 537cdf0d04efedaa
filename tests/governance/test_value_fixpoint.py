"""Point 6 of issue 14: whatever the write-back writes, re-extracted and re-normalised, plans
nothing next run. Checked on the normalisers themselves (the phone parser of the dbt Python model
int_phone_numbers, and the e-mail macros of dbt_project/macros/normalize.sql rendered and run in
DuckDB) over messy real-world formats: national, international, `00`-prefixed, `+44 (0)…`, extensions
(`ext.`, `x`, `;ext=`), vanity letters; mixed-case and padded e-mails."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import duckdb
import jinja2
import phonenumbers
from hypothesis import given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
REGIONS = ["DE", "AT", "FR", "GB", "US", "CA", "JP", "AU", "PL", "IN"]


def _phone_model():
    path = ROOT / "dbt_project/models/intermediate/int_phone_numbers.py"
    spec = importlib.util.spec_from_file_location("int_phone_numbers", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


parse_phone = _phone_model().parse_phone
# phone keypad letters
LETTERS = {"2": "ABC", "3": "DEF", "4": "GHI", "5": "JKL", "6": "MNO", "7": "PQRS", "8": "TUV", "9": "WXYZ"}


@st.composite
def messy_phone(draw):
    """(raw text, the record's country, the true number, the true extension)."""
    home = draw(st.sampled_from(REGIONS))
    types = [phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE]
    kind = draw(st.sampled_from(types))
    number = phonenumbers.example_number_for_type(home, kind) or phonenumbers.example_number(home)
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    international = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    style = draw(st.sampled_from(["national", "international", "00", "e164", "trunk", "vanity"]))
    if style == "national":
        text, record_country = national, home
    elif style == "international":
        text, record_country = international, draw(st.sampled_from([*REGIONS, None]))
    elif style == "00":
        text, record_country = "00" + international[1:], draw(st.sampled_from([*REGIONS, None]))
    elif style == "trunk" and phonenumbers.PhoneMetadata.metadata_for_region(home).national_prefix == "0":
        # the national trunk prefix kept in brackets after the country code: "+44 (0)20 7946 0958"
        significant = phonenumbers.national_significant_number(number)
        text = f"+{number.country_code} (0){significant}"
        record_country = draw(st.sampled_from([*REGIONS, None]))
    elif style in ("e164", "trunk"):
        text = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        record_country = draw(st.sampled_from([*REGIONS, None]))
    else:  # a North American vanity number: the last seven digits as keypad letters
        word = draw(st.sampled_from(["FLOWERS", "CONTACT", "GOLFING", "NOWHERE", "PARKING"]))
        digits = "".join(next(d for d, letters in LETTERS.items() if c in letters) for c in word)
        number = phonenumbers.parse("+1 800 " + digits)
        text = draw(st.sampled_from(["1-800-", "(800) ", "+1 800 "])) + word
        record_country = draw(st.sampled_from(["US", "CA"]))
    extension = draw(st.one_of(st.none(), st.text(alphabet="0123456789", min_size=1, max_size=5)))
    if extension:
        marker = draw(st.sampled_from([" ext. ", " ext ", " x", " x ", ";ext=", " #"]))
        text += marker + extension
    padding = draw(st.sampled_from(["", " ", "  ", "\t"]))
    return padding + text + padding, record_country, number, extension


@settings(max_examples=400, deadline=None)
@given(messy_phone())
def test_a_written_phone_plans_nothing_next_run(case):
    raw, record_country, number, extension = case
    e164, valid, parsed_extension, write_form = parse_phone(raw, record_country)
    if not valid:
        assert write_form is None  # an invalid number is never written
        return
    assert e164 == phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    assert parsed_extension == extension  # kept apart, never glued into the number
    # Re-extracted from any org (any record country), the written value is the same number,
    # extension and write form: the next run sees no difference and plans nothing.
    for region in [*REGIONS, None]:
        assert parse_phone(write_form, region) == (e164, True, extension, write_form)


def test_the_record_country_is_the_default_region_only_when_it_yields_a_valid_number():
    # A German national number in a US record: +1 089… is no number, so it is invalid, never written.
    assert parse_phone("089 769 3440", "US")[1:] == (False, None, None)
    assert parse_phone("089 769 3440", "DE")[::3] == ("+49897693440", "+49897693440")
    # The number's own prefix wins over the record's country.
    assert parse_phone("0049 89 7693440", "US")[0] == "+49897693440"
    # `00` + country code is that country's number, even where the region reads `00xx` as a
    # carrier-select prefix (Brazil: "0055 51 9…" would be +51 9…, a Peruvian mobile).
    assert parse_phone("0055 519 64265374", "BR")[:2] == ("+5551964265374", True)
    assert parse_phone("+1-415-256-2970;ext=7872", "DE")[2:] == ("7872", "+14152562970 ext. 7872")
    assert parse_phone("12345", "DE")[1] is False


# --- e-mail: the macros of dbt_project/macros/normalize.sql, rendered as dbt would -------------

def _email_sql(column: str) -> tuple[str, str]:
    # SQL text, not HTML: nothing to escape (S701)
    environment = jinja2.Environment(extensions=["jinja2.ext.do"], autoescape=False)  # noqa: S701
    source = (ROOT / "dbt_project/macros/normalize.sql").read_text(encoding="utf-8")
    module = environment.from_string(source).module
    return str(module.email_clean(column)), str(module.email_match_form(column))


CLEAN, MATCH = _email_sql("e")
local_part = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-",
                     min_size=1, max_size=20)
domain = st.sampled_from(["gmail.com", "GMail.com", "northwind.de", "Example-Corp.co.uk", "x.io",
                          "NORTHWIND.DE"])


@settings(max_examples=300, deadline=None)
@given(local_part, domain, st.sampled_from(["", " ", "  ", "\t"]), st.sampled_from(["", " ", "\n", "\t "]))
def test_a_written_email_plans_nothing_next_run(local, host, left, right):
    raw = f"{left}{local}@{host}{right}"
    with duckdb.connect() as con:
        clean = con.execute(f"select {CLEAN} from (select ? as e)", [raw]).fetchone()[0]  # noqa: S608
        # every address drawn here is valid: padding (a tab too) and case never lose it
        assert clean == f"{local}@{host}".lower()
        again, form = con.execute(
            f"select {CLEAN}, {MATCH} from (select ? as e)", [clean]).fetchone()  # noqa: S608
        raw_form = con.execute(f"select {MATCH} from (select {CLEAN} as e from (select ? as e))",  # noqa: S608
                               [raw]).fetchone()[0]
    assert again == clean  # the written (clean) address re-normalises to itself
    assert form == raw_form  # and compares equal to the value it came from: nothing to plan
