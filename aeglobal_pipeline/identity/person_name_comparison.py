"""The person-name comparison of matching.yaml (kind `person_name`): given + family name together,
from Splink's comparison-level library, with named levels best first.

Column names are validated against FEATURE_COLUMNS before any SQL is built; the family-name list
holds validated lower-case words only.
"""

from __future__ import annotations

from typing import Annotated, Literal

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from pydantic import Field

from aeglobal_pipeline.identity.comparison_base import ROLE_COLUMNS, Column, _Comparison


class PersonNameComparison(_Comparison):
    """Given + family name together: exact, swapped order, fuzzy, the same name in another
    script, nickname or initial, one part."""

    kind: Literal["person_name"]
    given_column: Column = "given_name_norm"
    family_column: Column = "family_name_norm"
    full_name_column: Column = "full_name"
    one_field_column: Column = "full_name_one_field"
    family_first_column: Column = "family_first"
    nickname_column: Column = "given_nick_groups"
    script_column: Column = "name_script"
    tokens_column: Column = "name_tokens"
    # The parts without placeholders ("Unknown", "n/a"): where one is missing, only the other
    # part of the name can agree.
    given_known_column: Column = "given_name_known"
    family_known_column: Column = "family_name_known"
    # The name in Latin letters (features.romanize), for names written in two scripts.
    given_latin_column: Column = "given_name_latin"
    family_latin_column: Column = "family_name_latin"
    thresholds: list[Annotated[float, Field(gt=0, lt=1)]] = [0.92, 0.85]
    term_frequency: bool = True
    # Family names of the locales written family first whose set is small and closed (Chinese,
    # Korean): with exactly one of two swapped parts among them, only one reading of the name
    # exists, so the swap is one person's name typed in two orders (`swapped_one_reading`).
    family_first_surnames: list[Annotated[str, Field(pattern=r"^[a-z]{2,}$")]] = []
    # Elsewhere the estate's own records settle the order: where they write one order of the two
    # parts at least this many times likelier than the other (the given name as a given name and
    # the family name as a family name, against the reverse: identity.name_roles), "Hindess Luke"
    # is Luke Hindess. Neither part may be a listed family name (those have the rule above).
    order_odds: Annotated[float, Field(gt=1)] | None = None

    def build(self) -> cl.ComparisonCreator:
        high, *lower = sorted(self.thresholds, reverse=True)
        # One object shared by the levels below (Splink levels are configured in place).
        family_close = cll.Or(cll.JaroWinklerLevel(self.family_column, high),
                              cll.ExactMatchLevel(self.family_first_column))
        levels = [
            self._null_level(),
            *self._whole_name_levels(high, lower, family_close),
            *self._fuzzy_levels(lower),
            *self._partial_name_levels(high, family_close),
        ]
        return cl.CustomComparison(levels, output_column_name=self.name)

    def _given_compatible(self) -> cll.Or:
        """An initial ("J.") or a nickname in the same group as the other side's name."""
        g = self.given_column
        return cll.Or(
            cll.ArrayIntersectLevel(self.nickname_column, 1),
            cll.CustomLevel(_initial_of(f"{g}_l", f"{g}_r")),
        )

    def _null_level(self) -> cll.Or:
        # Names in different scripts (张伟 vs Wei Zhang) meet only through their Latin forms;
        # where those differ too, transliteration is too lossy to call it a contradiction.
        script = self.script_column
        other_script = self._other_script_sql(same_order=False)
        return cll.Or(
            cll.And(cll.NullLevel(self.given_known_column), cll.NullLevel(self.family_known_column)),
            cll.CustomLevel(f'"{script}_l" <> "{script}_r" AND NOT ({other_script})'),
        ).configure(is_null_level=True, label_for_charts="No comparable name")

    def _whole_name_levels(self, high: float, lower: list[float], family_close: cll.Or) -> list:
        """Both parts agree in some form: exact, swapped, close, in another script, nickname."""
        g, f = self.given_column, self.family_column
        tf = {"tf_adjustment_column": self.full_name_column} if self.term_frequency else {}
        t = self.tokens_column
        # "Jove Real, Pastor" vs "Pastor Jove": every part of the shorter name is in the longer.
        tokens_subset = cll.CustomLevel(
            f'len("{t}_l") >= 2 AND len("{t}_r") >= 2 AND '
            f'(list_has_all("{t}_l", "{t}_r") OR list_has_all("{t}_r", "{t}_l"))'
        ).configure(label_for_charts="All parts of one name in the other")
        # "Perrert, R." vs "Richard Perrert": swapped order with a typo or an initial.
        loosest = lower[-1] if lower else high
        swapped_close = cll.CustomLevel(
            f'(jaro_winkler_similarity("{g}_l", "{f}_r") >= {loosest} '
            f"OR {_initial_of(f'{g}_l', f'{f}_r')}) AND "
            f'(jaro_winkler_similarity("{f}_l", "{g}_r") >= {loosest} '
            f"OR {_initial_of(f'{f}_l', f'{g}_r')})"
        ).configure(label_for_charts="Swapped order, close")
        one = self.one_field_column
        full = self.full_name_column
        return [
            cll.ExactMatchLevel(full).configure(label_for_charts="Exact full name", **tf),
            cll.CustomLevel(f'"{one}_l" = "{full}_r" OR "{full}_l" = "{one}_r"').configure(
                label_for_charts="The full name in one field, the same name in two"
            ),
            *self._swapped_one_reading_level(),
            cll.ColumnsReversedLevel(g, f, symmetrical=True).configure(
                label_for_charts="Given and family swapped"
            ),
            cll.And(cll.JaroWinklerLevel(g, high), family_close).configure(
                label_for_charts=f"Both names Jaro-Winkler >= {high}"
            ),
            # No term frequencies: Splink scales them by the level's u, and this level's u is
            # tiny because two scripts rarely meet, not because the name is rare ("zhang wei"
            # is not). The same order and the other order or a slip weigh differently (EM).
            cll.CustomLevel(self._other_script_sql(same_order=True)).configure(
                label_for_charts="Same name in another script (same Latin forms, same order)"
            ),
            cll.CustomLevel(self._other_script_sql(same_order=False)).configure(
                label_for_charts="Same name in another script, reversed or one edit apart"
            ),
            cll.And(self._given_compatible(), family_close).configure(
                label_for_charts="Nickname or initial, family name close"
            ),
            tokens_subset,
            swapped_close,
        ]

    def _swapped_one_reading_level(self) -> list:
        """Swapped order with one reading: one part only is a listed family name ("Chenghao Guo"
        / "Guo Chenghao": no one's family name is Chenghao), or the estate's names settle the
        order (`order_odds`); none without either. The list holds validated lower-case words
        only, so it is written into the SQL as literals; the odds are a validated number."""
        if not self.family_first_surnames and self.order_odds is None:
            return []
        g, f = self.given_column, self.family_column
        listed = "[" + ", ".join(f"'{name}'" for name in sorted(set(self.family_first_surnames))) + "]"
        readings = []
        if self.family_first_surnames:
            readings.append(f'list_contains({listed}, "{g}_l") <> list_contains({listed}, "{f}_l")')
        if self.order_odds is not None:
            # Counts of the left record (the right one's mirror them); each holds at least the
            # record itself, and a name the frozen counts never saw counts as written once.
            gg, gf, fg, ff = (f'greatest("{column}_l", 1)' for column in ROLE_COLUMNS)
            odds = float(self.order_odds)
            readings.append(
                f'NOT list_contains({listed}, "{g}_l") AND NOT list_contains({listed}, "{f}_l") '
                f"AND ({gg} * {ff} >= {odds} * {gf} * {fg} OR {gf} * {fg} >= {odds} * {gg} * {ff})"
            )
        # As common as the commoner of the two full names (Splink takes the greater frequency):
        # without it, "Sato Shota" / "Shota Sato" weighed like a rare name and merged namesakes
        # on a shared city.
        tf = {"tf_adjustment_column": self.full_name_column} if self.term_frequency else {}
        return [
            cll.And(
                cll.ColumnsReversedLevel(g, f, symmetrical=True),
                cll.CustomLevel(" OR ".join(f"({reading})" for reading in readings)),
            ).configure(
                label_for_charts="Given and family swapped, one reading (a family name listed, or the "
                "estate's names settle the order)", **tf
            )
        ]

    def _fuzzy_levels(self, lower: list[float]) -> list:
        g, f = self.given_column, self.family_column
        return [
            cll.And(cll.JaroWinklerLevel(g, threshold), cll.JaroWinklerLevel(f, threshold)).configure(
                label_for_charts=f"Both names Jaro-Winkler >= {threshold}"
            )
            for threshold in lower
        ]

    def _partial_name_levels(self, high: float, family_close: cll.Or) -> list:
        """One part agrees (allowing a slip), the other differs or is missing; then nothing."""
        g, f = self.given_column, self.family_column
        g_known, f_known = self.given_known_column, self.family_known_column
        given_close = cll.Or(cll.JaroWinklerLevel(g, high), self._given_compatible())
        # "Jasmine" / "Jasmien", "Kai" / "Kia": one slip in a short given name, which
        # Jaro-Winkler scores low, with the family name close. Not "only the family name agrees":
        # twins and relatives have names that differ by more than one keystroke.
        given_typo = cll.And(
            cll.CustomLevel(
                f'length("{g_known}_l") >= 3 AND length("{g_known}_r") >= 3 '
                f'AND damerau_levenshtein("{g_known}_l", "{g_known}_r") <= 1'
            ),
            family_close,
        ).configure(label_for_charts="Family name close, given name one typo apart")
        return [
            given_typo,
            # "Müller" vs "Thomas Müller": a form left the given name empty. Not a contradiction
            # like "Anna Müller" vs "Thomas Müller" (relatives, colleagues, twins).
            cll.And(cll.NullLevel(g_known), family_close).configure(
                label_for_charts="Family name close, given name missing or a placeholder on one side"
            ),
            cll.And(cll.NullLevel(f_known), given_close).configure(
                label_for_charts="Given name close, family name missing or a placeholder on one side"
            ),
            cll.ExactMatchLevel(f).configure(
                label_for_charts="Family name only",
                **({"tf_adjustment_column": f} if self.term_frequency else {}),
            ),
            # Only one part agrees, allowing a typo in it: a typo in the family name does not
            # turn twins or relatives ("Anna" / "Greta Müler") into a pair with nothing in common.
            family_close.configure(label_for_charts="Family name close, given names differ"),
            cll.Or(cll.ExactMatchLevel(g), cll.JaroWinklerLevel(g, high)).configure(
                label_for_charts="Given name only"
            ),
            cll.ElseLevel().configure(label_for_charts="Different names"),
        ]

    def _other_script_sql(self, *, same_order: bool) -> str:
        """SQL: two scripts whose Latin forms agree: given with given and family with family
        (`same_order`), or else given + family at most one edit apart in either order (CJK names
        are written family first; one slip of romanisation: "gim" / "kim", "satou" / "sato")."""
        g, f, script = self.given_latin_column, self.family_latin_column, self.script_column
        both = (f'"{script}_l" <> "{script}_r" AND "{g}_l" IS NOT NULL AND "{f}_l" IS NOT NULL '
                f'AND "{g}_r" IS NOT NULL AND "{f}_r" IS NOT NULL')
        if same_order:
            return f'{both} AND "{g}_l" = "{g}_r" AND "{f}_l" = "{f}_r"'
        left = f'("{g}_l" || "{f}_l")'
        rights = (f'("{g}_r" || "{f}_r")', f'("{f}_r" || "{g}_r")')
        return f"{both} AND ({' OR '.join(f'damerau_levenshtein({left}, {r}) <= 1' for r in rights)})"

    def level_ids(self) -> list[str]:
        fuzzy = [f"fuzzy_{t}" for t in sorted(self.thresholds, reverse=True)[1:]]
        one_reading = ["swapped_one_reading"] if self.family_first_surnames or self.order_odds else []
        return [
            "null", "exact", "one_field", *one_reading,
            "swapped", "fuzzy", "other_script", "other_script_close",
            "nickname_or_initial", "tokens_subset", "swapped_close", *fuzzy, "given_typo",
            "given_missing", "family_missing", "family_only", "family_close_only", "given_only", "different",
        ]  # fmt: skip


def _initial_of(left: str, right: str) -> str:
    """SQL: one side is a single letter and it is the other's initial."""
    return (
        f'((length("{left}") = 1 OR length("{right}") = 1) '
        f'AND substr("{left}", 1, 1) = substr("{right}", 1, 1))'
    )
