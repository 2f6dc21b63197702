"""Private keys sealed at rest: AES-256-GCM under a key-encryption key.

The key-encryption key (KEK) comes from ``CITYHUB_KEY_ENCRYPTION_KEY``, else from the secret
key, through HKDF-SHA256; a database dump or backup then holds no usable private key. Each
sealed value is bound to what it is (``context``, e.g. the key's id) as associated data, so a
sealed value cannot be moved onto another row and still open.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

ALG = "A256GCM"


class SealError(Exception):
    """A sealed value does not open with this key (another key, or tampered with)."""


def kek_from(material: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"cityhub key-encryption v1"
    ).derive(material.encode())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def is_sealed(value: Any) -> bool:
    return isinstance(value, dict) and value.get("enc") == ALG


def seal(kek: bytes, plain: dict[str, Any], *, context: str) -> dict[str, str]:
    iv = os.urandom(12)
    data = json.dumps(plain, sort_keys=True).encode()
    ct = AESGCM(kek).encrypt(iv, data, context.encode())
    return {"enc": ALG, "iv": _b64(iv), "ct": _b64(ct)}


def unseal(kek: bytes, sealed: dict[str, Any], *, context: str) -> dict[str, Any]:
    if not is_sealed(sealed):
        raise SealError("not a sealed value")
    try:
        data = AESGCM(kek).decrypt(
            _unb64(str(sealed["iv"])), _unb64(str(sealed["ct"])), context.encode()
        )
    except (InvalidTag, KeyError, ValueError):
        raise SealError(
            "a sealed private key does not open with this key-encryption key "
            "(CITYHUB_KEY_ENCRYPTION_KEY or the secret key changed?)"
        ) from None
    value = json.loads(data)
    if not isinstance(value, dict):
        raise SealError("a sealed value is not an object")
    return value
