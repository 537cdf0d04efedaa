"""Comparison kinds for a person's own identifiers beside the name: birthdate, generational
suffix, and the sex a salutation names. Mostly contradictions: they tell look-alikes apart
(a father and son, colleagues Johanna and Johannes) where everything else agrees."""

from __future__ import annotations

from typing import Literal

import splink.comparison_level_library as cll
import splink.comparison_library as cl

from aeglobal_pipeline.identity.comparison_base import Column, _Comparison


class DateComparison(_Comparison):
    kind: Literal["date"]
    column: Column = "birthdate"

    def build(self) -> cl.ComparisonCreator:
        # Splink's DateOfBirthComparison levels, except that the typo level is Damerau-Levenshtein
        # over the digits as keyed (YYYYMMDD): 1956 keyed as 1965 is one slip of the fingers, not
        # a person born nine years later, and so is 11/23 keyed as 12/13. A day and month swapped
        # (a form in the other country's order) is no other person either.
        d = self.column
        digits = f"strftime(\"{d}_l\", '%Y%m%d')", f"strftime(\"{d}_r\", '%Y%m%d')"
        swapped = (f'(year("{d}_l") = year("{d}_r") AND month("{d}_l") = day("{d}_r") '
                   f'AND day("{d}_l") = month("{d}_r"))')
        seconds = f'abs(epoch("{d}_l") - epoch("{d}_r"))'
        levels = [
            cll.NullLevel(d),
            cll.ExactMatchLevel(d).configure(label_for_charts="Exact match on date of birth"),
            cll.CustomLevel(f"damerau_levenshtein({digits[0]}, {digits[1]}) <= 1 OR {swapped}").configure(
                label_for_charts="One typo or transposition apart, or day and month swapped"
            ),
            cll.CustomLevel(f"{seconds} <= 2629800").configure(label_for_charts="Within a month"),
            cll.CustomLevel(f"{seconds} <= 31557600").configure(label_for_charts="Within a year"),
            cll.CustomLevel(f"{seconds} <= 315576000").configure(label_for_charts="Within ten years"),
            cll.ElseLevel(),
        ]
        return cl.CustomComparison(levels, output_column_name=self.name)

    def level_ids(self) -> list[str]:
        return ["null", "exact", "one_edit", "month", "year", "ten_years", "different"]


class GenerationComparison(_Comparison):
    """Generational suffix ("Jr.", "Sr.", "III"): a father and son share name, company, phone
    and address; the suffix is often the only thing that tells their records apart."""

    kind: Literal["generation"]
    column: Column = "name_suffix"

    def build(self) -> cl.ComparisonCreator:
        s = self.column
        levels = [
            cll.And(cll.CustomLevel(f'"{s}_l" IS NULL'), cll.CustomLevel(f'"{s}_r" IS NULL')).configure(
                is_null_level=True, label_for_charts="No suffix on either side"
            ),
            cll.ExactMatchLevel(s).configure(label_for_charts="Same suffix"),
            cll.CustomLevel(f'"{s}_l" IS NULL OR "{s}_r" IS NULL').configure(
                label_for_charts="Suffix on one side only"
            ),
            cll.ElseLevel().configure(label_for_charts="Different suffixes"),
        ]
        return cl.CustomComparison(levels, output_column_name=self.name)

    def level_ids(self) -> list[str]:
        return ["null", "same", "one_side", "different"]


class SexComparison(_Comparison):
    """The sex a salutation names (Mr. / Herr vs Ms. / Mrs. / Frau): colleagues who share
    family name, company and switchboard and have close given names (Johanna / Johannes, Maria /
    Mario) are often told apart by nothing else. Where the given names are the same, they say
    one sex and the salutation is the field that is wrong (a picklist default): its own level,
    `same_given_name`, no contradiction.

    Evidence only through never_link_on: every level weighs nothing (m = u, fixed). Agreement
    would count the sex the given name already says a second time, for every look-alike of one
    sex; a weight on a contradiction would push such a pair below grey_zone_lower, where it is
    not kept and so cannot be kept apart across chains."""

    kind: Literal["sex"]
    column: Column = "salutation_sex"
    given_column: Column = "given_name_known"

    def build(self) -> cl.ComparisonCreator:
        s, g = self.column, self.given_column
        neutral = {"m_probability": 0.5, "u_probability": 0.5, "fix_m_probability": True,
                   "fix_u_probability": True}
        levels = [
            cll.CustomLevel(f'"{s}_l" IS NULL OR "{s}_r" IS NULL').configure(
                is_null_level=True, label_for_charts="No sex named on one side (blank, Dr., Mx.)"
            ),
            cll.ExactMatchLevel(s).configure(label_for_charts="Same sex (no weight)", **neutral),
            cll.ExactMatchLevel(g).configure(
                label_for_charts="Salutations contradict, same given name: a wrong salutation (no weight)",
                **neutral,
            ),
            cll.ElseLevel().configure(label_for_charts="Salutations contradict (Mr. / Ms.; no weight)",
                                      **neutral),
        ]
        return cl.CustomComparison(levels, output_column_name=self.name)

    def level_ids(self) -> list[str]:
        return ["null", "same", "same_given_name", "contradicts"]
