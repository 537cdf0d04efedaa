"""Every phone and e-mail format at once (`aeglobal sandbox generate --formats all`).

Issue 14, point 6: whatever the write-back writes must plan nothing next run, for the formats
real orgs hold. This rewrites a generated snapshot's phones and e-mails in turn through each
format, the same number or address re-typed, so a small snapshot holds all of them in every
object of every source: national, international, E.164, `00`-prefixed, `+44 (0)20…`, North
American vanity letters (`1-800-FLOWERS`, only where the digits give at least three letters),
extensions written ` ext. `, ` x`, `;ext=`; e-mails in upper case, mixed case, with an upper-case
domain, padded with spaces or a tab. The number a phone means and the address an e-mail means
do not change, so the truth files stay right.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from itertools import count
from pathlib import Path

import phonenumbers
from phonenumbers import PhoneNumberFormat

from aeglobal_pipeline.sandbox.world import countries

PHONE_STYLES = ("national", "international", "e164", "00", "trunk_in_brackets", "vanity")
EXTENSION_MARKERS = (" ext. ", " x", ";ext=")
EMAIL_STYLES = ("as_is", "upper", "mixed_case", "upper_domain", "padded", "tab_padded")
# (object, phone columns, e-mail column, country column) of the snapshot contract
COLUMNS = {
    "Lead": (("Phone", "MobilePhone"), "Email", "Country"),
    "Contact": (("Phone", "MobilePhone"), "Email", "MailingCountry"),
    "Prospect": (("phone",), "email", "country"),
}
# a keypad digit → its first letter (2 → A, …, 9 → W); 0 and 1 have none
KEYPAD = dict(zip("23456789", "ADGJMPTW", strict=True))


def _regions() -> dict[str, str]:
    """Every way the generator spells a country → its ISO code."""
    found: dict[str, str] = {}
    for country in countries().values():
        for name in (country.code, country.english, country.local, *country.spellings):
            found[name.strip().lower()] = country.code
    return found


def parse(text: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    """The number `text` means, read with the record's country as default region; None if invalid."""
    text = text.strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, None if text.startswith("+") else region)
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


def render_phone(number: phonenumbers.PhoneNumber, style: str, region: str | None,
                 marker: str) -> tuple[str, str]:
    """(`number` written in `style`, the style used): a style that cannot express it falls back
    to international. National only where the record's country is the number's (elsewhere it
    means another number)."""
    extension = number.extension
    number = phonenumbers.PhoneNumber(country_code=number.country_code,
                                      national_number=number.national_number,
                                      italian_leading_zero=number.italian_leading_zero,
                                      number_of_leading_zeros=number.number_of_leading_zeros)
    international = phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
    own_region = phonenumbers.region_code_for_number(number)
    national_prefix = getattr(phonenumbers.PhoneMetadata.metadata_for_region(own_region or ""),
                              "national_prefix", None)
    significant = phonenumbers.national_significant_number(number)
    word = "".join(KEYPAD.get(d, d) for d in significant[3:])
    text, used = international, "international"
    if style == "national" and region == own_region:
        text, used = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL), style
    elif style == "e164":
        text, used = phonenumbers.format_number(number, PhoneNumberFormat.E164), style
    elif style == "00":
        text, used = "00" + international[1:], style
    elif style == "trunk_in_brackets" and national_prefix == "0":
        text, used = f"+{number.country_code} (0){significant}", style
    elif style == "vanity" and number.country_code == 1 and sum(c.isalpha() for c in word) >= 3:
        text, used = f"1-{significant[:3]}-{word}", style
    if extension:
        text += marker + extension
    return text, used


def render_email(address: str, style: str) -> str:
    local, at, domain = address.strip().partition("@")
    if not at:
        return address
    if style == "upper":
        return f"{local}@{domain}".upper()
    if style == "mixed_case":
        return ".".join(part[:1].upper() + part[1:] for part in local.split(".")) + "@" + domain.title()
    if style == "upper_domain":
        return f"{local}@{domain.upper()}"
    if style == "padded":
        return f"  {local}@{domain} "
    if style == "tab_padded":
        return f"\t{local}@{domain}"
    return f"{local}@{domain}"


def _csv_files(snapshot: Path) -> Iterator[tuple[Path, str]]:
    for path in sorted(snapshot.glob("*/*.csv")):
        if path.stem in COLUMNS:
            yield path, path.stem


def rewrite_all_formats(snapshot: Path) -> dict[str, int]:
    """Rewrite the snapshot's phones and e-mails in place, cycling through every format;
    returns how many values each format got (phone styles, extension markers, e-mail styles)."""
    regions = _regions()
    phone_turn, marker_turn, email_turn = count(), count(), count()
    used: dict[str, int] = {}
    for path, object_name in _csv_files(snapshot):
        phone_columns, email_column, country_column = COLUMNS[object_name]
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            header, rows = list(reader.fieldnames or []), list(reader)
        for row in rows:
            region = regions.get((row.get(country_column) or "").strip().lower())
            for column in phone_columns:
                number = parse(row.get(column) or "", region) if row.get(column) else None
                if number is None:
                    continue  # empty, or not a valid number: left as the generator wrote it
                style = PHONE_STYLES[next(phone_turn) % len(PHONE_STYLES)]
                marker = ""
                if number.extension:
                    marker = EXTENSION_MARKERS[next(marker_turn) % len(EXTENSION_MARKERS)]
                row[column], style = render_phone(number, style, region, marker)
                used[style] = used.get(style, 0) + 1
                if marker:
                    used[marker.strip()] = used.get(marker.strip(), 0) + 1
            if row.get(email_column, "").strip():
                style = EMAIL_STYLES[next(email_turn) % len(EMAIL_STYLES)]
                row[email_column] = render_email(row[email_column], style)
                used[f"email_{style}"] = used.get(f"email_{style}", 0) + 1
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=header, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
    return used

