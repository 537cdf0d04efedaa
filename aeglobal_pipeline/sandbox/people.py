"""One synthetic human and the many ways CRM users have typed them.

A `Person` is the ground truth; `render_*` functions produce what one record of that person
looks like: nicknames, transliterations, swapped name order, typos, aliases, phone formats.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from random import Random

from aeglobal_pipeline.sandbox.names import (
    FAMILY_FIRST,
    NameBank,
    PersonName,
    ascii_fold,
    slug,
    transliterate,
    typo,
)
from aeglobal_pipeline.sandbox.world import City, Company, Country, Phone

# Korean family names have several romanisations in the wild.
KOREAN_VARIANTS = {
    "Lee": ("Yi", "Rhee", "Rhie"), "Park": ("Pak", "Bak"), "Choi": ("Choe",),
    "Jung": ("Chung", "Jeong"), "Kang": ("Kahng",), "Cho": ("Jo",), "Yoon": ("Yun",),
    "Lim": ("Im", "Rim"), "Shin": ("Sin",), "Kwon": ("Kwun",), "Oh": ("O",),
    "Yoo": ("Yu", "You"), "Kim": ("Gim",), "Jang": ("Chang",), "Han": ("Hahn",),
}  # fmt: skip


@dataclass(slots=True)
class Job:
    company: Company | None
    title: str
    email: str  # canonical work address ("" without a company)
    direct: Phone | None


@dataclass(slots=True)
class Person:
    person_id: str
    country: Country
    name: PersonName
    jobs: list[Job]
    personal_email: str
    mobile: Phone | None
    home_phone: Phone
    home_street: str
    home_city: City
    home_postal: str
    opted_out: bool
    do_not_call: bool
    birthdate: str
    created: int
    household_email: str = ""
    in_household: bool = False
    linked: list = field(default_factory=list)  # (reason, other record key) hard negatives


def email_local(pattern: str, name: PersonName) -> str:
    # German speakers write ü as ue in addresses; everyone else drops the accent.
    fold = transliterate if name.locale == "de" else ascii_fold
    first, last = slug(fold(name.given)), slug(fold(name.family))
    if pattern == "flast":
        return first[:1] + last
    if pattern == "first":
        return first
    if pattern == "firstlast":
        return first + last
    if pattern == "f.last":
        return f"{first[:1]}.{last}"
    return f"{first}.{last}"


def personal_email(rng: Random, index: int, name: PersonName, domain: str, birth_year: int) -> str:
    if domain in ("qq.com",):
        return f"{rng.randint(10**7, 10**10)}@{domain}"
    pattern = rng.choice(("first.last", "firstlast", "flast", "first_last"))
    local = email_local(pattern, name)
    if pattern == "first_last":
        local = local.replace(".", "_")
    draw = rng.random()
    if draw < 0.45:  # free-mail providers force a suffix on common names
        local += str(index % 100000)
    elif draw < 0.8:
        local += str(birth_year % 100).zfill(2)
    return f"{local}@{domain}"


def render_email(rng: Random, address: str) -> str:
    """Case, gmail dots and +tags, googlemail, a typo, stray whitespace."""
    if not address:
        return address
    local, _, domain = address.partition("@")
    draw = rng.random()
    if domain == "gmail.com" and draw < 0.25:
        if rng.random() < 0.5:
            local = local.replace(".", "") if "." in local else local[:2] + "." + local[2:]
        else:
            local += "+" + rng.choice(("news", "crm", "events", "work", "shop"))
        if rng.random() < 0.2:
            domain = "googlemail.com"
    elif draw < 0.4:
        local = ".".join(part.capitalize() for part in local.split("."))
    elif draw < 0.43:
        address = f"{local}@{domain}".upper()
        return address
    elif draw < 0.45:
        local = typo(rng, local)
    result = f"{local}@{domain}"
    return result + " " if rng.random() < 0.01 else result


def render_name(rng: Random, person: Person, names: NameBank, native_ok: bool) -> tuple[str, str]:
    """(FirstName, LastName) as one CRM user typed them."""
    n = person.name
    given, family = n.given, n.family
    if n.locale in FAMILY_FIRST:
        if native_ok and n.given_native and n.family_native and rng.random() < 0.12:
            return n.given_native, n.family_native
        if n.locale == "ko" and rng.random() < 0.15 and family in KOREAN_VARIANTS:
            family = rng.choice(KOREAN_VARIANTS[family])
        if n.given_spaced and rng.random() < 0.2:
            given = n.given_spaced if rng.random() < 0.6 else n.given_spaced.replace(" ", "-")
        if rng.random() < 0.2:  # family name entered in FirstName, as written at home
            given, family = family, given
        return given, family
    if n.family2:
        draw = rng.random()
        family = f"{family} {n.family2}" if draw < 0.55 else family
        family = f"{n.family} {n.family2}".replace(" ", "-") if draw > 0.9 else family
    draw = rng.random()
    if draw < 0.1:
        given = names.nickname(rng, given) or given
    elif draw < 0.22:
        given, family = ascii_fold(given), ascii_fold(family)
    elif draw < 0.3:
        given, family = transliterate(given), transliterate(family)
    elif draw < 0.33:
        given = typo(rng, given)
    elif draw < 0.36:
        family = typo(rng, family)
    elif draw < 0.38:
        given = given[0] + "."
    elif draw < 0.4:
        family = family.upper()
    elif draw < 0.41:
        given, family = given.lower(), family.lower()
    elif draw < 0.42:
        given, family = family, given
    if "-" in given and rng.random() < 0.2:
        given = given.replace("-", " ")
    return given, family


def local_name(person: Person) -> str:
    """Native-script full name for CJK persons (Local_Name__c)."""
    n = person.name
    if n.locale in FAMILY_FIRST and n.family_native and n.given_native:
        return n.family_native + n.given_native
    return ""


def kana_name(person: Person) -> str:
    n = person.name
    return f"{n.family_kana} {n.given_kana}" if n.family_kana and n.given_kana else ""
