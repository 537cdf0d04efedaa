"""Turn one synthetic person into Lead, Contact, Prospect (and Account) rows.

Per-company state lives here and only here: the Account id of each company in each org, and the
first record that used a company's role mailbox or switchboard (so later users of the same
address become hard negatives, and an AE prospect keyed by that mailbox can be linked to another
person's CRM record, as the real connector does when it matches by e-mail).
"""

from __future__ import annotations

from random import Random
from typing import TYPE_CHECKING

from aeglobal_pipeline.sandbox.noise import (
    EXTENSION_WRITTEN,
    address_noise,
    birthdate_as_keyed,
    company_noise,
    email_noise,
    extension,
    foreign_mobile,
    name_noise,
    with_extension,
)
from aeglobal_pipeline.sandbox.people import (
    Job,
    Person,
    kana_name,
    local_name,
    render_email,
    render_name,
)
from aeglobal_pipeline.sandbox.records import (
    BRANDS,
    GRADES,
    LEAD_SOURCES,
    LEAD_STATUSES,
    SNAPSHOT_AT,
    ae_timestamp,
    boolean,
    iso_date,
    lifecycle_times,
    sf_timestamp,
)
from aeglobal_pipeline.sandbox.salutations import salutation
from aeglobal_pipeline.sandbox.truth_attributes import attribute_rows

if TYPE_CHECKING:
    from aeglobal_pipeline.sandbox.generate import Generator

DAY = 86400
NO_COMPANY = ("n/a", "Private", "[not provided]", "-", "Self-employed", "Freelancer")
CONNECTED_CRM = {"ae_emea": "crm_emea", "ae_na": "crm_na"}
MAX_PAIRS_PER_COMPANY = 3
STATE_CODE_COUNTRIES = {"US", "CA", "MX", "AU", "BR", "IN"}


def key(source: str, obj: str, record_id: str) -> str:
    return f"{source}:{obj}:{record_id}"


