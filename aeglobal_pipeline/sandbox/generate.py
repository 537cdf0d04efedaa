"""`aeglobal sandbox generate`: a realistic, deterministic multi-org CRM snapshot with ground truth.

Writes `DIR/sources.yaml` and `DIR/<source>/<Object>.csv` (the snapshot contract), and beside
DIR, never inside it, `<DIR>.truth.csv` (source, object, record_id, person_id for every Lead,
Contact and Prospect row, deleted ones included), `<DIR>.hard_negatives.csv` (pairs of
records of different persons that look alike, with the reason) and `<DIR>.truth_attributes.csv`
(every person's true names, e-mails, phones, employers and addresses: sandbox/truth_attributes.py).

Persons are generated one at a time and their rows streamed to the CSV writers; the only state
kept for the whole run is per company (account ids per org, first users of role mailboxes and
switchboards) plus a small window of recent persons for look-alikes, so memory stays bounded
at a million persons. Same seed → byte-identical files.
"""

from __future__ import annotations

import csv
import time
from collections import deque
from dataclasses import dataclass, field, replace
from pathlib import Path
from random import Random

from aeglobal_pipeline.config import write_sources
from aeglobal_pipeline.sandbox.names import (
    NameBank,
    PersonName,
    Weighted,
    feminine_polish,
    masculine_polish,
    read_table,
)
from aeglobal_pipeline.sandbox.people import Job, Person, email_local, personal_email
from aeglobal_pipeline.sandbox.records import (
    AE_FOR_CRM,
    AE_UNITS,
    CRM_ORGS,
    EARLIEST,
    SNAPSHOT_AT,
    SOURCES,
    IdSequence,
    header,
    salesforce_id,
)
from aeglobal_pipeline.sandbox.rows import RowWriter
from aeglobal_pipeline.sandbox.truth_attributes import ATTRIBUTE_FIELDS, attributes_path
from aeglobal_pipeline.sandbox.world import CompanyPool, countries, landline, mobile, postal_code
from aeglobal_pipeline.sandbox.world import street as make_street

TRUTH_FIELDS = ["source", "object", "record_id", "person_id"]
# Share of job changers whose records at the new employer carry their private e-mail address.
PRIVATE_SIGNUP_AFTER_JOB_CHANGE = 0.4
# Share of the persons who can have one (Generator.swappable) given a colleague with their name in
# swapped order. Far above any real rate, as the other hard-negative kinds are: a stress sample.
SWAPPED_COLLEAGUE_SHARE = 0.25
MAX_NAMES_TRACKED = 250_000  # a sample of namesakes beyond, at a million persons
HARD_NEGATIVE_FIELDS = ["record_key_a", "record_key_b", "reason"]


@dataclass
class SnapshotSummary:
    out: Path
    persons: int
    seed: int
    counts: dict[str, dict[str, int]]  # source → object → rows
    truth_path: Path
    hard_negatives_path: Path
    hard_negatives: int
    seconds: float
    records: int = field(init=False)  # person-bearing rows (Lead, Contact, Prospect)

    def __post_init__(self) -> None:
        self.records = sum(
            n for objects in self.counts.values() for obj, n in objects.items() if obj != "Account"
        )


def truth_paths(out: Path) -> tuple[Path, Path]:
    out = Path(out)
    return (
        out.parent / f"{out.name}.truth.csv",
        out.parent / f"{out.name}.hard_negatives.csv",
    )


class Output:
    """All CSV writers of one snapshot; counts rows per source × object."""

    def __init__(self, out: Path) -> None:
        self.handles, self.writers = [], {}
        self.counts: dict[str, dict[str, int]] = {}
        for source in SOURCES.sources:
            (out / source.name).mkdir(parents=True, exist_ok=True)
            for obj in source.objects:
                self._open((source.name, obj), out / source.name / f"{obj}.csv", header(source.name, obj))
                self.counts.setdefault(source.name, {})[obj] = 0
        truth, negatives = truth_paths(out)
        self._open("truth", truth, TRUTH_FIELDS)
        self._open("negatives", negatives, HARD_NEGATIVE_FIELDS)
        self._open("attributes", attributes_path(truth), ATTRIBUTE_FIELDS)
        self.hard_negatives = 0

    def _open(self, key, path: Path, columns: list[str]) -> None:
        handle = path.open("w", encoding="utf-8", newline="", buffering=1 << 20)
        self.handles.append(handle)
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        self.writers[key] = writer

    def row(self, source: str, obj: str, values: list[str], person_id: str | None) -> None:
        self.writers[(source, obj)].writerow(values)
        self.counts[source][obj] += 1
        if person_id is not None:
            self.writers["truth"].writerow((source, obj, values[0], person_id))

    def attributes(self, rows) -> None:
        self.writers["attributes"].writerows(rows)

    def hard_negative(self, key_a: str, key_b: str, reason: str) -> None:
        self.writers["negatives"].writerow((key_a, key_b, reason))
        self.hard_negatives += 1

    def close(self) -> None:
        for handle in self.handles:
            handle.close()


