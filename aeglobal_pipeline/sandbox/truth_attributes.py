"""Each generated person's true attributes, for scoring what the write-back plans.

`<DIR>.truth_attributes.csv` (beside the snapshot, never inside it) has one row per accepted value:
`person_id, field, kind, value`. Fields are the central field names of field_dictionary.yaml
(given_name, family_name, email, phone, company, street, city, postal_code, state, country_code,
birthdate); `mobile` is not a field of its own here: every number of the person is a `phone` row
with its kind. Kinds:

- given_name / family_name: `canonical`, and the other forms the generator considers correct:
  `nickname`, `ascii` (accents folded), `transliteration` (ü → ue), `spaced` (Xiao Ming), `native`
  (kanji/hanzi/hangul), `variant` (Korean romanisations, double family names joined or not).
  Not accepted: initials, swapped given/family, typos, placeholders.
- email: `work` (current employer), `personal`, `household` (shared with relatives), and the
  addresses that are NOT the person's own current address: `former_work` (the previous employer's,
  no longer read) and `role` (a company mailbox such as info@, never the person's).
- phone: `direct`, `switchboard`, `mobile`, `home` (the current employer's for the first two), each
  an E.164 number, with `;ext=N` when the person is reached through an extension; `former_direct`
  and `former_switchboard` belong to the previous employer.
- company: `current` and `former` (each accepted legal-suffix form), `none` (Self-employed /
  Freelancer for a person without an employer).
- street / city / postal_code / state: `work` (the current employer's site), `former_work`, `home`.
- country_code: `home` (ISO code). birthdate: `actual`. sex: `actual` (m / f; no field of the
  write-back: what a record's salutation should say, to measure look-alikes of the other sex).

Rows are written per person as the person's records are, so memory stays bounded.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from aeglobal_pipeline.sandbox.names import FAMILY_FIRST, NameBank, ascii_fold, transliterate
from aeglobal_pipeline.sandbox.noise import extension
from aeglobal_pipeline.sandbox.people import KOREAN_VARIANTS, Job, Person
from aeglobal_pipeline.sandbox.world import join_suffix

ATTRIBUTE_FIELDS = ["person_id", "field", "kind", "value"]
SELF_EMPLOYED = ("Self-employed", "Freelancer")


def _folded_forms(text: str) -> list[tuple[str, str]]:
    return [("ascii", ascii_fold(text)), ("transliteration", transliterate(text))]


def given_forms(person: Person, names: NameBank) -> Iterator[tuple[str, str]]:
    n = person.name
    yield "canonical", n.given
    yield from _folded_forms(n.given)
    if "-" in n.given:
        yield "variant", n.given.replace("-", " ")
    for nickname in names.nicknames.get(n.given, ()):
        yield "nickname", nickname
    if n.given_spaced:
        yield "spaced", n.given_spaced
        yield "spaced", n.given_spaced.replace(" ", "-")
    if n.given_native:
        yield "native", n.given_native


def family_forms(person: Person) -> Iterator[tuple[str, str]]:
    n = person.name
    forms = [("canonical", n.family)]
    if n.family2:
        forms += [("variant", f"{n.family} {n.family2}"), ("variant", f"{n.family}-{n.family2}")]
    if n.locale == "ko":
        forms += [("variant", variant) for variant in KOREAN_VARIANTS.get(n.family, ())]
    for kind, value in forms:
        yield kind, value
        yield from _folded_forms(value)
    if n.family_native:
        yield "native", n.family_native


def _job_rows(person: Person, job: Job, current: bool) -> Iterator[tuple[str, str, str]]:
    prefix = "" if current else "former_"
    company = job.company
    if job.email:
        yield "email", prefix + "work", job.email
    if job.direct:
        yield "phone", prefix + "direct", job.direct.e164()
    if company is None:
        if current:
            for value in SELF_EMPLOYED:
                yield "company", "none", value
        return
    yield "email", "role", f"{company.role_local}@{company.domain}"
    yield "phone", prefix + "switchboard", company.switchboard.e164()
    ext = extension(person, job)
    if ext:
        yield "phone", prefix + "switchboard", f"{company.switchboard.e164()};ext={ext}"
    kind = "current" if current else "former"
    yield "company", kind, company.core
    for suffix in dict.fromkeys((company.legal, *company.legal_variants)):
        yield "company", kind, join_suffix(company.core, suffix)
    yield "street", prefix + "work", company.street
    yield "city", prefix + "work", company.city.name
    yield "postal_code", prefix + "work", company.postal
    if company.city.state:
        yield "state", prefix + "work", company.city.state


def attribute_rows(person: Person, names: NameBank) -> Iterator[tuple[str, str, str, str]]:
    """(person_id, field, kind, value) rows of one person, each value once per field."""
    rows: list[tuple[str, str, str]] = []
    rows += [("given_name", kind, value) for kind, value in given_forms(person, names)]
    rows += [("family_name", kind, value) for kind, value in family_forms(person)]
    if person.name.locale in FAMILY_FIRST and person.name.given_spaced:
        rows += [("given_name", "ascii", ascii_fold(person.name.given_spaced))]
    rows.append(("email", "personal", person.personal_email))
    if person.in_household and person.household_email:
        rows.append(("email", "household", person.household_email))
    if person.mobile:
        rows.append(("phone", "mobile", person.mobile.e164()))
    rows.append(("phone", "home", person.home_phone.e164()))
    for index in reversed(range(len(person.jobs))):  # the current job first: its kinds win
        rows += _job_rows(person, person.jobs[index], current=index == len(person.jobs) - 1)
    rows += [
        ("street", "home", person.home_street),
        ("city", "home", person.home_city.name),
        ("postal_code", "home", person.home_postal),
        ("country_code", "home", person.country.code),
        ("birthdate", "actual", person.birthdate),
        ("sex", "actual", person.name.gender),
    ]
    if person.home_city.state:
        rows.append(("state", "home", person.home_city.state))
    seen: set[tuple[str, str]] = set()
    for field, kind, value in rows:  # the first kind listed for a value wins
        if value and (field, value) not in seen:
            seen.add((field, value))
            yield person.person_id, field, kind, value


def attributes_path(truth_csv: Path) -> Path:
    """`X.truth.csv` → `X.truth_attributes.csv` (beside it)."""
    truth_csv = Path(truth_csv)
    return truth_csv.with_name(
        truth_csv.name.removesuffix(".truth.csv").removesuffix(".csv") + ".truth_attributes.csv"
    )
