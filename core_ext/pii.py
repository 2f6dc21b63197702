"""Personal data in free text: phone, ID and bank card numbers, plates, detailed addresses.

``find_pii(text)`` lists what it finds as ``PiiSpan(start, end, kind)`` — ``start``/``end``
are string indices (characters, not UTF-8 bytes), in order, never overlapping;
``mask_pii(text)`` returns the text with each of them masked in the style of
``core_ext.masking`` (``138****5678``, ``110105********002X``, a card's last 4, ``津A****5``,
``卫津路**号*栋*单元***室``). One pass in Rust (``core_ext/src/pii.rs``, the GIL released
for long texts); the rules are in :mod:`core_ext.reference.pii`, the oracle.
"""

from __future__ import annotations

from typing import cast

from . import _core
from .reference.pii import KINDS, PiiKind, PiiSpan

__all__ = ["KINDS", "PiiKind", "PiiSpan", "find_pii", "mask_pii"]


def find_pii(text: str) -> list[PiiSpan]:
    """Personal data in ``text``: character spans in order, never overlapping."""
    return [PiiSpan(s, e, cast(PiiKind, k)) for s, e, k in _core.find_pii(text)]


def mask_pii(text: str) -> str:
    """``text`` with every piece of personal data ``find_pii`` finds masked (the same object
    when there is none)."""
    return _core.mask_pii(text)
