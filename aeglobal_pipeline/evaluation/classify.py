"""One planned person-field change judged against the person's true attributes.

Categories (shares are of all scored person-field changes):

- good_fill: the target field was empty and gets a true value of the person.
- good_fix: the target held a wrong value (a typo, an initial, a swapped name, a placeholder, a
  former employer's address) and gets a true one.
- format_only: old and new are the same value in another form (case, accents, E.164 against a
  national format, `Str.` against `Straße`).
- contact_point_replaced: the target held one true contact point (e-mail, phone, address part)
  and gets another, equally true one: the write destroys a real way to reach the person.
- other_true_form: a true name or employer replaced by another accepted form of it (a nickname by
  the full name, `Mueller` by `Müller`, `GmbH` by `Gesellschaft mbH`): harmless, not needed.
- stale_record: the target record itself shows a former employer of the person (a record of that
  employment that nobody closed) and gets a value of a former employment (that employer's phone,
  address or work e-mail) where it held nothing true. Before and after the write the record
  describes the person at the old job; the write neither makes it more right nor less: not a good
  change, not counted as harmful either. Only the identity of the job change (evidence or a
  steward joining the new job's records) makes such a record right.
- harmful: a true value (true → wrong) or an empty field (empty → wrong) gets a value that is not
  the person's: a typo, a placeholder, a former employer's value onto a record of the current job or
  of no job, a company role mailbox, another person's value through a false merge, a phone number
  the normaliser broke.
- other: a wrong value replaced by another wrong one, or a target record the truth does not know.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aeglobal_pipeline.evaluation.values import value_form

CATEGORIES = (
    "good_fill", "good_fix", "format_only", "contact_point_replaced", "other_true_form", "stale_record",
    "harmful", "other",
)  # fmt: skip
# Truth fields where two different true values are two ways of reaching the person.
CONTACT_FIELDS = frozenset({"email", "phone", "street", "city", "postal_code", "state"})
# Kinds in the truth attributes that exist but are not the person's current value.
NOT_CURRENT = ("former", "role")
FORMER = "former"


@dataclass
class PersonTruth:
    """One person's accepted values: truth field → comparable form → kind."""

    values: dict[str, dict[str, str]] = field(default_factory=dict)
    regions: list[str] = field(default_factory=list)  # to read national phone formats

    def add(self, truth_field: str, kind: str, value: str) -> None:
        if truth_field == "country_code":
            self.regions.insert(0, value.strip().upper())
        elif truth_field == "phone" and value.startswith("+"):
            region = _region_of(value)
            if region and region not in self.regions:
                self.regions.append(region)
        self.values.setdefault(truth_field, {}).setdefault(value_form(truth_field, value), kind)

    def form(self, truth_field: str, value: str) -> str:
        return value_form(truth_field, value, self.regions)

    def status(self, truth_field: str, value: str | None) -> tuple[str, str]:
        """('empty' | 'true' | 'wrong', the matching kind or a reason)."""
        if value is None or not value.strip():
            return "empty", ""
        kind = self.values.get(truth_field, {}).get(self.form(truth_field, value))
        if kind is None:
            return "wrong", "not a value of this person"
        if kind.startswith(NOT_CURRENT):
            return "wrong", kind
        return "true", kind


def _region_of(e164: str) -> str | None:
    import phonenumbers

    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(e164.split(";")[0], None))
    except phonenumbers.NumberParseException:
        return None


def classify(
    truth_field: str,
    current: str | None,
    new: str | None,
    person: PersonTruth,
    target_company: str | None = None,
) -> tuple[str, str]:
    """(category, detail) of writing `new` over `current` in `truth_field` of `person`, on a record
    that shows `target_company` as the person's employer."""
    before, before_kind = person.status(truth_field, current)
    after, after_kind = person.status(truth_field, new)
    detail = f"{before}({before_kind}) → {after}({after_kind})".replace("()", "")
    both_filled = before != "empty" and after != "empty"
    if both_filled and person.form(truth_field, current) == person.form(truth_field, new):
        return "format_only", detail
    if before != "true" and after_kind.startswith(FORMER) and _shows_former_employer(person, target_company):
        return "stale_record", detail + ", on a record of a former employer"
    if before == "empty":
        return ("good_fill" if after == "true" else "harmful"), detail
    if before == "true":
        if after != "true":
            return "harmful", detail
        return ("contact_point_replaced" if truth_field in CONTACT_FIELDS else "other_true_form"), detail
    return ("good_fix" if after == "true" else "other"), detail


def _shows_former_employer(person: PersonTruth, company: str | None) -> bool:
    return person.status("company", company)[1] == FORMER
