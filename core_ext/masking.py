"""Masking of personal data in response rows (compiled with Cython).

``mask_rows(rows, {"phone": "phone", "id_no": "id_number", "name": "name"})`` returns copies
of the rows with those fields masked: phone ``138****1234``, resident ID number
``120116********1234``, name ``张*`` / ``欧阳**``, or ``redact`` (all stars). None stays None,
ints are masked as strings, other value types raise ``TypeError``, unknown masks ``ValueError``.
"""

from __future__ import annotations

from ._masking import (
    COMPOUND_SURNAMES,
    MASKS,
    mask_id_number,
    mask_name,
    mask_phone,
    mask_redact,
    mask_rows,
)

__all__ = [
    "COMPOUND_SURNAMES",
    "MASKS",
    "mask_id_number",
    "mask_name",
    "mask_phone",
    "mask_redact",
    "mask_rows",
]
