"""Personal data in free text: phone, ID and bank card numbers, plates, detailed addresses.

``find_pii(text)`` lists what it finds as ``PiiSpan(start, end, kind)`` — ``start``/``end``
are string indices (characters, not UTF-8 bytes), in order, never overlapping;
``mask_pii(text)`` returns the text with each of them masked in the style of
``core_ext.masking`` (``138****5678``, ``110105********002X``, a card's last 4, ``津A****5``,
``卫津路**号*栋*单元***室``). The rules are in :mod:`core_ext.reference.pii`, the oracle.
"""

from __future__ import annotations

from .reference.pii import KINDS, PiiKind, PiiSpan
from .reference.pii import find_pii as _find_pii
from .reference.pii import mask_pii as _mask_pii

__all__ = ["KINDS", "PiiKind", "PiiSpan", "find_pii", "mask_pii"]


def find_pii(text: str) -> list[PiiSpan]:
    """Personal data in ``text``: character spans in order, never overlapping."""
    return _find_pii(text)


def mask_pii(text: str) -> str:
    """``text`` with every piece of personal data ``find_pii`` finds masked."""
    return _mask_pii(text)
