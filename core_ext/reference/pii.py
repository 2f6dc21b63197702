"""Reference (oracle) for ``core_ext.pii``: personal data in free text, in plain Python.

The same scan as the Rust one (``core_ext/src/pii.rs``), written for clarity: ``re`` finds
where a number, a bracket or a province's abbreviation starts, and small rules decide what it
is. Offsets are Python string indices (characters). The rules:

phone      a mobile number: 11 digits 1[3-9]…, or 13 with 86 before them, or written
           3-4-4 with ``-`` or a space between the groups (the same both times); a landline:
           an area code 0[1-9]d(d), ``-`` and 7-8 digits 2-9…, or the area code in brackets
           ``(022)12345678`` (ASCII or full-width, one optional space after the bracket)
id_number  a resident ID: 18 characters (17 digits and a digit or X/x), the GB 11643 check
           digit (ISO 7064 MOD 11-2) right; or the old 15-digit form with a month and day
bank_card  13-19 digits passing the Luhn check (and not an ID number), or 16-19 written in
           groups of 4 (the last 1-4) with a space or ``-`` between them (the same each time)
plate      a province's abbreviation, a letter, an optional ``·``, then 5 letters/digits,
           6 for a new-energy plate (D or F first or last), or 4 and 挂/学/警/港/澳
address    from the house number down: digits followed by 号/号楼/号院/栋/幢/座/单元/室/户/
           楼/层, repeated; after a road (路 街 道 巷 弄 里 胡同) one such part is enough,
           elsewhere two or a flat (室); or a flat written building-door-room, ``12-3-1502``
           (1-3, 1-2 and 3-4 digits, no further ``-``)

A number is always a whole run of digits: a 20-digit number is none of these. Full-width
digits (０-９, as a Chinese input mode types them) count as digits; a masked piece shows
the digits it keeps in ASCII. Masks:
a phone keeps its first 3 digits (5 with 86 before them; a landline its area code) and
its last 4, an ID its
first 6 and last 4 (as ``mask_id_number``), a card its last 4, a plate its province, letter
and last character, an address its words (号, 栋 …) with every digit starred.
"""

from __future__ import annotations

import re
from typing import Literal, NamedTuple

PiiKind = Literal["phone", "id_number", "bank_card", "plate", "address"]
KINDS: tuple[PiiKind, ...] = ("phone", "id_number", "bank_card", "plate", "address")

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
PLATE_SUFFIXES = "挂学警港澳"
ROAD_ENDS = "路街道巷弄里"
UNIT_WORDS = ("号楼", "号院", "号", "栋", "幢", "座", "单元", "室", "户", "楼", "层")
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"

FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
_START = re.compile(f"[0-9]+|[(（]|[{PROVINCES}]")
_DIGITS = re.compile("[0-9]+")
_PLATE_BODY = re.compile("[0-9A-Z]*")
_PLATE_CHAR = re.compile("[0-9A-HJ-NP-Z]+")
_CITY_LETTER = re.compile("[A-HJ-NP-Z]")


class PiiSpan(NamedTuple):
    start: int
    end: int
    kind: PiiKind


