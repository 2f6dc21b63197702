"""Tracking numbers: what a citizen follows a case or an application by.

A tracking number is a capability, so it must prove possession: ``<record key>-<16 random
base-32 characters>`` (80 bits), issued once when the case or application is filed and shown
only in that answer. The hub keeps only its SHA-256 with the record (``tracking_hash``), so
neither the store, nor the secret key, nor knowing this algorithm lets anyone compute or
enumerate numbers. A number is looked up by its key part and accepted only when its hash
equals the stored one (compared in constant time); anything else finds nothing, with the same
answer for an unknown key and a wrong code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from typing import Any

TRACKING_HASH = "tracking_hash"  # the attribute of the record that holds the hash
CODE_LENGTH = 16
MAX_LENGTH = 128  # a longer string is no tracking number: refused before any work


def _code() -> str:
    return base64.b32encode(secrets.token_bytes(10)).decode()[:CODE_LENGTH]


def digest(number: str) -> str:
    return hashlib.sha256(number.strip().upper().encode()).hexdigest()


def issue(key: str) -> tuple[str, str]:
    """A new number for ``key`` and the hash to store with the record."""
    number = f"{key}-{_code()}"
    return number, digest(number)


def key_of(number: str) -> str | None:
    """The record key a number names (not yet proof of anything); None when malformed."""
    text = number.strip().upper()
    if len(text) > MAX_LENGTH:
        return None
    key, _, code = text.rpartition("-")
    return key if key and len(code) == CODE_LENGTH else None


def matches(attrs: Mapping[str, Any], number: str) -> bool:
    """Whether ``number`` is the one issued for the record with these attributes."""
    stored = attrs.get(TRACKING_HASH)
    if not isinstance(stored, str) or not stored:
        return False
    return hmac.compare_digest(stored, digest(number))
