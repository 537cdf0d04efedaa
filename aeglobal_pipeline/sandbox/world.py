"""Countries, cities, companies, phone numbers and addresses for the demo-data generator.

Companies are not stored: company number k of country C is rebuilt from (seed, C, k) whenever it
is needed (with a bounded cache), so a million-person run keeps no per-company objects alive.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from random import Random

import phonenumbers

from aeglobal_pipeline.sandbox.names import Weighted, language_of, read_table, slug, weighted_spec


@dataclass(frozen=True, slots=True)
class City:
    name: str
    state: str
    postal_prefix: str
    area_code: str


@dataclass(frozen=True, slots=True)
class Country:
    code: str
    org: str
    weight: float
    locales: Weighted
    english: str
    local: str
    spellings: tuple[str, ...]
    calling_code: str
    trunk: str
    mobile_prefixes: tuple[str, ...]
    postal_format: str
    tld: str
    free_mail: Weighted
    cities: Weighted
    language: str  # for company words, role mailboxes and streets
    legal: Weighted  # (canonical suffix, variants)

    def spelling(self, rng: Random) -> str:
        """How a user typed the country: mostly code or English name, sometimes local or odd."""
        draw = rng.random()
        if draw < 0.4:
            return self.code
        if draw < 0.75:
            return self.english
        if draw < 0.9:
            return self.local
        return rng.choice(self.spellings)


@lru_cache(maxsize=1)
def countries() -> dict[str, Country]:
    cities: dict[str, tuple[list, list]] = {}
    for row in read_table("cities.csv"):
        items, weights = cities.setdefault(row["country"], ([], []))
        items.append(City(row["city"], row["state"], row["postal_prefix"], row["area_code"]))
        weights.append(row["weight"])
    legal: dict[str, tuple[list, list]] = {}
    for row in read_table("legal_suffixes.csv"):
        items, weights = legal.setdefault(row["country"], ([], []))
        items.append((row["suffix"], tuple(row["variants"].split("|"))))
        weights.append(row["weight"])
    result = {}
    for row in read_table("countries.csv"):
        locales = weighted_spec(row["locales"])
        result[row["code"]] = Country(
            code=row["code"],
            org=row["org"],
            weight=float(row["weight"]),
            locales=locales,
            english=row["english"],
            local=row["local"],
            spellings=tuple(row["spellings"].split("|")),
            calling_code=row["calling_code"],
            trunk=row["trunk"],
            mobile_prefixes=tuple(p for p in row["mobile_prefixes"].split("|") if p),
            postal_format=row["postal_format"],
            tld=row["tld"],
            free_mail=weighted_spec(row["free_mail"]),
            cities=Weighted(*cities[row["code"]]),
            language=language_of(locales.items[0]),
            legal=Weighted(*legal[row["code"]]),
        )
    return result


def stable_seed(*parts: object) -> int:
    """A seed derived from values, identical across processes (unlike hash())."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def base36(number: int) -> str:
    alphabet, out = "0123456789abcdefghijklmnopqrstuvwxyz", ""
    while True:
        number, rest = divmod(number, 36)
        out = alphabet[rest] + out
        if not number:
            return out


def digits(rng: Random, count: int) -> str:
    return str(rng.randrange(10**count)).zfill(count)


@dataclass(frozen=True, slots=True)
class Phone:
    """A number as country + area/mobile prefix + subscriber; formatted at write time."""

    country: str
    area: str
    subscriber: str

    def e164(self) -> str:
        """The number as the generator means it (the truth), before any user typed it."""
        return f"+{countries()[self.country].calling_code}{self.area}{self.subscriber}"

    def format(self, rng: Random, written_in: str | None = None) -> str:
        """The number as a user typed it into a record of country `written_in` (ISO code).

        A number from another country is typed in its national form only where that form does
        not read as a valid number of the record's country: there every reader (and libphonenumber,
        given the record's country) dials the local number, so the record would say a different
        number than the truth claims. Those are typed with their country code instead (same draw:
        the seed's other values do not move)."""
        text = self._typed(rng)
        if written_in and written_in != self.country and _reads_as_local(text, written_in):
            c = countries()[self.country]
            return f"+{c.calling_code} {self.area} {self.subscriber}"
        return text

    def _typed(self, rng: Random) -> str:
        c = countries()[self.country]
        area, sub = self.area, self.subscriber
        draw = rng.random()
        if c.calling_code == "1":
            if draw < 0.45:
                return f"({area}) {sub[:3]}-{sub[3:]}"
            if draw < 0.65:
                return f"{area}-{sub[:3]}-{sub[3:]}"
            if draw < 0.8:
                return f"+1 {area} {sub[:3]} {sub[3:]}"
            if draw < 0.9:
                return f"{area}.{sub[:3]}.{sub[3:]}"
            return f"+1{area}{sub}"
        if draw < 0.4:
            return f"{c.trunk}{area} {sub}"  # national
        if draw < 0.7:
            return f"+{c.calling_code} {area} {sub}"
        if draw < 0.82:
            return f"+{c.calling_code}{area}{sub}"  # E.164
        if draw < 0.92 and c.trunk:
            return f"+{c.calling_code} ({c.trunk}){area} {sub}"
        return f"00{c.calling_code} {area} {sub}"


