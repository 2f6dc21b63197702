"""The unified social credit code (统一社会信用代码), GB 32100-2015.

An 18-character code every legal person and organisation in China carries::

    9 1 120116 MA05L2X4 4 C
    | | |      |        | `- position 18: check character (mod 31 over the 31-symbol alphabet)
    | | |      `--------+--- positions 9-17: organisation code, GB 11714 (8 body + 1 check char)
    | | `------------------- positions 3-8: administrative division (GB/T 2260), e.g. 120116
    | `--------------------- position 2: organisation type within the registration authority
    `----------------------- position 1: registration authority (9 = market regulation, ...)

The alphabet is the digits and the capital letters without I, O, Z, S and V.

This module is self-contained (no imports from the rest of the project) so the schema can
use it as a scalar, connectors can validate with it and the simulated city can mint codes.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = [
    "ALPHABET",
    "ORG_TYPES",
    "USCC",
    "USCCError",
    "is_valid_uscc",
    "make_uscc",
    "normalize_uscc",
    "org_code_check_char",
    "parse_uscc",
    "uscc_check_char",
    "validate_uscc",
]

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
"""The 31 symbols a code may use; a symbol's value is its index here."""

_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))  # 1, 3, 9, 27, 19, 26, 16, ...
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)

ORG_TYPES: dict[str, dict[str, str]] = {
    "1": {"1": "机关", "2": "事业单位", "3": "中央编办直接管理机构编制的群众团体", "9": "其他"},
    "2": {"1": "外国常住新闻机构", "9": "其他"},
    "3": {
        "1": "律师执业机构",
        "2": "公证处",
        "3": "基层法律服务所",
        "4": "司法鉴定机构",
        "5": "仲裁委员会",
        "9": "其他",
    },
    "4": {"1": "外国在华文化中心", "9": "其他"},
    "5": {"1": "社会团体", "2": "民办非企业单位", "3": "基金会", "9": "其他"},
    "6": {
        "1": "外国旅游部门常驻代表机构",
        "2": "港澳台地区旅游部门常驻内地（大陆）代表机构",
        "9": "其他",
    },
    "7": {"1": "宗教活动场所", "2": "宗教院校", "9": "其他"},
    "8": {"1": "基层工会", "9": "其他"},
    "9": {"1": "企业", "2": "个体工商户", "3": "农民专业合作社"},
    "A": {"1": "军队事业单位", "9": "其他"},
    "N": {"1": "组级集体经济组织", "2": "村级集体经济组织", "3": "乡镇级集体经济组织", "9": "其他"},
    "Y": {"1": "其他"},
}
"""Registration-authority code → {organisation-type code → meaning} (GB 32100 appendix A)."""

REGISTRATION_AUTHORITIES: dict[str, str] = {
    "1": "机构编制",
    "2": "外交",
    "3": "司法行政",
    "4": "文化",
    "5": "民政",
    "6": "旅游",
    "7": "宗教",
    "8": "工会",
    "9": "工商（市场监管）",
    "A": "中央军委改革和编制办公室",
    "N": "农业",
    "Y": "其他",
}


class USCCError(ValueError):
    """A unified social credit code is malformed; the message says what is wrong."""


class USCC(NamedTuple):
    """The parts of a valid code."""

    code: str
    registration_authority: str
    org_type: str
    division: str
    org_code: str
    check: str

    @property
    def authority_name(self) -> str:
        return REGISTRATION_AUTHORITIES[self.registration_authority]

    @property
    def org_type_name(self) -> str:
        return ORG_TYPES[self.registration_authority][self.org_type]


def _gb11714_value(ch: str) -> int:
    # GB 11714 values digits as themselves and letters A..Z as 10..35.
    return int(ch) if ch.isdigit() else ord(ch) - 55


def org_code_check_char(body: str) -> str:
    """The GB 11714 check character ('0'-'9' or 'X') of an 8-character organisation-code body."""
    if len(body) != 8:
        raise USCCError(f"organisation-code body must be 8 characters, got {len(body)}")
    for pos, ch in enumerate(body, start=1):
        if ch not in _VALUE:
            raise USCCError(
                f"organisation-code body character {pos} {ch!r} is not one of {ALPHABET}"
            )
    c = 11 - sum(_gb11714_value(ch) * w for ch, w in zip(body, _ORG_WEIGHTS, strict=True)) % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)