class Generator:
    def __init__(self, persons: int, seed: int, output: Output) -> None:
        self.persons, self.seed, self.output = persons, seed, output
        self.rng = Random(seed)
        self.names = NameBank()
        self.pool = CompanyPool(seed, persons, self.names.words)
        table = countries()
        self.country_pick = Weighted(list(table.values()), [c.weight for c in table.values()])
        titles: dict[str, tuple[list, list]] = {}
        for row in read_table("job_titles.csv"):
            items, weights = titles.setdefault(row["language"], ([], []))
            items.append(row["title"])
            weights.append(row["weight"])
        self.titles = {language: Weighted(*value) for language, value in titles.items()}
        id_rng = Random(seed ^ 0x5EED)
        self.ids = {
            (org, obj): IdSequence(id_rng, 400_000_000 + 90_000_000 * i)
            for i, org in enumerate(CRM_ORGS)
            for obj in ("Account", "Contact", "Lead")
        }
        self.prospect_ids = {bu: IdSequence(id_rng, 10_000_000 * (i + 1)) for i, bu in enumerate(AE_UNITS)}
        self.rows = RowWriter(self)
        self.pending: deque = deque()  # look-alike persons to create next
        self.recent: deque = deque(maxlen=256)  # (person, first record key) of recent persons
        # Namesakes are not copied: the name tables' frequencies make common names collide.
        # (country, given, family) → (first record key, company key), bounded for memory.
        self.first_of_name: dict[tuple[str, str, str], tuple[str, int | None]] = {}

    # ids -----------------------------------------------------------------------------------
    def new_id(self, org: str, obj: str) -> str:
        return salesforce_id(org, obj, self.ids[(org, obj)].take())

    def new_prospect_id(self, bu: str) -> str:
        return str(self.prospect_ids[bu].take())

    # persons -------------------------------------------------------------------------------
    def make_job(self, rng: Random, country, name, company=None) -> Job:
        if company is None and rng.random() < 0.95:
            company = self.pool.pick(rng, country.code)
        titles = self.titles["en"] if rng.random() < 0.7 else self.titles.get(country.language)
        title = (titles or self.titles["en"]).pick(rng)
        if company is None:
            return Job(None, title, "", None)
        email = f"{email_local(company.email_pattern, name)}@{company.domain}"
        if company.index < 200 and rng.random() < 0.25:
            # Big employers disambiguate common names: thomas.mueller2@.
            local, _, domain = email.partition("@")
            email = f"{local}{rng.randint(2, 9)}@{domain}"
        direct = landline(rng, country, company.city) if rng.random() < 0.7 else None
        return Job(company, title, email, direct)

    def make_person(self, index: int, spec: tuple | None) -> Person:
        rng = self.rng
        kind = spec[0] if spec else None
        if kind == "relative":
            base: Person = spec[1]
            country = base.country
            name = self.names.person(rng, base.name.locale)
            family = base.name.family
            if name.locale == "pl":  # Kowalski's wife is Kowalska
                family = masculine_polish(family)
                family = feminine_polish(family) if name.gender == "f" else family
            name = replace(name, family=family, family2=base.name.family2)
        elif kind == "swapped":
            base = spec[1]
            country, name = base.country, spec[3]
        else:
            country = self.country_pick.pick(rng)
            name = self.names.person(rng, country.locales.pick(rng))
        company = spec[1].jobs[0].company if kind == "swapped" else None
        birth_year = 1955 + int(rng.random() * 48)
        private = personal_email(rng, index, name, country.free_mail.pick(rng), birth_year)
        jobs = [self.make_job(rng, country, name, company)]
        if rng.random() < 0.08:  # job change: new company, new e-mail, new phone
            jobs.append(self.make_job(rng, country, name))
            if rng.random() < PRIVATE_SIGNUP_AFTER_JOB_CHANGE:
                # Signed up at the new employer with the private address (a webinar, a download):
                # the only evidence joining the new records to the old ones, where those show it.
                jobs[1] = replace(jobs[1], email=private)
        created = EARLIEST + int(rng.random() * (SNAPSHOT_AT - EARLIEST - 90 * 86400))
        if kind == "relative":
            home = (base.home_phone, base.home_street, base.home_city, base.home_postal)
        else:
            city = country.cities.pick(rng)
            word = rng.choice(self.names.words[(country.language, "street")])[0]
            home = (
                landline(rng, country, city),
                make_street(rng, country.language, word),
                city,
                postal_code(rng, country, city),
            )
        person = Person(
            person_id=f"P{index:08d}",
            country=country,
            name=name,
            jobs=jobs,
            personal_email=private,
            mobile=mobile(rng, country) if rng.random() < 0.75 else None,
            home_phone=home[0],
            home_street=home[1],
            home_city=home[2],
            home_postal=home[3],
            opted_out=rng.random() < 0.12,
            do_not_call=rng.random() < 0.05,
            birthdate=f"{birth_year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            created=created,
        )
        if kind == "relative":
            person.in_household = True
            person.household_email = base.household_email
            person.linked.append(("shared_household_phone", spec[2]))
        elif kind == "swapped":
            person.linked.append(("swapped_name_order_different_person", spec[2]))
        return person

    def schedule_lookalikes(self, person: Person, first_key: str) -> None:
        rng, name = self.rng, person.name
        if rng.random() < (0.3 if person.in_household else 0.025):  # households of 2–4
            if not person.in_household and rng.random() < 0.3:
                person.household_email = person.personal_email
            self.pending.append(("relative", person, first_key))
        if self.swappable(person) and rng.random() < SWAPPED_COLLEAGUE_SHARE:
            self.pending.append(("swapped", person, first_key, self.swapped_name(name)))
        self.recent.append((person, first_key))

    def swappable(self, person: Person) -> bool:
        """Can a colleague bear this person's name in swapped order ("Zhang Wei" / "Wei Zhang")?
        Only where the given name is itself a family name of the locale: a colleague whose
        family name is "Yuhao" or "Junho" exists nowhere. Not for a look-alike itself (its own
        swap would be the first person's name again: a namesake, not a swap)."""
        name = person.name
        return (
            name.locale == "zh"
            and not person.linked
            and name.given != name.family  # "Li Li" swapped is "Li Li": a namesake
            and person.jobs[0].company is not None
            and (name.locale, name.given) in self.names.family_native
        )

    def swapped_name(self, name: PersonName) -> PersonName:
        """The colleague's name: the tokens swapped, in native script too (魏 for the family
        name Wei, not the first person's 伟), no spaced form of a one-syllable given name."""
        family_native = self.names.family_native[(name.locale, name.given)]
        return replace(
            name, given=name.family, family=name.given, given_spaced="",
            given_native=name.family_native if family_native else "",
            family_native=family_native,
        )  # fmt: skip

    # records -------------------------------------------------------------------------------
    def plan(self, person: Person) -> list[tuple[str, str, int]]:
        """(source, object, job index) for each record of the person, in write order."""
        r = self.rng.random
        org = person.country.org
        primary = "Contact" if r() < 0.5 else "Lead"
        plans = [(org, primary, 0)]
        if primary == "Contact" and r() < 0.35:
            plans.append((org, "ConvertedLead", 0))
        if r() < 0.10:
            plans.append((org, "Lead", 0))  # within-org duplicate
        if r() < 0.12:
            other = self.rng.choice([o for o in CRM_ORGS if o != org])
            plans.append((other, "Lead" if r() < 0.7 else "Contact", 0))
        bu = AE_FOR_CRM.get(org)
        if bu and r() < 0.55:
            plans.append((bu, "Prospect", 0))
        elif not bu and r() < 0.10:
            plans.append((self.rng.choice(AE_UNITS), "Prospect", 0))
        if bu and r() < 0.06:
            plans.append((next(b for b in AE_UNITS if b != bu), "Prospect", 0))
        if len(person.jobs) > 1:
            plans.append((org, "Lead", 1) if r() < 0.7 else (bu or AE_UNITS[0], "Prospect", 1))
        return plans

    def run(self) -> None:
        for index in range(self.persons):
            spec = self.pending.popleft() if self.pending else None
            person = self.make_person(index, spec)
            keys = self.rows.write_person(person, self.plan(person))
            for reason, other in person.linked:
                self.output.hard_negative(other, keys[0], reason)
            self.note_namesake(person, keys[0])
            self.schedule_lookalikes(person, keys[0])

    def note_namesake(self, person: Person, first_key: str) -> None:
        """A hard negative for a person whose name the frequency tables gave someone before."""
        if person.linked:  # a relative or a swapped name is a look-alike of its own kind
            return
        name = (person.country.code, person.name.given, person.name.family)
        company = person.jobs[0].company.key if person.jobs[0].company else None
        first = self.first_of_name.get(name)
        if first is None:
            if len(self.first_of_name) < MAX_NAMES_TRACKED:
                self.first_of_name[name] = (first_key, company)
            return
        reason = "same_name_different_company" if first[1] != company else "same_name_same_company"
        self.output.hard_negative(first[0], first_key, reason)


def generate_snapshot(persons: int, seed: int, out: Path) -> SnapshotSummary:
    """Generate a snapshot of `persons` people into `out` (created if missing)."""
    if persons < 1:
        raise ValueError("persons must be at least 1")
    started = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_sources(SOURCES, out / "sources.yaml")
    output = Output(out)
    try:
        Generator(persons, seed, output).run()
    finally:
        output.close()
    truth, negatives = truth_paths(out)
    return SnapshotSummary(
        out=out,
        persons=persons,
        seed=seed,
        counts=output.counts,
        truth_path=truth,
        hard_negatives_path=negatives,
        hard_negatives=output.hard_negatives,
        seconds=time.perf_counter() - started,
    )


__all__ = ["SnapshotSummary", "generate_snapshot", "truth_paths"]
