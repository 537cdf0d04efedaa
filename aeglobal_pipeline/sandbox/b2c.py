"""`aeglobal sandbox generate --profile b2c`: consumers as Contacts, the way B2C orgs hold them.

A consumer business knows a person by name, postal address and birthdate; e-mails and phones
are few (or, with `contact_points="none"`, absent). Persons live in households: partners and
children at one address, mostly sharing the family name; now and then twins (same family,
birthdate and address, different given names) or a son named after his father (`Jr.`). Names
carry the B2B mode's noise (`people.render_name`: nicknames, transliterations, typos, swapped
order, initials) plus what consumer sign-up forms add: a missing given name, two typos; a
birthdate left empty, day and month swapped, or a placeholder (`noise.birthdate_as_keyed`).
People move: a later record may carry a new address. Namesakes are never copied: every name is
drawn from the frequency tables, so common names collide often and rare ones almost never.

Writes the same snapshot contract and truth files as the B2B generator (Account, Contact and Lead
files per org; the Lead files carry only their header) and, as hard negatives, the pairs of
different persons that look alike: household members, twins, fathers and sons, namesakes.
"""

from __future__ import annotations

import csv
import time
from dataclasses import dataclass, replace
from pathlib import Path
from random import Random

from aeglobal_pipeline.config import SourcesFile, write_sources
from aeglobal_pipeline.sandbox.names import NameBank, PersonName, Weighted, slug, typo
from aeglobal_pipeline.sandbox.noise import birthdate_as_keyed
from aeglobal_pipeline.sandbox.people import render_name
from aeglobal_pipeline.sandbox.records import (
    CRM_ORGS,
    EARLIEST,
    SNAPSHOT_AT,
    SOURCES,
    IdSequence,
    boolean,
    header,
    lifecycle_times,
    salesforce_id,
    sf_timestamp,
)
from aeglobal_pipeline.sandbox.world import City, Country, countries, mobile, postal_code, street_variant
from aeglobal_pipeline.sandbox.world import street as make_street

PROFILES = ("b2b", "b2c")
CONTACT_POINTS = ("few", "none")
SUFFIXES = {"son": ("Jr.", "Jr", "II"), "father": ("Sr.", "Sr")}
_TRUTH = ["source", "object", "record_id", "person_id"]
_NEGATIVES = ["record_key_a", "record_key_b", "reason"]


@dataclass(slots=True)
class Consumer:
    person_id: str
    country: Country
    name: PersonName
    birthdate: str
    home: tuple[str, City, str]  # street, city, postal code
    email: str = ""
    mobile: object = None
    suffix: str = ""  # generational suffix some records show ("Jr.")
    moved_to: tuple[str, City, str] | None = None


def b2c_sources(orgs: int) -> SourcesFile:
    """The first `orgs` Salesforce orgs of the B2B estate, without Account Engagement."""
    crm = [s for s in SOURCES.sources if s.kind == "salesforce"][:orgs]
    return SourcesFile(sources=crm)