def uscc_check_char(first17: str) -> str:
    """The GB 32100 check character (position 18) of the first 17 characters of a code."""
    if len(first17) != 17:
        raise USCCError(f"need the first 17 characters to compute a check, got {len(first17)}")
    total = 0
    for pos, (ch, w) in enumerate(zip(first17, _WEIGHTS, strict=True), start=1):
        value = _VALUE.get(ch)
        if value is None:
            raise USCCError(f"character {pos} {ch!r} is not one of {ALPHABET}")
        total += value * w
    return ALPHABET[(31 - total % 31) % 31]


def normalize_uscc(code: str) -> str:
    """Strip surrounding and inner blanks and upper-case, as people type codes."""
    return "".join(code.split()).upper()


def parse_uscc(code: object, *, check_org_code: bool = True) -> USCC:
    """Validate ``code`` strictly (no normalisation) and return its parts.

    Raises USCCError with a message naming the first thing wrong: the type, the length, a
    character outside the alphabet (with its position), an unknown registration authority or
    organisation type, a non-numeric division, a wrong organisation-code check character, or
    a wrong final check character (with the expected one).
    """
    if not isinstance(code, str):
        raise USCCError(f"a unified social credit code must be a string, got {type(code).__name__}")
    if len(code) != 18:
        raise USCCError(f"a unified social credit code has 18 characters, got {len(code)}")
    for pos, ch in enumerate(code, start=1):
        if ch not in _VALUE:
            hint = " (lower case: use capitals)" if ch.upper() in _VALUE else ""
            if ch.upper() in "IOZSV":
                hint = " (I, O, Z, S and V are never used)"
            raise USCCError(f"character {pos} {ch!r} is not allowed{hint}")
    authority, org_type = code[0], code[1]
    types = ORG_TYPES.get(authority)
    if types is None:
        raise USCCError(
            f"character 1 {authority!r} is not a registration-authority code "
            f"(one of {''.join(ORG_TYPES)})"
        )
    if org_type not in types:
        raise USCCError(
            f"character 2 {org_type!r} is not an organisation type of registration authority "
            f"{authority} ({REGISTRATION_AUTHORITIES[authority]}); allowed: {''.join(types)}"
        )
    division = code[2:8]
    if not division.isdigit():
        raise USCCError(f"characters 3-8 {division!r} must be a 6-digit administrative division")
    org_code = code[8:17]
    if check_org_code:
        expected_org = org_code_check_char(org_code[:8])
        if org_code[8] != expected_org:
            raise USCCError(
                f"character 17 {org_code[8]!r} is not the organisation-code check character "
                f"of {org_code[:8]} (GB 11714 gives {expected_org!r})"
            )
    expected = uscc_check_char(code[:17])
    if code[17] != expected:
        raise USCCError(
            f"check character (18) is {code[17]!r}, but the first 17 characters give {expected!r}"
        )
    return USCC(code, authority, org_type, division, org_code, code[17])


def validate_uscc(code: object, *, check_org_code: bool = True) -> str:
    """Return ``code`` if it is a valid code, else raise USCCError saying what is wrong."""
    return parse_uscc(code, check_org_code=check_org_code).code


def is_valid_uscc(code: object, *, check_org_code: bool = True) -> bool:
    try:
        parse_uscc(code, check_org_code=check_org_code)
    except USCCError:
        return False
    return True


def make_uscc(authority: str, org_type: str, division: str, org_body: str) -> str:
    """Build a valid code from its parts; both check characters are computed.

    ``org_body`` is the 8-character organisation-code body (without its GB 11714 check).
    """
    if authority not in ORG_TYPES or org_type not in ORG_TYPES[authority]:
        raise USCCError(f"unknown registration authority / organisation type {authority}{org_type}")
    if len(division) != 6 or not division.isdigit():
        raise USCCError(f"division must be 6 digits, got {division!r}")
    first17 = f"{authority}{org_type}{division}{org_body}{org_code_check_char(org_body)}"
    return first17 + uscc_check_char(first17)
