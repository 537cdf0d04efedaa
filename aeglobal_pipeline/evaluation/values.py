"""Comparable forms of person-field values, for scoring planned changes against the truth.

Two values are "the same value" when their forms here are equal: case, accents, spacing and
punctuation do not count for names, companies and addresses; an e-mail is its mailbox (gmail
dots and `+tags` reach the same inbox); a phone is its E.164 number plus its extension. These
forms belong to the evaluation: they are deliberately independent of the pipeline's own
normalisation, so a bug there cannot hide itself.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import cache, lru_cache

import phonenumbers

_FOLD = str.maketrans({"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "đ": "d", "ß": "ss", "æ": "ae", "œ": "oe"})
_STREET_WORDS = (
    (re.compile(r"stra(ss|ß)e\b"), "str"), (re.compile(r"\bstreet\b"), "st"),
    (re.compile(r"\broad\b"), "rd"), (re.compile(r"\bavenue\b"), "ave"),
)  # fmt: skip
GMAIL = {"gmail.com", "googlemail.com"}


@lru_cache(maxsize=1 << 16)
def fold(text: str) -> str:
    """Lower-case, accents off, punctuation to spaces, whitespace collapsed."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD).casefold())
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^\w]+", " ", letters).split())


def email_form(value: str) -> str:
    local, _, domain = value.strip().lower().partition("@")
    local = local.split("+", 1)[0]
    if domain in GMAIL:
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}"


def phone_form(value: str, regions: Iterable[str] = ()) -> str:
    """E.164 (`;ext=N` when there is an extension) under the first region that parses it into a
    valid number; `?`-prefixed digits when nothing does (kept comparable, never true)."""
    text = value.strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    candidates = [None] if text.startswith("+") else [*dict.fromkeys(regions)]
    first = ""
    for region in candidates:
        try:
            number = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            continue
        form = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        form += f";ext={number.extension}" if number.extension else ""
        if phonenumbers.is_valid_number(number):
            return form
        first = first or form
    return first or "?" + re.sub(r"\D", "", text)


def street_form(value: str) -> str:
    text = fold(value)
    for pattern, short in _STREET_WORDS:
        text = pattern.sub(short, text)
    return text


@cache
def _country_codes() -> dict[str, str]:
    from aeglobal_pipeline.sandbox.world import countries  # the spellings users type

    codes: dict[str, str] = {}
    for code, country in countries().items():
        for spelling in (code, country.english, country.local, *country.spellings):
            codes[fold(spelling)] = code
    return codes


def country_form(value: str) -> str:
    folded = fold(value)
    return _country_codes().get(folded, folded)


def value_form(field: str, value: str, regions: Iterable[str] = ()) -> str:
    """The comparable form of `value` in truth field `field`."""
    if field == "email":
        return email_form(value)
    if field == "phone":
        return phone_form(value, regions)
    if field == "street":
        return street_form(value)
    if field == "postal_code":
        return re.sub(r"[\s-]+", "", value).upper()
    if field == "country_code":
        return country_form(value)
    if field == "birthdate":
        return value.strip()[:10]
    return fold(value)
