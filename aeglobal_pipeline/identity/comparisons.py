"""Comparison kinds of matching.yaml, each built from Splink's comparison (level) library.

Every kind names its levels (`level_ids`, null level first) so never_link_on rules can refer to
them. Column names are validated against FEATURE_COLUMNS before any SQL is built; the few
custom SQL conditions interpolate only those validated names.
"""

from __future__ import annotations

from typing import Annotated, Literal

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from pydantic import Field

from aeglobal_pipeline.identity.comparison_base import Column, _Comparison
from aeglobal_pipeline.identity.identifier_comparisons import (
    DateComparison,
    GenerationComparison,
    SexComparison,
)
from aeglobal_pipeline.identity.person_name_comparison import PersonNameComparison


class ExactComparison(_Comparison):
    kind: Literal["exact"]
    column: Column
    term_frequency: bool = False

    def build(self) -> cl.ComparisonCreator:
        return cl.ExactMatch(self.column).configure(term_frequency_adjustments=self.term_frequency)

    def level_ids(self) -> list[str]:
        return ["null", "exact", "different"]


class JaroWinklerComparison(_Comparison):
    kind: Literal["jaro_winkler"]
    column: Column
    thresholds: list[Annotated[float, Field(gt=0, lt=1)]] = [0.92, 0.85]
    term_frequency: bool = False

    def build(self) -> cl.ComparisonCreator:
        comparison = cl.JaroWinklerAtThresholds(self.column, self.thresholds)
        return comparison.configure(term_frequency_adjustments=self.term_frequency)

    def level_ids(self) -> list[str]:
        similar = [f"similar_{t}" for t in sorted(self.thresholds, reverse=True)]
        return ["null", "exact", *similar, "different"]


class EmailComparison(_Comparison):
    """Normalised address exact, local part exact (other domain), one-edit typo."""

    kind: Literal["email"]
    column: Column = "email_match"
    local_column: Column = "email_local_match"
    work_domain_column: Column = "email_work_domain"
    holder_column: Column = "email_names_holder"
    term_frequency: bool = True

    def build(self) -> cl.ComparisonCreator:
        e, local = self.column, self.local_column
        tf = {"tf_adjustment_column": e} if self.term_frequency else {}
        tf_local = {"tf_adjustment_column": local} if self.term_frequency else {}
        levels = [
            cll.NullLevel(e),
            # A free-mail address is the person's own; a company one may be an unlisted shared
            # mailbox (administracion@), so only the first may outweigh contradicting names.
            cll.And(cll.ExactMatchLevel(e), cll.CustomLevel(f'"{self.work_domain_column}_l" IS NULL'))
            .configure(label_for_charts="Exact personal (free-mail) address", **tf),
            # A company address named after its holder (j.smith@) is one person's mailbox.
            cll.And(
                cll.ExactMatchLevel(e),
                cll.CustomLevel(f'"{self.holder_column}_l" OR "{self.holder_column}_r"'),
            ).configure(label_for_charts="Exact company address named after its holder", **tf),
            cll.ExactMatchLevel(e).configure(
                label_for_charts="Exact company address, not named after the person (shared?)", **tf
            ),
            cll.ExactMatchLevel(local).configure(label_for_charts="Same local part", **tf_local),
            # A typo; but not j.smith@ / j.smith2@ at one company: a mail server numbers the
            # second holder of a name, so those are two mailboxes (the level below).
            cll.And(
                cll.DamerauLevenshteinLevel(e, 1),
                cll.Not(cll.CustomLevel(self._numbered_mailboxes_sql())),
            ).configure(label_for_charts="One edit apart"),
            # Two mailboxes at one company domain, each named after its holder: two colleagues
            # (see never_link_on). An unlisted shared mailbox (administracion@) is no such sign.
            cll.And(
                cll.ExactMatchLevel(self.work_domain_column),
                cll.CustomLevel(f'"{self.holder_column}_l" AND "{self.holder_column}_r"'),
            ).configure(label_for_charts="Other personal mailbox, same company domain"),
            cll.ElseLevel(),
        ]
        return cl.CustomComparison(levels, output_column_name=self.name)

    def _numbered_mailboxes_sql(self) -> str:
        """SQL: two addresses at one company domain whose local parts differ only in digits."""
        local = [f"""regexp_replace(split_part("{self.column}_{side}", '@', 1), '[0-9]', '', 'g')"""
                 for side in ("l", "r")]  # fmt: skip
        domain = self.work_domain_column
        return f'("{domain}_l" = "{domain}_r" AND {local[0]} = {local[1]}) IS TRUE'

    def level_ids(self) -> list[str]:
        return ["null", "exact_personal", "exact", "exact_shared", "local_part", "one_edit",
                "same_company_domain", "different"]


