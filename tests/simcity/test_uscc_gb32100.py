"""GB 32100-2015 unified social credit codes: check characters, parsing, clear rejections."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schema.uscc import (
    ALPHABET,
    USCCError,
    is_valid_uscc,
    make_uscc,
    normalize_uscc,
    org_code_check_char,
    parse_uscc,
    uscc_check_char,
    validate_uscc,
)

# Codes published by the firms themselves / the standard's own example.
KNOWN_VALID = [
    "914403001922038216",  # 华为技术有限公司
    "9144030071526726XG",  # 深圳市腾讯计算机系统有限公司 (organisation-code check 'X')
    "91330100716105852F",  # 阿里巴巴（中国）有限公司
    "91110000600037341L",
    "91350100M000100Y43",  # GB 32100-2015's worked example
]


@pytest.mark.parametrize("code", KNOWN_VALID)
def test_known_real_codes_validate(code: str) -> None:
    assert validate_uscc(code) == code
    assert is_valid_uscc(code)
    assert uscc_check_char(code[:17]) == code[17]
    assert org_code_check_char(code[8:16]) == code[16]


def test_parts() -> None:
    parts = parse_uscc("914403001922038216")
    assert parts.registration_authority == "9"
    assert parts.org_type == "1"
    assert parts.division == "440300"
    assert parts.org_code == "192203821"
    assert parts.check == "6"
    assert parts.org_type_name == "企业"


def test_make_uscc_binhai() -> None:
    code = make_uscc("9", "1", "120116", "MA05L2X4")
    assert code == "91120116MA05L2X44C"
    assert validate_uscc(code) == code


@pytest.mark.parametrize(
    ("code", "fragment"),
    [
        ("91440300192203821", "18 characters, got 17"),
        ("9144030019220382166", "18 characters, got 19"),
        ("914403001922038217", "check character (18) is '7', but the first 17 characters give '6'"),
        ("914403001922038206", "character 17 '0' is not the organisation-code check character"),
        ("91440300I92203821X", "character 9 'I' is not allowed (I, O, Z, S and V are never used)"),
        ("9144030071526726xg", "character 17 'x' is not allowed (lower case: use capitals)"),
        ("B14403001922038216", "character 1 'B' is not a registration-authority code"),
        ("941403001922038216", "character 2 '4' is not an organisation type"),
        ("9144A3001922038216", "characters 3-8 '44A300' must be a 6-digit administrative division"),
        ("91440300192203821-", "character 18 '-' is not allowed"),
    ],
)
def test_rejections_name_the_problem(code: str, fragment: str) -> None:
    with pytest.raises(USCCError) as info:
        validate_uscc(code)
    assert fragment in str(info.value)
    assert not is_valid_uscc(code)


def test_not_a_string() -> None:
    with pytest.raises(USCCError, match="must be a string, got int"):
        validate_uscc(914403001922038216)


def test_org_code_check_can_be_skipped() -> None:
    # A code whose organisation code is off but whose final check matches its 17 characters.
    first17 = "91120116MA05L2X40"
    code = first17 + uscc_check_char(first17)
    with pytest.raises(USCCError, match="organisation-code check"):
        validate_uscc(code)
    assert validate_uscc(code, check_org_code=False) == code


def test_normalize() -> None:
    assert normalize_uscc(" 9144 0300 1922 0382 16 ") == "914403001922038216"
    assert normalize_uscc("9144030071526726xg") == "9144030071526726XG"


def test_every_single_character_change_is_caught() -> None:
    code = KNOWN_VALID[0]
    for pos in range(18):
        for ch in ALPHABET:
            if ch == code[pos]:
                continue
            altered = code[:pos] + ch + code[pos + 1 :]
            assert not is_valid_uscc(altered, check_org_code=False), altered


_BODY = st.text(alphabet=ALPHABET, min_size=8, max_size=8)


@given(_BODY, st.sampled_from(["110105", "120116", "440300"]))
def test_made_codes_always_validate(body: str, division: str) -> None:
    code = make_uscc("9", "1", division, body)
    assert validate_uscc(code) == code
    assert org_code_check_char(body) in "0123456789X"


def test_transpositions_mostly_caught() -> None:
    rng = random.Random(7)
    caught = total = 0
    for _ in range(300):
        body = "".join(rng.choice(ALPHABET) for _ in range(8))
        code = make_uscc("9", "1", "120116", body)
        i = rng.randrange(2, 16)
        swapped = code[:i] + code[i + 1] + code[i] + code[i + 2 :]
        if swapped != code:
            total += 1
            caught += not is_valid_uscc(swapped)
    assert caught == total
