"""How real CRM users mistype people, companies and contact points (beyond people.render_*).

Rates are per record and documented beside each constant; they follow what data-quality audits
of B2B CRMs commonly report (a few percent of names mistyped, a few per mille of e-mail domains
misspelled, placeholders where a form field was mandatory). Everything here draws from the
generator's one `Random`, so a seed still gives byte-identical files.
"""

from __future__ import annotations

from datetime import UTC, datetime
from random import Random

from aeglobal_pipeline.sandbox.names import Weighted
from aeglobal_pipeline.sandbox.people import Job, Person
from aeglobal_pipeline.sandbox.world import stable_seed

# Share of persons reached through an extension of their employer's switchboard.
EXTENSION_SHARE = 0.35
# How an extension is written after the number (Salesforce keeps Phone as free text).
EXTENSION_STYLES = (" ext. {}", " x{}", ";ext={}", " ext {}", " x {}", " Ext.{}")


def extension(person: Person, job: Job) -> str:
    """The person's extension on the job's switchboard ('' if none); stable per person and job."""
    if job.company is None:
        return ""
    draw = Random(stable_seed("extension", person.person_id, job.company.key))
    if draw.random() >= EXTENSION_SHARE:
        return ""
    return str(draw.randrange(10, 10_000))


def with_extension(rng: Random, number: str, ext: str) -> str:
    return number + rng.choice(EXTENSION_STYLES).format(ext) if ext else number


# -- names -------------------------------------------------------------------------------------
# Per record, on top of people.render_name (nicknames, folding, 3% + 3% typos, 2% initials, 2%
# upper-case family, 1% lower-case, 1% swapped given/family):
FULL_NAME_IN_LAST = 0.008  # single "Name" web-form field mapped to LastName, FirstName empty
FULL_NAME_REPEATED = 0.004  # FirstName kept, LastName holds the full name
ALL_CAPS = 0.008  # both fields in capitals (imported from a badge scanner or legacy system)
PLACEHOLDER_LAST = 0.006  # LastName is mandatory on Lead and Contact: users type anything
PLACEHOLDER_FIRST = 0.006
NAME_PLACEHOLDERS = ("Unknown", "n/a", "[not provided]", "-", ".", "Private", "x")


def name_noise(rng: Random, first: str, last: str) -> tuple[str, str]:
    draw = rng.random()
    if draw < FULL_NAME_IN_LAST:
        return "", f"{first} {last}"
    draw -= FULL_NAME_IN_LAST
    if draw < FULL_NAME_REPEATED:
        return first, f"{first} {last}"
    draw -= FULL_NAME_REPEATED
    if draw < ALL_CAPS:
        return first.upper(), last.upper()
    draw -= ALL_CAPS
    if draw < PLACEHOLDER_LAST:
        return first, rng.choice(NAME_PLACEHOLDERS)
    draw -= PLACEHOLDER_LAST
    if draw < PLACEHOLDER_FIRST:
        return rng.choice(NAME_PLACEHOLDERS), last
    return first, last


# -- e-mail ------------------------------------------------------------------------------------
# Misspelled free-mail providers that mail servers accept as typed (typo-squatters or bounces):
# the provider's label (gmail.com, hotmail.co.uk) or a `.com` that lost a letter.
PROVIDER_TYPOS = {
    "gmail": ("gnail", "gmial", "gmal", "gamil", "gmaill"),
    "hotmail": ("hotmial", "hotmal", "hotamil", "hotmai"),
    "yahoo": ("yahooo", "yaho", "yhoo"),
    "outlook": ("outlok", "outllook", "outloo"),
    "icloud": ("iclod", "icoud"),
    "aol": ("aoll",),
}
TLD_TYPOS = {"com": ("co", "con", "cm")}
DOMAIN_TYPO = 0.012  # of typed free-mail addresses
MIXED_CASE_DOMAIN = 0.015  # John.Smith@Gmail.com
PADDED = 0.006  # leading space or tab (people.render_email adds trailing spaces)