class B2CGenerator:
    def __init__(self, persons: int, seed: int, out: Path, *, orgs: int = 2,
                 contact_points: str = "few") -> None:
        if not 1 <= orgs <= len(CRM_ORGS):
            raise ValueError(f"orgs must be between 1 and {len(CRM_ORGS)}")
        if contact_points not in CONTACT_POINTS:
            raise ValueError(f"contact_points must be one of {CONTACT_POINTS}")
        self.persons, self.out, self.contact_points = persons, Path(out), contact_points
        self.rng = Random(seed)
        self.names = NameBank()
        self.sources = b2c_sources(orgs)
        self.orgs = [s.name for s in self.sources.sources]
        table = [c for c in countries().values() if c.org in self.orgs]
        self.country_pick = Weighted(table, [c.weight for c in table])
        id_rng = Random(seed ^ 0x5EED)
        self.ids = {(org, obj): IdSequence(id_rng, 400_000_000 + 90_000_000 * i)
                    for i, org in enumerate(CRM_ORGS) for obj in ("Account", "Contact")}
        self.accounts: dict[str, str] = {}
        self.first_with_name: dict[tuple[str, str], str] = {}
        self.counts: dict[str, dict[str, int]] = {}
        self.hard_negatives = 0

    # persons -------------------------------------------------------------------------------
    def _home(self, country: Country) -> tuple[str, City, str]:
        rng = self.rng
        city = country.cities.pick(rng)
        word = rng.choice(self.names.words[(country.language, "street")])[0]
        return make_street(rng, country.language, word), city, postal_code(rng, country, city)

    def _birthdate(self, year: int) -> str:
        return f"{year}-{self.rng.randint(1, 12):02d}-{self.rng.randint(1, 28):02d}"

    def _consumer(self, index: int, country: Country, name: PersonName, year: int,
                  home: tuple[str, City, str]) -> Consumer:
        rng = self.rng
        person = Consumer(f"P{index:08d}", country, name, self._birthdate(year), home)
        if self.contact_points == "few":
            if rng.random() < 0.15:
                person.email = f"{slug(name.given)}.{slug(name.family)}{rng.randint(1, 99)}@example.com"
            if rng.random() < 0.15:
                person.mobile = mobile(rng, country)
        if rng.random() < 0.08:
            person.moved_to = self._home(country)
        return person

    def household(self, index: int) -> list[tuple[Consumer, str | None, str]]:
        """A person and the relatives living with them: (person, related key slot, reason)."""
        rng = self.rng
        country = self.country_pick.pick(rng)
        locale = country.locales.pick(rng)
        home = self._home(country)
        year = 1940 + int(rng.random() * 60)
        head = self._consumer(index, country, self.names.person(rng, locale), year, home)
        members = [(head, None, "")]
        if rng.random() < 0.3:
            partner_name = self.names.person(rng, locale, "f" if head.name.gender == "m" else "m")
            if rng.random() < 0.7:  # relatives sharing a family name
                partner_name = replace(partner_name, family=head.name.family, family2=head.name.family2)
            year_p = year + rng.randint(-5, 5)
            partner = self._consumer(0, country, partner_name, year_p, home)
            members.append((partner, "head", "household_member"))
            if rng.random() < 0.5:
                child_year = min(2006, year + rng.randint(20, 35))
                if head.name.gender == "m" and rng.random() < 0.12:  # named after his father
                    child = self._consumer(0, country, head.name, child_year, home)
                    child.suffix = rng.choice(SUFFIXES["son"])
                    head.suffix = rng.choice(SUFFIXES["father"]) if rng.random() < 0.3 else ""
                    members.append((child, "head", "father_son_same_name"))
                else:
                    child_name = replace(self.names.person(rng, locale), family=head.name.family,
                                         family2=head.name.family2)
                    child = self._consumer(0, country, child_name, child_year, home)
                    members.append((child, "head", "household_member"))
                    if rng.random() < 0.06:
                        twin_name = replace(self.names.person(rng, locale), family=head.name.family,
                                            family2=head.name.family2)
                        twin = self._consumer(0, country, twin_name, child_year, home)
                        twin.birthdate = child.birthdate
                        members.append((twin, "previous", "twins"))
        return members

    # records -------------------------------------------------------------------------------
    def records_of(self, person: Consumer) -> list[str]:
        """The orgs holding a record of `person`: home org, then duplicates."""
        rng = self.rng
        home_org = person.country.org
        orgs = [home_org]
        if rng.random() < 0.3:
            orgs.append(home_org)  # signed up twice (shop, newsletter, service desk)
        if len(self.orgs) > 1 and rng.random() < 0.2:
            orgs.append(rng.choice([o for o in self.orgs if o != home_org]))
        if rng.random() < 0.05:
            orgs.append(rng.choice(self.orgs))
        return orgs

    def name_as_typed(self, person: Consumer) -> tuple[str, str]:
        rng = self.rng
        first, last = render_name(rng, person, self.names, native_ok=False)
        draw = rng.random()
        if draw < 0.03:
            first = ""  # the form's given-name field left empty
        elif draw < 0.05:
            first, last = typo(rng, first), typo(rng, last)
        if person.suffix and rng.random() < 0.6:
            last = f"{last} {person.suffix}"
        return first, last

    def birthdate_as_typed(self, person: Consumer, record_id: str, created: int) -> str:
        rng = self.rng
        if rng.random() < 0.08:
            return ""
        year, month, day = person.birthdate.split("-")
        if rng.random() < 0.02 and int(day) <= 12:
            return f"{year}-{day}-{month}"  # day and month swapped
        return birthdate_as_keyed(record_id, person.birthdate, created)

    def contact_row(self, org: str, person: Consumer, moved: bool) -> list[str]:
        rng = self.rng
        record_id = salesforce_id(org, "Contact", self.ids[(org, "Contact")].take())
        first, last = self.name_as_typed(person)
        street, city, postal = person.moved_to if moved and person.moved_to else person.home
        street = "" if rng.random() < 0.04 else street_variant(rng, street)
        postal = "" if rng.random() < 0.04 else postal
        created = EARLIEST + int(rng.random() * (SNAPSHOT_AT - EARLIEST - 90 * 86400))
        created, modified, stamp = lifecycle_times(rng, created)
        email = person.email if person.email and rng.random() < 0.6 else ""
        phone = person.mobile.format(rng, person.country.code) if person.mobile and rng.random() < 0.6 else ""
        values = [
            record_id, self.account(org, person), first, last, email, "", phone, "",
            street, city.name, postal, city.state if rng.random() < 0.7 else "",
            person.country.spelling(rng), self.birthdate_as_typed(person, record_id, created), "Web",
            boolean(rng.random() < 0.1), boolean(rng.random() < 0.05), "", "",
            sf_timestamp(created), sf_timestamp(modified), sf_timestamp(stamp), "false",
        ]  # fmt: skip
        return values + [""] * (len(header(org, "Contact")) - len(values))

    def account(self, org: str, person: Consumer) -> str:
        if org not in self.accounts:
            account = salesforce_id(org, "Account", self.ids[(org, "Account")].take())
            created, modified, stamp = lifecycle_times(self.rng, EARLIEST)
            self.write(org, "Account", [account, "Individual Customers", "", "Consumer",
                                        person.country.code, "", sf_timestamp(created),
                                        sf_timestamp(modified), sf_timestamp(stamp), "false"], None)
            self.accounts[org] = account
        return self.accounts[org]

    # output --------------------------------------------------------------------------------
    def write(self, org: str, obj: str, values: list[str], person_id: str | None) -> None:
        self.writers[(org, obj)].writerow(values)
        self.counts[org][obj] += 1
        if person_id is not None:
            self.writers["truth"].writerow((org, obj, values[0], person_id))

    def negative(self, key_a: str, key_b: str, reason: str) -> None:
        self.writers["negatives"].writerow((key_a, key_b, reason))
        self.hard_negatives += 1

    def run(self, truth: Path, negatives: Path) -> None:
        handles = []

        def open_csv(key, path: Path, columns: list[str]) -> None:
            handle = path.open("w", encoding="utf-8", newline="", buffering=1 << 20)
            handles.append(handle)
            self.writers[key] = csv.writer(handle, lineterminator="\n")
            self.writers[key].writerow(columns)

        self.writers: dict = {}
        try:
            for org in self.orgs:
                (self.out / org).mkdir(parents=True, exist_ok=True)
                self.counts[org] = {}
                for obj in ("Account", "Contact", "Lead"):
                    open_csv((org, obj), self.out / org / f"{obj}.csv", header(org, obj))
                    self.counts[org][obj] = 0
            open_csv("truth", truth, _TRUTH)
            open_csv("negatives", negatives, _NEGATIVES)
            self._persons()
        finally:
            for handle in handles:
                handle.close()

    def _persons(self) -> None:
        index = 0
        while index < self.persons:
            members = self.household(index)[: self.persons - index]
            first_keys: list[str] = []
            for person, related, reason in members:
                person.person_id = f"P{index:08d}"
                index += 1
                keys = []
                for position, org in enumerate(self.records_of(person)):
                    values = self.contact_row(org, person, moved=position > 0 and self.rng.random() < 0.5)
                    self.write(org, "Contact", values, person.person_id)
                    keys.append(f"{org}:Contact:{values[0]}")
                if related == "head":
                    self.negative(first_keys[0], keys[0], reason)
                elif related == "previous":
                    self.negative(first_keys[-1], keys[0], reason)
                first_keys.append(keys[0])
                if reason != "father_son_same_name":  # already a hard negative of its own kind
                    self._namesake(person, keys[0])

    def _namesake(self, person: Consumer, key: str) -> None:
        """Different persons whose names the frequency tables made equal."""
        name = (person.name.given, person.name.family)
        first = self.first_with_name.setdefault(name, key)
        if first != key:
            self.negative(first, key, "namesake_by_frequency")


def generate_b2c_snapshot(persons: int, seed: int, out: Path, *, orgs: int = 2,
                          contact_points: str = "few"):
    """Write a B2C snapshot; returns the B2B generator's SnapshotSummary shape."""
    from aeglobal_pipeline.sandbox.generate import SnapshotSummary, truth_paths

    started = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    generator = B2CGenerator(persons, seed, out, orgs=orgs, contact_points=contact_points)
    write_sources(generator.sources, out / "sources.yaml")
    truth, negatives = truth_paths(out)
    generator.run(truth, negatives)
    return SnapshotSummary(out=out, persons=persons, seed=seed, counts=generator.counts,
                           truth_path=truth, hard_negatives_path=negatives,
                           hard_negatives=generator.hard_negatives,
                           seconds=time.perf_counter() - started)