class PhoneComparison(_Comparison):
    """Mobile and landline in E.164; a shared switchboard or home line weighs little (tf)."""

    kind: Literal["phone"]
    phone_column: Column = "phone_match"
    mobile_column: Column = "mobile_match"
    term_frequency: bool = True

    def build(self) -> cl.ComparisonCreator:
        p, m = self.phone_column, self.mobile_column
        null = cll.CustomLevel(
            f'("{p}_l" IS NULL AND "{m}_l" IS NULL) OR ("{p}_r" IS NULL AND "{m}_r" IS NULL)'
        ).configure(is_null_level=True, label_for_charts="No phone on one side")
        tf = self.term_frequency
        levels = [
            null,
            cll.ExactMatchLevel(m).configure(
                label_for_charts="Same mobile", **({"tf_adjustment_column": m} if tf else {})
            ),
            cll.ExactMatchLevel(p).configure(
                label_for_charts="Same phone", **({"tf_adjustment_column": p} if tf else {})
            ),
            cll.CustomLevel(f'"{p}_l" = "{m}_r" OR "{m}_l" = "{p}_r"').configure(
                label_for_charts="Mobile in the other's phone field"
            ),
            cll.ElseLevel(),
        ]
        return cl.CustomComparison(levels, output_column_name=self.name)

    def level_ids(self) -> list[str]:
        return ["null", "mobile", "phone", "crossed", "different"]


class LocationComparison(_Comparison):
    """Street + postal code, else postal code, else city, each also with one typo; frequencies
    damp shared addresses (a big employer's office) and big cities."""

    kind: Literal["location"]
    address_column: Column = "address_key"
    street_column: Column = "street_norm"
    postal_column: Column = "postal_norm"
    city_column: Column = "city_norm"
    term_frequency: bool = True

    def build(self) -> cl.ComparisonCreator:
        address, street = self.address_column, self.street_column
        postal, city = self.postal_column, self.city_column

        def tf(column: str) -> dict:
            return {"tf_adjustment_column": column} if self.term_frequency else {}

        # The same house number with a typo in the street ("warrego icrcuit"), in the postal code
        # or in each (the fields are keyed separately, so each may carry its own slip); never
        # another house number: neighbours share street and postal code.
        street_typo = (
            f"""regexp_extract("{street}_l", '[0-9]+') = regexp_extract("{street}_r", '[0-9]+') """
            f'AND damerau_levenshtein("{street}_l", "{street}_r") <= '
            f'CASE WHEN least(length("{street}_l"), length("{street}_r")) >= 10 THEN 2 ELSE 1 END'
        )
        address_typo = f'{street_typo} AND damerau_levenshtein("{postal}_l", "{postal}_r") <= 1'
        postal_typo = f'"{city}_l" = "{city}_r" AND damerau_levenshtein("{postal}_l", "{postal}_r") <= 1'
        levels = [
            cll.And(cll.NullLevel(postal), cll.NullLevel(city)),
            cll.ExactMatchLevel(address).configure(label_for_charts="Same street address", **tf(address)),
            cll.CustomLevel(address_typo).configure(
                label_for_charts="Same house number, a slip in the street or postal code (or each)"
            ),
            cll.ExactMatchLevel(postal).configure(label_for_charts="Same postal code", **tf(postal)),
            cll.CustomLevel(postal_typo).configure(label_for_charts="Same city, postal code one typo apart"),
            cll.ExactMatchLevel(city).configure(label_for_charts="Same city", **tf(city)),
            cll.JaroWinklerLevel(city, 0.92).configure(label_for_charts="City Jaro-Winkler >= 0.92"),
            cll.ElseLevel(),
        ]
        return cl.CustomComparison(levels, output_column_name=self.name)

    def level_ids(self) -> list[str]:
        return ["null", "address", "address_typo", "postal", "postal_typo", "city", "city_typo", "different"]


Comparison = Annotated[
    ExactComparison
    | JaroWinklerComparison
    | PersonNameComparison
    | EmailComparison
    | PhoneComparison
    | LocationComparison
    | DateComparison
    | GenerationComparison
    | SexComparison,
    Field(discriminator="kind"),
]
COMPARISON_KINDS = ("exact", "jaro_winkler", "person_name", "email", "phone", "location", "date",
                    "generation", "sex")
