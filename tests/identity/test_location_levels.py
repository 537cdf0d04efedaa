"""The location comparison's levels, read straight from the SQL Splink is given: which level a pair
of addresses reaches decides whether birthdate and address may override a name veto."""

from __future__ import annotations

import duckdb
import pytest

from aeglobal_pipeline.identity.settings import load_matching_rules

FIELDS = ("street_norm", "postal_norm", "city_norm")


def _level(left: tuple[str, str, str], right: tuple[str, str, str]) -> str:
    """The first level of the project's location comparison that the pair reaches."""
    [location] = [c for c in load_matching_rules().comparisons if c.name == "location"]
    levels = location.build().get_comparison("duckdb").as_dict()["comparison_levels"]
    columns = {f"{field}_{side}": value for side, values in (("l", left), ("r", right))
               for field, value in zip(FIELDS, values, strict=True)}  # fmt: skip
    for side, (street, postal, _) in (("l", left), ("r", right)):
        columns[f"address_key_{side}"] = f"{street} | {postal}"
    con = duckdb.connect()
    con.execute(f"CREATE TABLE pair AS SELECT {', '.join(f'?::VARCHAR AS {c}' for c in columns)}",
                list(columns.values()))  # fmt: skip
    for name, level in zip(location.level_ids()[1:], levels[1:], strict=True):
        if level["sql_condition"] == "ELSE" or con.execute(
            f"SELECT ({level['sql_condition']}) IS TRUE FROM pair"  # noqa: S608 (the project's own SQL)
        ).fetchone()[0]:
            return name
    raise AssertionError("no level")


HOME = ("45 gledden street", "4703", "clarence park")


@pytest.mark.parametrize(
    ("other", "level"),
    [
        (HOME, "address"),
        (("45 gleden street", "4703", "clarence park"), "address_typo"),  # a slip in the street
        (("45 gledden street", "4730", "clarence park"), "address_typo"),  # in the postal code
        # a slip in each field, and in the city too: still one house (FEBRL3 corrupts fields
        # independently; 44 such pairs of one person were left apart)
        (("45 gleden street", "4730", "clarence prak"), "address_typo"),
        # another house number is the neighbour's address, however close the rest
        (("47 gledden street", "4703", "clarence park"), "postal"),
        (("47 gleden street", "4730", "clarence park"), "postal_typo"),
        (("45 gledden street", "4810", "clarence park"), "city"),  # two digits apart: another area
    ],
)
def test_one_house_with_a_slip_in_its_street_or_postal_code_is_one_address(other, level):
    assert _level(HOME, other) == level