class RowWriter:
    def __init__(self, generator: Generator) -> None:
        self.gen = generator
        self.rng = generator.rng
        self.out = generator.output
        self.accounts: dict[tuple[str, int, int], str] = {}
        self.placeholders: dict[str, str] = {}
        # company → [first record key, its person, hard negatives emitted]
        self.role_first: dict[int, list] = {}
        self.role_crm: dict[tuple[int, str], tuple[str, str, str, str]] = {}
        self.switchboard_first: dict[int, list] = {}
        # Its own stream: salutations leave every other value of a seed's snapshot unchanged.
        self.salutation_rng = Random(generator.seed ^ 0x5A1)

    # shared values -------------------------------------------------------------------------
    def created_at(self, person: Person, job_index: int) -> int:
        base = person.created
        if job_index:  # after the job change
            base += int((SNAPSHOT_AT - base) * (0.5 + 0.45 * self.rng.random()))
        return min(SNAPSHOT_AT - DAY, base + int(self.rng.random() * 300 * DAY))

    def email(self, person: Person, job: Job, required: bool = False) -> tuple[str, str]:
        """(address as typed, kind) where kind is work | personal | household | role | ''."""
        draw = self.rng.random()
        company = job.company
        rng = self.rng
        if person.in_household and person.household_email and draw < 0.25:
            return email_noise(rng, render_email(rng, person.household_email)), "household"
        if company and draw < 0.05:
            return f"{company.role_local}@{company.domain}", "role"
        if job.email and draw < 0.72:
            return email_noise(rng, render_email(rng, job.email)), "work"
        if draw < 0.9 or required:
            return email_noise(rng, render_email(rng, person.personal_email)), "personal"
        return "", ""

    def phone(self, person: Person, job: Job) -> tuple[str, str]:
        draw = self.rng.random()
        if person.in_household and draw < 0.45:
            return person.home_phone.format(self.rng, person.country.code), "home"
        if job.direct and draw < 0.5:
            return job.direct.format(self.rng, person.country.code), "direct"
        if job.company and draw < 0.65:
            number = job.company.switchboard.format(self.rng, person.country.code)
            ext = extension(person, job) if self.rng.random() < EXTENSION_WRITTEN else ""
            return with_extension(self.rng, number, ext), "switchboard"
        if draw < 0.7:
            return person.home_phone.format(self.rng, person.country.code), "home"
        return "", ""

    def note_shared(
        self, record_key: str, person: Person, job: Job, email_kind: str, phone_kind: str
    ) -> None:
        """Record the first user of a role mailbox / switchboard; later users are hard negatives."""
        if job.company is None:
            return
        for used, table, reason in (
            (email_kind == "role", self.role_first, "shared_role_mailbox"),
            (phone_kind == "switchboard", self.switchboard_first, "shared_switchboard_phone"),
        ):
            if not used:
                continue
            first = table.setdefault(job.company.key, [record_key, person.person_id, 0])
            # A sample, not every pair: a big employer's switchboard would swamp the file.
            if first[1] != person.person_id and first[2] < MAX_PAIRS_PER_COMPANY:
                first[2] += 1
                self.out.hard_negative(first[0], record_key, reason)

    def custom(self, org: str, obj: str, person: Person, created: int, opted_out: bool) -> list[str]:
        rng = self.rng
        if org == "crm_emea":
            consent = (
                "" if opted_out or rng.random() < 0.4 else iso_date(created + int(rng.random() * 30 * DAY))
            )
            values = [consent, person.name.locale[:2] if rng.random() < 0.7 else ""]
            if obj == "Lead":
                values.append(str(int(rng.random() * 100)) if rng.random() < 0.5 else "")
            return values
        if org == "crm_na":
            state = person.jobs[0].company.city.state if person.jobs[0].company else person.home_city.state
            code = state if person.country.code in STATE_CODE_COUNTRIES and rng.random() < 0.8 else ""
            values = [code]
            if obj == "Lead":
                values.append(f"{rng.random() * 100:.1f}" if rng.random() < 0.4 else "")
            return values
        kana = kana_name(person) if rng.random() < 0.7 else ""
        native = local_name(person) if rng.random() < 0.6 else ""
        return [kana, native]

    def address(self, person: Person, job: Job) -> tuple[str, str, str, str]:
        from aeglobal_pipeline.sandbox.world import street_variant

        if job.company and not (person.in_household and self.rng.random() < 0.5):
            c = job.company
            street, city, postal = c.street, c.city, c.postal
        else:
            street, city, postal = person.home_street, person.home_city, person.home_postal
        state = (
            city.state
            if self.rng.random() < (0.8 if person.country.code in STATE_CODE_COUNTRIES else 0.2)
            else ""
        )
        if self.rng.random() < 0.15:
            return "", city.name, "", state  # only the city was captured
        street_typed, city_typed = address_noise(self.rng, street_variant(self.rng, street), city.name)
        return street_typed, city_typed, postal, state

    def salutation(self, source: str, person: Person) -> str:
        return salutation(self.salutation_rng, source, person.name.gender, person.country.language)

    def opted_out(self, person: Person) -> bool:
        # Consent differs between a person's copies: one system heard the opt-out, others not.
        return person.opted_out != (self.rng.random() < 0.08)

    def deleted(self) -> str:
        return boolean(self.rng.random() < 0.02)

    # accounts ------------------------------------------------------------------------------
    def account_id(self, org: str, person: Person, job: Job) -> str:
        rng = self.rng
        company = job.company
        if company is None:
            if org not in self.placeholders:
                self.placeholders[org] = self._account_row(
                    org, "Individual Contacts", "", "Other", person, ""
                )
            return self.placeholders[org]
        variant = 1 if rng.random() < 0.03 else 0  # within-org duplicate account
        slot = (org, company.key, variant)
        if slot not in self.accounts:
            name = company.name if not variant else company.name_variant(rng)
            website = rng.choice(
                (f"www.{company.domain}", f"https://www.{company.domain}", company.domain, "")
            )
            self.accounts[slot] = self._account_row(
                org, name, website, company.industry, person, company.city.name
            )
        return self.accounts[slot]

    def _account_row(self, org, name, website, industry, person, city) -> str:
        account = self.gen.new_id(org, "Account")
        created, modified, stamp = lifecycle_times(
            self.rng, person.created - int(self.rng.random() * 400 * DAY)
        )
        values = [
            account, name, website, industry, person.country.spelling(self.rng), city,
            sf_timestamp(created), sf_timestamp(modified), sf_timestamp(stamp), "false",
        ]  # fmt: skip
        self.out.row(org, "Account", values, None)
        return account

    # person records ------------------------------------------------------------------------
    def write_person(self, person: Person, plans: list[tuple[str, str, int]]) -> list[str]:
        person.mobile = foreign_mobile(self.rng, person)
        keys: list[str] = []
        crm: list[tuple[str, str, str, str, int, str]] = []  # org, object, id, account, job, email
        for source, kind, job_index in plans:
            job = person.jobs[job_index]
            if kind == "Contact":
                record_id, account, email = self.contact(source, person, job, job_index, keys)
                crm.append((source, "Contact", record_id, account, job_index, email))
            elif kind == "ConvertedLead":
                contact = next(c for c in reversed(crm) if c[0] == source and c[1] == "Contact")
                self.lead(source, person, job, job_index, keys, converted=contact)
            elif kind == "Lead":
                record_id, email = self.lead(source, person, job, job_index, keys)
                crm.append((source, "Lead", record_id, "", job_index, email))
            else:
                self.prospect(source, person, job, job_index, keys, crm)
        self.out.attributes(attribute_rows(person, self.gen.names))
        return keys

    def contact(self, org, person, job, job_index, keys) -> tuple[str, str, str]:
        rng = self.rng
        account = self.account_id(org, person, job)
        record_id = self.gen.new_id(org, "Contact")
        record_key = key(org, "Contact", record_id)
        first, last = name_noise(rng, *render_name(rng, person, self.gen.names, native_ok=org == "crm_apac"))
        email, email_kind = self.email(person, job)
        phone, phone_kind = self.phone(person, job)
        street, city, postal, state = self.address(person, job)
        created, modified, stamp = lifecycle_times(rng, self.created_at(person, job_index))
        opted = self.opted_out(person)
        values = [
            record_id, account, first, last, email, phone,
            person.mobile.format(rng, person.country.code) if person.mobile and rng.random() < 0.4 else "",
            job.title if rng.random() < 0.8 else "", street, city, postal, state,
            person.country.spelling(rng),
            birthdate_as_keyed(record_id, person.birthdate if rng.random() < 0.15 else "", created),
            LEAD_SOURCES.pick(rng), boolean(opted), boolean(person.do_not_call),
            rng.choice(BRANDS[org]), "", sf_timestamp(created), sf_timestamp(modified),
            sf_timestamp(stamp), self.deleted(),
        ]  # fmt: skip
        values.append(self.salutation(org, person))
        values += self.custom(org, "Contact", person, created, opted)
        self.out.row(org, "Contact", values, person.person_id)
        self.note_shared(record_key, person, job, email_kind, phone_kind)
        if email_kind == "role":
            self.role_crm.setdefault(
                (job.company.key, org), ("Contact", record_id, account, person.person_id)
            )
        keys.append(record_key)
        return record_id, account, email

    def lead(self, org, person, job, job_index, keys, converted=None) -> tuple[str, str]:
        rng = self.rng
        record_id = self.gen.new_id(org, "Lead")
        record_key = key(org, "Lead", record_id)
        first, last = name_noise(rng, *render_name(rng, person, self.gen.names, native_ok=org == "crm_apac"))
        email, email_kind = self.email(person, job)
        if converted and rng.random() < 0.9:  # conversion copied the lead's address over
            email, email_kind = converted[5], "converted"
        phone, phone_kind = self.phone(person, job)
        street, city, postal, state = self.address(person, job)
        created, modified, stamp = lifecycle_times(rng, self.created_at(person, job_index))
        if converted:  # the lead existed before the contact it was converted into
            created, modified, stamp = lifecycle_times(rng, created - int(rng.random() * 90 * DAY))
        company = company_noise(rng, job.company.name_variant(rng)) if job.company else rng.choice(NO_COMPANY)
        open_statuses, converted_status = LEAD_STATUSES[org]
        opted = self.opted_out(person)
        values = [
            record_id, first, last, email, phone,
            person.mobile.format(rng, person.country.code) if person.mobile and rng.random() < 0.3 else "",
            company, job.title if rng.random() < 0.75 else "", street, city, postal, state,
            person.country.spelling(rng),
            converted_status if converted else open_statuses.pick(rng), LEAD_SOURCES.pick(rng),
            boolean(opted), boolean(person.do_not_call), boolean(converted is not None),
            converted[2] if converted else "", converted[3] if converted else "",
            rng.choice(BRANDS[org]), "", sf_timestamp(created), sf_timestamp(modified),
            sf_timestamp(stamp), self.deleted(),
        ]  # fmt: skip
        values.append(self.salutation(org, person))
        values += self.custom(org, "Lead", person, created, opted)
        self.out.row(org, "Lead", values, person.person_id)
        self.note_shared(record_key, person, job, email_kind, phone_kind)
        if email_kind == "role" and not converted:
            self.role_crm.setdefault((job.company.key, org), ("Lead", record_id, "", person.person_id))
        keys.append(record_key)
        return record_id, email

    def prospect(self, bu, person, job, job_index, keys, crm) -> None:
        rng = self.rng
        record_id = self.gen.new_prospect_id(bu)
        record_key = key(bu, "Prospect", record_id)
        first, last = name_noise(rng, *render_name(rng, person, self.gen.names, native_ok=False))
        email, email_kind = self.email(person, job, required=True)
        phone, phone_kind = self.phone(person, job)
        created, modified, _ = lifecycle_times(rng, self.created_at(person, job_index))
        link = ("", "", "")  # lead, contact, account
        org = CONNECTED_CRM[bu]
        foreign = self.role_crm.get((job.company.key, org)) if email_kind == "role" and job.company else None
        if foreign and foreign[3] != person.person_id:
            # The connector matched the shared mailbox to someone else's CRM record.
            obj, other_id, account, _ = foreign
            link = ("", other_id, account) if obj == "Contact" else (other_id, "", "")
            self.out.hard_negative(
                record_key, key(org, obj, other_id), "role_mailbox_prospect_linked_to_other_person"
            )
        elif rng.random() < 0.85:
            mine = [c for c in crm if c[0] == org and c[4] == job_index]
            contact = next((c for c in mine if c[1] == "Contact"), None)
            lead = next((c for c in mine if c[1] == "Lead"), None)
            if contact:
                link = ("", contact[2], contact[3])
            elif lead:
                link = (lead[2], "", "")
            linked = contact or lead
            if linked and linked[5] and rng.random() < 0.9:  # the connector syncs the e-mail
                email = linked[5].strip()
        opted = self.opted_out(person)
        score = int(rng.random() ** 2 * 300)
        values = [
            record_id, email, first, last,
            company_noise(rng, job.company.name_variant(rng)) if job.company else "",
            job.title if rng.random() < 0.6 else "", person.country.spelling(rng),
            person.jobs[job_index].company.city.name if job.company else person.home_city.name,
            phone, boolean(opted), boolean(rng.random() < 0.03), str(score), GRADES.pick(rng),
            *link, ae_timestamp(created), ae_timestamp(modified), self.deleted(),
            self.salutation(bu, person),
        ]  # fmt: skip
        self.out.row(bu, "Prospect", values, person.person_id)
        self.note_shared(record_key, person, job, email_kind, phone_kind)
        keys.append(record_key)