def id_check_digit(first17: str) -> str:
    """The GB 11643 check character of an ID number's first 17 digits."""
    return ID_CHECK[sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, d in enumerate(reversed(digits)):
        n = int(d)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def _run_end(text: str, i: int) -> int:
    m = _DIGITS.match(text, i)
    return m.end() if m else i


def _old_id_date(digits: str) -> bool:
    month, day = int(digits[8:10]), int(digits[10:12])
    return 1 <= month <= 12 and 1 <= day <= 31


def _area_code(text: str, i: int, j: int) -> bool:
    return j - i in (3, 4) and text[i] == "0" and text[i + 1] != "0"


def _subscriber_end(text: str, i: int) -> int:
    """End of a landline's 7-8 digit subscriber number starting at ``i`` (or -1)."""
    if i >= len(text) or text[i] not in "23456789":
        return -1
    j = _run_end(text, i)
    return j if j - i in (7, 8) else -1


def _grouped_mobile_end(text: str, j: int) -> int:
    """End of a mobile number's last two groups of 4 after ``text[:j]`` (or -1)."""
    if j >= len(text) or text[j] not in "- ":
        return -1
    k = _run_end(text, j + 1)
    if k - j - 1 != 4 or k >= len(text) or text[k] != text[j]:
        return -1
    end = _run_end(text, k + 1)
    return end if end - k - 1 == 4 else -1


def _grouped_card_end(text: str, j: int) -> int:
    """End of a card number's further groups after its first 4 digits ``text[:j]`` (or -1)."""
    sep = text[j : j + 1]
    if sep not in ("-", " "):
        return -1
    digits, p = 4, j
    while text[p : p + 1] == sep:
        k = _run_end(text, p + 1)
        group = k - p - 1
        if not 1 <= group <= 4:
            break
        digits, p = digits + group, k
        if group < 4:
            break
    return p if 16 <= digits <= 19 else -1


def _dashed_flat_end(text: str, j: int) -> int:
    """End of a flat's ``-door-room`` after its building number ``text[:j]`` (or -1)."""
    if text[j : j + 1] != "-":
        return -1
    k = _run_end(text, j + 1)
    if not 1 <= k - j - 1 <= 2 or text[k : k + 1] != "-":
        return -1
    end = _run_end(text, k + 1)
    return end if 3 <= end - k - 1 <= 4 and text[end : end + 1] != "-" else -1


def _address_end(text: str, i: int) -> int:
    """End of the address parts starting at ``i`` (or -1): see the module's docstring."""
    parts, flat, p = 0, False, i
    while True:
        q = _run_end(text, p)
        if q == p or q - p > 5:
            break
        word = next((w for w in UNIT_WORDS if text.startswith(w, q)), None)
        if word is None:
            break
        parts, flat, p = parts + 1, flat or word == "室", q + len(word)
    if parts == 0:
        return -1
    after_road = (i > 0 and text[i - 1] in ROAD_ENDS) or text[max(0, i - 2) : i] == "胡同"
    return p if after_road or parts >= 2 or flat else -1


def _number_at(text: str, i: int, j: int) -> PiiSpan | None:
    """What the digit run ``text[i:j]`` starts, if anything."""
    n, first = j - i, text[i]
    if _area_code(text, i, j) and j < len(text) and text[j] == "-":
        end = _subscriber_end(text, j + 1)
        if end > 0:
            return PiiSpan(i, end, "phone")
    if (
        n == 17
        and first != "0"
        and j < len(text)
        and text[j] in "Xx"
        and (j + 1 == len(text) or not (text[j + 1].isascii() and text[j + 1].isalnum()))
        and id_check_digit(text[i:j]) == "X"
    ):
        return PiiSpan(i, j + 1, "id_number")
    digits = text[i:j]
    if n == 18 and first != "0" and id_check_digit(digits[:17]) == digits[17]:
        return PiiSpan(i, j, "id_number")
    if n == 15 and first != "0" and _old_id_date(digits):
        return PiiSpan(i, j, "id_number")
    if n == 11 and first == "1" and digits[1] in "3456789":
        return PiiSpan(i, j, "phone")
    if n == 13 and digits[:3] == "861" and digits[3] in "3456789":
        return PiiSpan(i, j, "phone")
    if n == 3 and first == "1" and digits[1] in "3456789":
        end = _grouped_mobile_end(text, j)
        if end > 0:
            return PiiSpan(i, end, "phone")
    if 13 <= n <= 19 and luhn_ok(digits):
        return PiiSpan(i, j, "bank_card")
    if n == 4:
        end = _grouped_card_end(text, j)
        if end > 0 and luhn_ok(text[i:end].replace(text[j], "")):
            return PiiSpan(i, end, "bank_card")
    if n <= 3:
        end = _dashed_flat_end(text, j)
        if end > 0:
            return PiiSpan(i, end, "address")
    if n <= 5:
        end = _address_end(text, i)
        if end > 0:
            return PiiSpan(i, end, "address")
    return None


def _bracketed_landline(text: str, i: int) -> PiiSpan | None:
    j = _run_end(text, i + 1)
    if j == i + 1 or not _area_code(text, i + 1, j) or j >= len(text) or text[j] not in ")）":
        return None
    k = j + 1
    if k < len(text) and text[k] == " ":
        k += 1
    end = _subscriber_end(text, k)
    return PiiSpan(i, end, "phone") if end > 0 else None


def _plate(text: str, i: int) -> PiiSpan | None:
    if not _CITY_LETTER.fullmatch(text[i + 1 : i + 2]):
        return None
    q = i + 2 + (text[i + 2 : i + 3] == "·")
    body = _PLATE_BODY.match(text, q)
    assert body is not None  # the pattern matches the empty string
    s = body.group()
    if not s or not _PLATE_CHAR.fullmatch(s) or not any(c.isdigit() for c in s):
        return None
    if len(s) == 5 or (len(s) == 6 and (s[0] in "DF" or s[5] in "DF")):
        return PiiSpan(i, body.end(), "plate")
    if len(s) == 4 and text[body.end() : body.end() + 1] in tuple(PLATE_SUFFIXES):
        return PiiSpan(i, body.end() + 1, "plate")
    return None


def find_pii(text: str) -> list[PiiSpan]:
    """Personal data in ``text``: spans in order, never overlapping."""
    text = text.translate(FULLWIDTH_DIGITS)  # one character for one: the offsets hold
    spans: list[PiiSpan] = []
    i = 0
    while (m := _START.search(text, i)) is not None:
        i = m.start()
        c = text[i]
        if c.isdigit():
            span = _number_at(text, i, m.end())
            resume = m.end()
        elif c in "(（":
            span, resume = _bracketed_landline(text, i), i + 1
        else:
            span, resume = _plate(text, i), i + 1
        if span is not None:
            spans.append(span)
            resume = span.end
        i = resume
    return spans


def _star_digits(s: str, count: int) -> str:
    """``s`` with its first ``count`` digits starred (the rest, and what is not a digit, kept)."""
    out, seen = [], 0
    for c in s:
        if c.isdigit():
            seen += 1
            out.append("*" if seen <= count else c)
        else:
            out.append(c)
    return "".join(out)


def _phone_head(s: str) -> int:
    """How many leading characters of a phone number stay: the area code or first digits."""
    if s[0] in "(（":
        return next(k for k, c in enumerate(s) if c in ")）") + 1
    sep = next((k for k, c in enumerate(s) if c in "- "), -1)
    if sep > 0:
        return sep
    return 5 if len(s) == 13 else 3


def mask_span(s: str, kind: PiiKind) -> str:
    """One found piece of personal data, masked (see the module's docstring)."""
    if kind == "phone":
        head = _phone_head(s)
        return s[:head] + _star_digits(s[head:], sum(c.isdigit() for c in s[head:]) - 4)
    if kind == "id_number":
        return s[:6] + "*" * (len(s) - 10) + s[-4:]
    if kind == "bank_card":
        return _star_digits(s, sum(c.isdigit() for c in s) - 4)
    if kind == "plate":
        return s[:2] + "*" * (len(s) - 3) + s[-1]
    return "".join("*" if c.isdigit() else c for c in s)


def mask_pii(text: str) -> str:
    """``text`` with every piece of personal data ``find_pii`` finds masked."""
    plain = text.translate(FULLWIDTH_DIGITS)
    out: list[str] = []
    last = 0
    for span in find_pii(plain):
        out.append(text[last : span.start])
        out.append(mask_span(plain[span.start : span.end], span.kind))
        last = span.end
    out.append(text[last:])
    return "".join(out)
