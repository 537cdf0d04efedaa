"""The E.164 normaliser of the dbt Python model int_phone_numbers: a value we write back must
normalise to itself, or the next run would plan the same write again."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

MODEL = Path(__file__).resolve().parents[2] / "dbt_project/models/intermediate/int_phone_numbers.py"


def _load_to_e164():
    spec = importlib.util.spec_from_file_location("int_phone_numbers", MODEL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.to_e164


to_e164 = _load_to_e164()


def test_national_and_international_forms_agree():
    assert to_e164("030 1234567", "DE") == to_e164("+49 30 1234567", None) == "+49301234567"
    assert to_e164("(212) 555-0147", "US") == "+12125550147"
    assert to_e164("call me maybe", "DE") is None
    assert to_e164(None, "DE") is None


@given(
    prefix=st.sampled_from(["", "0", "+61 ", "+61 (0)", "+33 ", "+49 0", "00 44 "]),
    digits=st.text(alphabet="0123456789 ", min_size=6, max_size=18),
    region=st.sampled_from(["AU", "FR", "DE", "GB", "US", "JP", None]),
)
def test_normalised_numbers_are_a_fixpoint(prefix, digits, region):
    first = to_e164(prefix + digits, region)
    if first is not None:
        assert to_e164(first, region) == first
        assert to_e164(first, None) == first