def _reads_as_local(text: str, region: str) -> bool:
    """Whether `text` (no country code) is a valid number of `region` for libphonenumber."""
    if text.lstrip().startswith(("+", "00")):
        return False
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(text, region))
    except phonenumbers.NumberParseException:
        return False


@lru_cache(maxsize=4096)
def number_shape(country_code: str, area: str, usual_length: int) -> tuple[int, str]:
    """(subscriber length, allowed first digits) that make numbers under `area` valid for
    libphonenumber, the length nearest the usual one: real numbers are valid, and a pipeline that
    refuses invalid numbers must not refuse the generator's. Probed once per area, with its own
    seeded Random, so the result does not depend on the order areas are first used."""
    country = countries()[country_code]
    probe = Random(stable_seed("number-shape", country_code, area))
    best = (usual_length, "")
    for length in sorted(range(4, 11), key=lambda n: (abs(n - usual_length), n)):
        firsts = "".join(
            first
            for first in "0123456789"
            if all(
                phonenumbers.is_valid_number(
                    phonenumbers.parse(f"+{country.calling_code}{area}{first}{digits(probe, length - 1)}")
                )
                for _ in range(3)
            )
        )
        if len(firsts) > len(best[1]):
            best = (length, firsts)
    return best if best[1] else (usual_length, "0123456789")


@lru_cache(maxsize=65536)
def _leading_digits_valid(country_code: str, area: str, leading: str, length: int) -> bool:
    """Whether numbers under `area` starting with `leading` are valid (numbering plans also
    reserve ranges by the second digit, e.g. Australian mobiles 047x)."""
    country = countries()[country_code]
    probe = Random(stable_seed("leading-digits", country_code, area, leading, length))
    rest = length - len(leading)
    return all(
        phonenumbers.is_valid_number(
            phonenumbers.parse(f"+{country.calling_code}{area}{leading}{digits(probe, rest)}")
        )
        for _ in range(2)
    )


def _subscriber(rng: Random, country: Country, area: str, usual_length: int) -> str:
    length, firsts = number_shape(country.code, area, usual_length)
    for _ in range(8):
        number = rng.choice(firsts) + digits(rng, length - 1)
        if _leading_digits_valid(country.code, area, number[:2], length):
            break
    return number


def landline(rng: Random, country: Country, city: City) -> Phone:
    length = 7 if country.calling_code == "1" else min(8, max(5, 9 - len(city.area_code)))
    return Phone(country.code, city.area_code, _subscriber(rng, country, city.area_code, length))


def mobile(rng: Random, country: Country) -> Phone:
    if not country.mobile_prefixes:  # NANP: mobiles look like landlines
        city = country.cities.pick(rng)
        return landline(rng, country, city)
    prefix = rng.choice(country.mobile_prefixes)
    return Phone(country.code, prefix, _subscriber(rng, country, prefix, max(6, 9 - len(prefix) + 1)))


def postal_code(rng: Random, country: Country, city: City) -> str:
    fmt = country.postal_format
    prefix = city.postal_prefix
    out = []
    for i, symbol in enumerate(fmt):
        if i < len(prefix) and symbol in "#@" and prefix[i] != " ":
            out.append(prefix[i])
        elif symbol == "#":
            out.append(str(rng.randrange(10)))
        elif symbol == "@":
            out.append(chr(65 + rng.randrange(26)))
        else:
            out.append(symbol)
    return "".join(out)


_STREET_SUFFIX = {"de": ("straße", "weg", "gasse", "platz"), "en": ("Street", "Road", "Avenue", "Lane")}


def street(rng: Random, language: str, word: str) -> str:
    n = rng.randint(1, 180)
    if language == "de":
        return f"{word}{rng.choice(_STREET_SUFFIX['de'])} {n}"
    if language == "en":
        return f"{n} {word} {rng.choice(_STREET_SUFFIX['en'])}"
    templates = {
        "fr": f"{n} rue {word}",
        "es": f"Calle {word} {n}",
        "it": f"Via {word} {n}",
        "pl": f"ul. {word} {n}",
        "nl": f"{word} {n}",
        "pt": f"Rua {word}, {n}",
        "ja": f"{word} {rng.randint(1, 5)}-{rng.randint(1, 20)}-{rng.randint(1, 30)}",
        "zh": f"{n} {word}",
        "ko": f"{n} {word}",
        "in": f"{n}, {word}",
    }
    return templates.get(language, f"{word} {n}")


