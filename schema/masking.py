"""Personal data is masked by default; Step 5's policies decide who may see it unmasked."""

from __future__ import annotations

from typing import Any

from core_ext import mask_rows


def masked(attrs: dict[str, Any], fields: dict[str, str]) -> dict[str, Any]:
    """A copy of ``attrs`` with each present field masked by its mask kind (name/phone/...)."""
    present = {f: kind for f, kind in fields.items() if attrs.get(f)}
    if not present:
        return attrs
    return mask_rows([attrs], present)[0]
