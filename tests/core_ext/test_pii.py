"""Personal data in free text: the Rust scan vs the plain-Python oracle, and what it finds."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core_ext import PiiSpan, _core, find_pii, mask_pii
from core_ext.reference import pii as ref

# What free text in the city is made of, weighted towards what starts or ends a finding.
PIECES = [
    *"市民反映小区门口积水严重请尽快处理联系我谢谢",
    *ref.PROVINCES[:8],
    *ref.ROAD_ENDS,
    *ref.PLATE_SUFFIXES,
    *ref.UNIT_WORDS,
    "胡同",
    *"0123456789",
    *"0123456789",
    *"ABDFIOXx",
    *"-- ()（）·，。",
    *"１３８０５６",  # full-width digits, as a Chinese input mode types them
    "é",
    "𠀀",
]
FILLER = st.text(
    alphabet="市民反映小区门口积水严重请尽快处理联系电话车牌身份证卡号，。", max_size=12
)


def _luhn_complete(body: str) -> str:
    return next(body + d for d in "0123456789" if ref.luhn_ok(body + d))


mobiles = st.builds(
    lambda second, rest: "1" + second + rest,
    st.sampled_from("3456789"),
    st.text(alphabet="0123456789", min_size=9, max_size=9),
)
landlines = st.builds(
    lambda area, sub, form: form.format(area, sub),
    st.sampled_from(["022", "010", "0571", "0311"]),
    st.builds(
        lambda first, rest: first + rest,
        st.sampled_from("23456789"),
        st.text(alphabet="0123456789", min_size=6, max_size=7),
    ),
    st.sampled_from(["{}-{}", "({}){}", "（{}）{}", "({}) {}"]),
)
id_numbers = st.builds(
    lambda first, rest: first + rest + ref.id_check_digit(first + rest),
    st.sampled_from("123456789"),
    st.text(alphabet="0123456789", min_size=16, max_size=16),
)
cards = st.builds(
    lambda first, rest: _luhn_complete(first + rest),
    st.sampled_from("3456"),
    st.integers(min_value=12, max_value=18).flatmap(
        lambda n: st.text(alphabet="0123456789", min_size=n - 1, max_size=n - 1)
    ),
).filter(lambda card: len(card) not in (15, 18))  # those lengths are read as ID numbers first
grouped_cards = st.builds(
    lambda card, sep: sep.join(card[k : k + 4] for k in range(0, len(card), 4)),
    cards.filter(lambda card: len(card) >= 16),
    st.sampled_from([" ", "-"]),
)
plates = st.builds(
    lambda province, letter, body, form: province + letter + form.format(body),
    st.sampled_from(ref.PROVINCES),
    st.sampled_from("ABCDEFGHJKLMNPQRSTUVWXYZ"),
    st.text(alphabet="0123456789", min_size=4, max_size=4),
    # regular, with a suffix, new-energy (D/F first or last), with a middle dot
    st.sampled_from(["{}5", "{}挂", "{}学", "{}警", "D{}8", "F{}D", "{}8F", "·{}7"]),
)
addresses = st.builds(
    lambda no, building, unit, flat, form: form.format(no, building, unit, flat),
    st.integers(1, 999),
    st.integers(1, 40),
    st.integers(1, 9),
    st.integers(101, 3205),
    st.sampled_from(["{}号{}栋{}单元{}室", "{}号楼{}单元{}室", "{}号", "{1}-{2}-{3}"]),
)
PLANTS: dict[ref.PiiKind, st.SearchStrategy[str]] = {
    "phone": st.one_of(mobiles, landlines),
    "id_number": id_numbers,
    "bank_card": st.one_of(cards, grouped_cards),
    "plate": plates,
    "address": addresses,
}


def test_examples() -> None:
    text = (
        "张先生（电话13812345678，座机022-23456789）身份证11010519491231002X，"
        "车牌津AD12345，住卫津路92号3栋2单元501室。"
    )
    assert [(text[s:e], k) for s, e, k in find_pii(text)] == [
        ("13812345678", "phone"),
        ("022-23456789", "phone"),
        ("11010519491231002X", "id_number"),
        ("津AD12345", "plate"),
        ("92号3栋2单元501室", "address"),
    ]
    assert mask_pii(text) == (
        "张先生（电话138****5678，座机022-****6789）身份证110105********002X，"
        "车牌津A*****5，住卫津路**号*栋*单元***室。"
    )
    assert find_pii("") == [] and mask_pii("") == ""
    quiet = "地铁3号线今天晚点了20分钟"
    assert mask_pii(quiet) is quiet  # nothing found: the same string back


def test_numbers_are_whole_runs() -> None:
    assert find_pii("编号12345678901234567890") == []  # 20 digits: not a phone inside it
    assert find_pii("213812345678") == []  # 12 digits
    assert find_pii("订单1381234567号") == []  # 10 digits
    assert find_pii("3户居民") == [] and find_pii("地铁3号线") == []


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(PIECES),
            st.text(alphabet="0123456789", min_size=1, max_size=20),
            *PLANTS.values(),
        ),
        max_size=40,
    ).map("".join)
)
def test_rust_equals_oracle(text: str) -> None:
    assert _core.find_pii(text) == [tuple(span) for span in ref.find_pii(text)]
    assert mask_pii(text) == ref.mask_pii(text)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            FILLER,
            st.sampled_from(ref.KINDS).flatmap(lambda k: PLANTS[k].map(lambda v: (k, v))),
        ),
        min_size=1,
        max_size=6,
    ),
    FILLER,
)
def test_planted_data_is_found_and_masked(
    plants: list[tuple[str, tuple[ref.PiiKind, str]]], tail: str
) -> None:
    text, expected = "", []
    for filler, (kind, value) in plants:
        if kind == "address":
            filler += "卫津路"
        text += filler
        expected.append(PiiSpan(len(text), len(text) + len(value), kind))
        text += value + "，"
    text += tail
    assert find_pii(text) == expected
    assert ref.find_pii(text) == expected
    masked = mask_pii(text)
    assert len(masked) == len(text)
    for _, (_kind, value) in plants:
        assert value not in masked
    assert masked == ref.mask_pii(text)


@settings(max_examples=300, deadline=None)
@given(id_numbers, st.integers(1, 10), FILLER)
def test_an_id_number_with_a_wrong_check_digit_is_not_one(
    id_number: str, shift: int, filler: str
) -> None:
    wrong = id_number[:17] + ref.ID_CHECK[(ref.ID_CHECK.index(id_number[17]) + shift) % 11]
    spans = find_pii(f"{filler}证件{wrong}，")
    assert all(span.kind != "id_number" for span in spans)
    assert spans == ref.find_pii(f"{filler}证件{wrong}，")


@settings(max_examples=300, deadline=None)
@given(cards, st.integers(1, 9))
def test_a_card_failing_luhn_is_not_one(card: str, shift: int) -> None:
    wrong = card[:-1] + str((int(card[-1]) + shift) % 10)
    assert find_pii(f"卡号{wrong}。") == []
    assert find_pii(f"卡号{card}。") == [PiiSpan(2, 2 + len(card), "bank_card")]


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("(022) 23456789", "(022) ****6789"),
        ("+8613912345678", "+86139****5678"),
        ("139-1234-5678", "139-****-5678"),
        ("京A·12345", "京A*****5"),
        ("京A1234学", "京A****学"),
        ("南门胡同7号", "南门胡同*号"),
        ("阳光小区5栋501室", "阳光小区*栋***室"),
        ("海滨路12号和谐家园12-3-1502", "海滨路**号和谐家园**-*-****"),
        ("2024-01-15到12-3-15", "2024-01-15到12-3-15"),  # a date, a short last part
        ("身份证120116900101123", "身份证120116*****1123"),  # the old 15-digit form
        ("卡号6222 0212 3456 7890 128", "卡号**** **** **** ***0 128"),
        ("电话１３８１２３４５６７８，３号线", "电话138****5678，３号线"),  # full-width digits
        ("卡号6222-0212-3456-7890-127", "卡号6222-0212-3456-7890-127"),  # Luhn wrong
    ],
)
def test_forms(text: str, masked: str) -> None:
    assert mask_pii(text) == masked == ref.mask_pii(text)


def test_long_text_released_gil_same_answer() -> None:
    text = "市民反映：卫津路92号3栋2单元501室的张先生13812345678。" * 2000
    assert len(text.encode()) > 16 * 1024  # scanned with the GIL released
    assert find_pii(text) == ref.find_pii(text)
    assert mask_pii(text) == ref.mask_pii(text)