def email_noise(rng: Random, address: str) -> str:
    if not address:
        return address
    local, _, domain = address.partition("@")
    draw = rng.random()
    provider, _, rest = domain.partition(".")
    typos = PROVIDER_TYPOS.get(provider.lower())
    if typos and draw < DOMAIN_TYPO:
        if rest in TLD_TYPOS and rng.random() < 0.3:
            domain = f"{provider}.{rng.choice(TLD_TYPOS[rest])}"
        else:
            domain = f"{rng.choice(typos)}.{rest}"
    elif draw < DOMAIN_TYPO + MIXED_CASE_DOMAIN:
        domain = ".".join(part.capitalize() for part in domain.split("."))
    elif draw < DOMAIN_TYPO + MIXED_CASE_DOMAIN + PADDED:
        local = rng.choice((" ", "\t", "  ")) + local
    return f"{local}@{domain}"


# -- company and address -----------------------------------------------------------------------
COMPANY_PLACEHOLDERS = ("Unknown", "n/a", "[not provided]", "-", "none", "Private", "N/A")
COMPANY_PLACEHOLDER = 0.012  # mandatory Lead.Company filled with anything
ADDRESS_PLACEHOLDERS = ("Unknown", "n/a", "-", "[not provided]", "none")
STREET_PLACEHOLDER = 0.008
CITY_PLACEHOLDER = 0.003


def company_noise(rng: Random, company: str) -> str:
    return rng.choice(COMPANY_PLACEHOLDERS) if rng.random() < COMPANY_PLACEHOLDER else company


def address_noise(rng: Random, street: str, city: str) -> tuple[str, str]:
    draw = rng.random()
    if draw < STREET_PLACEHOLDER:
        return rng.choice(ADDRESS_PLACEHOLDERS), city
    if draw < STREET_PLACEHOLDER + CITY_PLACEHOLDER:
        return street, rng.choice(ADDRESS_PLACEHOLDERS)
    return street, city


# -- phones ------------------------------------------------------------------------------------
EXTENSION_WRITTEN = 0.7  # of records showing the switchboard of a person with an extension
FOREIGN_MOBILE = 0.03  # of persons with a mobile: an expat's number from another country


def foreign_mobile(rng: Random, person: Person):
    """Sometimes an expat's mobile from a country of another CRM org, else the person's own."""
    from aeglobal_pipeline.sandbox.world import countries, mobile

    if person.mobile is None or rng.random() >= FOREIGN_MOBILE:
        return person.mobile
    abroad = [c for c in countries().values() if c.org != person.country.org]
    return mobile(rng, rng.choice(abroad))


# -- birthdates --------------------------------------------------------------------------------
# Of the records that carry a Birthdate: where it was unknown, a legacy import or a mandatory
# date picker left a default instead (1900-01-01 most often, the Unix epoch, other "earliest
# date" defaults, or the day the record was keyed in). Drawn from the record's own stream
# (stable_seed), so the rest of a snapshot stays what the seed gave before this was added.
PLACEHOLDER_BIRTHDATE_SHARE = 0.04
PLACEHOLDER_BIRTHDATES = Weighted(["1900-01-01", "1970-01-01", "1901-01-01", "1899-12-31", "created"],
                                  [50, 20, 8, 7, 15])


def birthdate_as_keyed(record_id: str, birthdate: str, created: int) -> str:
    """The Birthdate a record holds: the person's `birthdate` (ISO; '' if not kept), or now and
    then a placeholder; `created` is the record's creation time (epoch seconds)."""
    draw = Random(stable_seed("placeholder birthdate", record_id))
    if not birthdate or draw.random() >= PLACEHOLDER_BIRTHDATE_SHARE:
        return birthdate
    value = PLACEHOLDER_BIRTHDATES.pick(draw)
    return datetime.fromtimestamp(created, UTC).date().isoformat() if value == "created" else value