def street_variant(rng: Random, text: str) -> str:
    """Hauptstraße 5 / Hauptstr. 5 / Hauptstrasse 5; 12 Main Street / 12 Main St."""
    if rng.random() < 0.6:
        return text
    for long, short in (("straße", "str."), ("Street", "St"), ("Road", "Rd"), ("Avenue", "Ave")):
        if long in text:
            return text.replace(long, short if rng.random() < 0.7 else long.replace("ß", "ss"))
    return text


EMAIL_PATTERNS = ("first.last", "first.last", "first.last", "flast", "first", "firstlast", "f.last")


@dataclass(frozen=True, slots=True)
class Company:
    key: int  # global company number, stable for (seed, country, index)
    index: int  # rank within its country: low = large employer
    country: str
    core: str  # name without legal suffix
    legal: str
    legal_variants: tuple[str, ...]
    domain: str
    industry: str
    city: City
    street: str
    postal: str
    switchboard: Phone
    role_local: str  # info@, kontakt@, sprzedaz@ ...
    email_pattern: str

    @property
    def name(self) -> str:
        return join_suffix(self.core, self.legal)

    def name_variant(self, rng: Random) -> str:
        """How a user typed the company: suffix variants, case, the odd typo."""
        draw = rng.random()
        core = self.core
        if draw < 0.05:
            core = core.upper()
        elif draw < 0.08:
            core = core.lower()
        suffix = self.legal if rng.random() < 0.55 else rng.choice(self.legal_variants)
        return join_suffix(core, suffix)


def join_suffix(core: str, suffix: str) -> str:
    if not suffix:
        return core
    return core + suffix if suffix.startswith(",") else f"{core} {suffix}"


class CompanyPool:
    """Per-country pools of companies; popular companies employ many of the persons."""

    def __init__(self, seed: int, persons: int, words: dict) -> None:
        self.seed = seed
        self.words = words
        table = countries()
        total = sum(c.weight for c in table.values())
        self.sizes: dict[str, int] = {}
        self.offsets: dict[str, int] = {}
        offset = 0
        for code, country in table.items():
            # About six persons per company on average, at least a handful of companies.
            size = max(12, int(persons * country.weight / total / 6))
            self.sizes[code], self.offsets[code] = size, offset
            offset += size
        self.total = offset
        self._build = lru_cache(maxsize=65536)(self._company)

    def pick(self, rng: Random, country: str) -> Company:
        # u² skews towards low indexes: a few large employers, a long tail of small firms.
        index = int(self.sizes[country] * rng.random() ** 2)
        return self._build(country, index)

    def _company(self, code: str, index: int) -> Company:
        rng = Random(stable_seed(self.seed, "company", code, index))
        country = countries()[code]
        language = country.language
        stems = self.words[(language, "company_stem")]
        sectors = self.words[(language, "company_sector")]
        stem = rng.choice(stems)[0]
        sector, industry = rng.choice(sectors)
        draw = rng.random()
        family = self.words.get((language, "family_stem"))
        if draw < 0.35:
            core = f"{stem} {sector}"
        elif draw < 0.55 and family:
            core = f"{rng.choice(family)[0]}{rng.choice(self.words[(language, 'family_suffix')])[0]}"
            core += f" {sector}" if rng.random() < 0.6 else ""
        elif draw < 0.75:
            core = stem + rng.choice(stems)[0].lower()
        else:
            core = f"{stem}{rng.choice(('tec', 'net', 'ware', 'max', 'plan', 'soft', 'form'))}"
        legal, variants = country.legal.pick(rng)
        # Core names repeat across small firms, domains must not: the big employers (low
        # index) get the plain name, the long tail a short deterministic token.
        base = slug(core)[:24] or "company"
        if index >= 60:
            base = f"{base}-{base36(index)}"
        domain = f"{base}.{'com' if rng.random() < 0.3 else country.tld}"
        city = country.cities.pick(rng)
        street_word = rng.choice(self.words[(language, "street")])[0]
        roles = ROLE_MAILBOXES.get(language) or ROLE_MAILBOXES["en"]
        return Company(
            key=self.offsets[code] + index,
            index=index,
            country=code,
            core=core,
            legal=legal,
            legal_variants=variants,
            domain=domain,
            industry=industry,
            city=city,
            street=street(rng, language, street_word),
            postal=postal_code(rng, country, city),
            switchboard=landline(rng, country, city),
            role_local=rng.choice(roles),
            email_pattern=rng.choice(EMAIL_PATTERNS),
        )


def _role_mailboxes() -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for row in read_table("role_mailboxes.csv"):
        result.setdefault(row["language"], []).append(row["local_part"])
    return result


ROLE_MAILBOXES = _role_mailboxes()
