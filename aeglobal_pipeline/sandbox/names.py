"""Frequency-weighted names for the demo-data generator, and the ways people misspell them.

Name lists live in `sandbox/data/*.csv` (see `data/build_name_data.py` for their provenance:
hand-written heads from public name statistics plus the MIT-licensed Faker lists). Beyond those
lists, each locale gets a synthetic long tail of family names (stem + suffix, e.g. Stein+hofer)
because real surname distributions have a tail of rare names that no short list captures; without
it, blocking on names would look far harder at a million persons than it really is.
"""

from __future__ import annotations

import csv
import unicodedata
from bisect import bisect
from dataclasses import dataclass
from functools import cache
from itertools import accumulate
from pathlib import Path
from random import Random

DATA = Path(__file__).parent / "data"

# Share of family names drawn from the synthetic tail rather than the lists, per locale.
SYNTHETIC_FAMILY_SHARE = {
    "de": 0.5, "en_gb": 0.4, "en_us": 0.35, "fr": 0.5, "es": 0.3, "it": 0.4, "pl": 0.25,
    "nl": 0.4, "pt": 0.15, "in": 0.35, "ja": 0.45, "zh": 0.0, "ko": 0.0,
}  # fmt: skip
# Locales whose names are written family-first at home (and often swapped in Western CRMs).
FAMILY_FIRST = {"ja", "zh", "ko"}
# Spanish and Portuguese speakers usually carry two family names.
DOUBLE_SURNAME = {"es": 0.7, "pt": 0.5}


def language_of(locale: str) -> str:
    return "en" if locale.startswith("en") else locale


@cache
def read_table(name: str) -> tuple[dict[str, str], ...]:
    with (DATA / name).open(encoding="utf-8", newline="") as handle:
        return tuple(csv.DictReader(handle))


class Weighted:
    """Draw items with given weights; one `random()` and a bisect per draw (fast at 1M rows)."""

    __slots__ = ("cumulative", "items", "total")

    def __init__(self, items, weights) -> None:
        self.items = list(items)
        self.cumulative = list(accumulate(float(w) for w in weights))
        if not self.items or self.cumulative[-1] <= 0:
            raise ValueError("Weighted needs at least one item with positive weight")
        self.total = self.cumulative[-1]

    def pick(self, rng: Random):
        index = bisect(self.cumulative, rng.random() * self.total)
        return self.items[min(index, len(self.items) - 1)]


def weighted_spec(spec: str) -> Weighted:
    """Parse "a:3 b:1" into a Weighted."""
    pairs = [part.rsplit(":", 1) for part in spec.split()]
    return Weighted([p[0] for p in pairs], [float(p[1]) for p in pairs])


@dataclass(frozen=True, slots=True)
class PersonName:
    locale: str
    gender: str
    given: str
    family: str
    family2: str = ""  # second family name (es/pt)
    given_native: str = ""  # kanji / hanzi / hangul where known
    family_native: str = ""
    given_kana: str = ""
    family_kana: str = ""
    given_spaced: str = ""  # "Xiao Ming" for the joined "Xiaoming"


