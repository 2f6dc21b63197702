"""Masking of personal data (Cython) vs the plain-Python oracle."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import core_ext
from core_ext import _masking
from core_ext.reference import masking as ref

MASK_NAMES = list(ref.MASKS)


def test_examples() -> None:
    rows = [
        {"phone": "13812341234", "idno": "120116199001011234", "name": "张三", "x": 1},
        {"phone": 13812341234, "idno": "12011619900101123X", "name": "欧阳娜娜"},
        {"phone": None, "name": "张"},
        {"other": "kept"},
    ]
    masks = {"phone": "phone", "idno": "id_number", "name": "name"}
    out = core_ext.mask_rows(rows, masks)
    assert out == [
        {"phone": "138****1234", "idno": "120116********1234", "name": "张*", "x": 1},
        {"phone": "138****1234", "idno": "120116********123X", "name": "欧阳**"},
        {"phone": None, "name": "*"},
        {"other": "kept"},
    ]
    # inputs untouched, outputs are copies
    assert rows[0]["phone"] == "13812341234"
    assert out[3] is not rows[3]
    assert core_ext.mask_rows([], masks) == []
    assert core_ext.mask_rows([{"a": "x"}], {"a": "redact"}) == [{"a": "*"}]


def test_names() -> None:
    assert _masking.mask_name("欧阳") == "欧*"  # a two-character name: surname 欧
    assert _masking.mask_name("司马相如") == "司马**"
    assert _masking.mask_name("王小明") == "王**"
    assert _masking.mask_name("") == ""
    assert _masking.COMPOUND_SURNAMES == ref.COMPOUND_SURNAMES
    assert tuple(_masking.MASKS) == ref.MASKS


def test_short_values_fully_masked() -> None:
    assert _masking.mask_phone("123456") == "******"
    assert _masking.mask_phone("1234567") == "1234567"
    assert _masking.mask_id_number("123456789") == "*********"


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="unknown mask"):
        core_ext.mask_rows([{"a": "x"}], {"a": "hash"})
    with pytest.raises(TypeError, match="row 1 must be a dict"):
        core_ext.mask_rows([{"a": "x"}, ["a"]], {"a": "phone"})  # type: ignore[list-item]
    with pytest.raises(TypeError, match="field 'a'"):
        core_ext.mask_rows([{"a": 1.5}], {"a": "phone"})
    with pytest.raises(TypeError, match="field 'a'"):
        core_ext.mask_rows([{"a": True}], {"a": "phone"})
    with pytest.raises(TypeError, match="list"):
        core_ext.mask_rows(({"a": "x"},), {"a": "phone"})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="dict"):
        core_ext.mask_rows([{"a": "x"}], [("a", "phone")])  # type: ignore[arg-type]


surnames = st.sampled_from(sorted(ref.COMPOUND_SURNAMES))
texts = st.one_of(
    st.text(max_size=24),
    st.builds(lambda s, t: s + t, surnames, st.text(max_size=4)),
    st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True),
    st.from_regex(r"[0-9]{17}[0-9X]", fullmatch=True),
)
values = st.one_of(st.none(), texts, st.integers(-(10**15), 10**15))
field_names = st.sampled_from(["phone", "idno", "name", "addr", "note"])
rows_st = st.lists(st.dictionaries(field_names, values, max_size=5), max_size=8)
masks_st = st.dictionaries(field_names, st.sampled_from(MASK_NAMES), max_size=5)


# rows of dicts of strings are slow to draw on a loaded 2-core machine: the health check would
# fail the run on generation time, not on a wrong answer
@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(rows_st, masks_st)
def test_matches_reference(rows: list[dict[str, Any]], masks: dict[str, str]) -> None:
    assert core_ext.mask_rows(rows, masks) == ref.mask_rows(rows, masks)


@given(texts)
def test_single_masks_match_reference(s: str) -> None:
    assert _masking.mask_phone(s) == ref.mask_phone(s)
    assert _masking.mask_id_number(s) == ref.mask_id_number(s)
    assert _masking.mask_name(s) == ref.mask_name(s)
    assert _masking.mask_redact(s) == ref.mask_redact(s)
    # masking never changes the length and is idempotent
    for f in (_masking.mask_phone, _masking.mask_id_number, _masking.mask_name):
        assert len(f(s)) == len(s)
        assert f(f(s)) == f(s)