class NameBank:
    """All name samplers, built once per process from the CSV tables."""

    def __init__(self) -> None:
        given: dict[tuple[str, str], tuple[list, list]] = {}
        for row in read_table("given_names.csv"):
            items, weights = given.setdefault((row["locale"], row["gender"]), ([], []))
            items.append((row["name"], row["native"], row["kana"]))
            weights.append(row["weight"])
        self.given = {key: Weighted(*value) for key, value in given.items()}
        family: dict[str, tuple[list, list]] = {}
        for row in read_table("family_names.csv"):
            items, weights = family.setdefault(row["locale"], ([], []))
            items.append((row["name"], row["native"], row["kana"]))
            weights.append(row["weight"])
        self.family = {key: Weighted(*value) for key, value in family.items()}
        # (locale, family name) -> its native script, for the names the lists hold.
        self.family_native = {
            (locale, item[0]): item[1] for locale, (items, _) in family.items() for item in items
        }
        words: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for row in read_table("words.csv"):
            words.setdefault((row["language"], row["kind"]), []).append((row["word"], row["extra"]))
        self.words = words
        self.nicknames: dict[str, list[str]] = {}
        for row in read_table("nicknames.csv"):
            self.nicknames.setdefault(row["name"], []).append(row["variant"])

    def _synthetic_family(self, rng: Random, locale: str) -> tuple[str, str, str]:
        language = language_of(locale)
        stem, stem_kana = rng.choice(self.words[(language, "family_stem")])
        suffix, suffix_kana = rng.choice(self.words[(language, "family_suffix")])
        name = stem + suffix
        if language == "nl" and rng.random() < 0.35:
            name = rng.choice(self.words[("nl", "family_prefix")])[0] + " " + stem + "s"
        return name, "", stem_kana + suffix_kana

    def _family(self, rng: Random, locale: str) -> tuple[str, str, str]:
        if rng.random() < SYNTHETIC_FAMILY_SHARE[locale]:
            return self._synthetic_family(rng, locale)
        return self.family[locale].pick(rng)

    def _given(self, rng: Random, locale: str, gender: str) -> tuple[str, str, str]:
        if locale == "zh":
            # One or two characters; pinyin written joined ("Xiaoming"), spaced form in kana slot.
            chars = [self.given[("zh_char", gender)].pick(rng)]
            if rng.random() < 0.7:
                chars.append(self.given[("zh_char", gender)].pick(rng))
            pinyin = chars[0][0] + "".join(c[0].lower() for c in chars[1:])
            return pinyin, "".join(c[1] for c in chars), " ".join(c[0] for c in chars)
        if locale == "ja" and rng.random() < 0.4:
            stem = rng.choice(self.words_ja(gender + "_stem"))
            suffix = rng.choice(self.words_ja(gender + "_suffix"))
            return stem[0] + suffix[0], "", stem[2] + suffix[2]
        return self.given[(locale, gender)].pick(rng)

    def words_ja(self, kind: str) -> list:
        return self.given[("ja_part", kind)].items

    def person(self, rng: Random, locale: str, gender: str | None = None) -> PersonName:
        gender = gender or ("f" if rng.random() < 0.47 else "m")
        given, given_native, given_kana = self._given(rng, locale, gender)
        family, family_native, family_kana = self._family(rng, locale)
        family2 = ""
        if rng.random() < DOUBLE_SURNAME.get(locale, 0.0):
            family2 = self._family(rng, locale)[0]
        if locale == "pl" and gender == "f":
            family = feminine_polish(family)
        spaced = ""
        if locale == "zh":
            given_kana, spaced = "", given_kana
        return PersonName(
            locale, gender, given, family, family2, given_native, family_native, given_kana,
            family_kana, spaced,
        )  # fmt: skip

    def nickname(self, rng: Random, given: str) -> str | None:
        variants = self.nicknames.get(given)
        return rng.choice(variants) if variants else None


def feminine_polish(family: str) -> str:
    for masculine, feminine in (("ski", "ska"), ("cki", "cka"), ("dzki", "dzka")):
        if family.endswith(masculine):
            return family[: -len(masculine)] + feminine
    return family


def masculine_polish(family: str) -> str:
    for masculine, feminine in (("ski", "ska"), ("cki", "cka"), ("dzki", "dzka")):
        if family.endswith(feminine):
            return family[: -len(feminine)] + masculine
    return family


_FOLD = str.maketrans({"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "đ": "d", "ß": "ss", "æ": "ae"})
_GERMAN = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"})


@cache
def ascii_fold(text: str) -> str:
    """Łukasz → Lukasz, Zoë → Zoe, Müller → Muller (what a US keyboard or an old system does)."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@cache
def transliterate(text: str) -> str:
    """Müller → Mueller, Weiß → Weiss (German convention), then fold what is left."""
    return ascii_fold(text.translate(_GERMAN))


_KEYBOARD_NEIGHBOURS = {
    "a": "sq", "e": "wr", "i": "uo", "o": "ip", "u": "yi", "n": "bm", "m": "n", "r": "et",
    "t": "ry", "s": "ad", "l": "k", "k": "jl", "h": "gj", "c": "xv", "d": "sf",
}  # fmt: skip


def typo(rng: Random, text: str) -> str:
    """One realistic keying error: drop, double, swap neighbours, or hit a neighbouring key."""
    if len(text) < 3:
        return text
    i = rng.randrange(1, len(text) - 1)
    kind = rng.random()
    if kind < 0.3:
        return text[:i] + text[i + 1 :]
    if kind < 0.5:
        return text[:i] + text[i] + text[i:]
    if kind < 0.8:
        return text[: i - 1] + text[i] + text[i - 1] + text[i + 1 :]
    neighbours = _KEYBOARD_NEIGHBOURS.get(text[i].lower())
    return text[:i] + rng.choice(neighbours) + text[i + 1 :] if neighbours else text


def slug(text: str) -> str:
    """Lower-case ASCII letters and digits only: for e-mail local parts and domains."""
    return "".join(c for c in ascii_fold(text).lower() if c.isalnum())
