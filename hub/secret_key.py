"""The hub's secret key: configured, or generated at random into the data folder.

It keys the person entity ids (an HMAC of the ID number) and, through HKDF, the key that seals
the signing and audit keys at rest. With the old built-in value anyone could reverse a person
id back to the ID number; so with no key configured the first start writes 64 random bytes'
worth (``secrets.token_urlsafe(48)``) to ``DATA_DIR/secret.key`` (0600, created atomically so
workers starting together agree) and every later start reads it. A configured key that is the
old built-in value, or shorter than 32 bytes, is accepted on loopback only.
"""

from __future__ import annotations

import ipaddress
import secrets
import time
from pathlib import Path
from typing import Literal

from hub.private_files import create_private, make_private

DEV_SECRET = "dev-only-change-me"  # the old built-in value: refused beyond loopback
MIN_SECRET_BYTES = 32
SECRET_FILE = "secret.key"

Origin = Literal["configured", "generated", "default"]


class SecretFileError(Exception):
    """The secret file cannot be read or written."""


def read_or_create(path: Path) -> str:
    """The secret in ``path``, generated first if the file does not exist."""
    try:
        create_private(path, (secrets.token_urlsafe(48) + "\n").encode())
    except OSError as exc:
        raise SecretFileError(f"cannot create the secret key file {path}: {exc.strerror}") from None
    make_private(path)
    for _ in range(50):  # a file made by hand, still being written: wait briefly
        try:
            value = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SecretFileError(
                f"cannot read the secret key file {path}: {exc.strerror}"
            ) from None
        if value:
            if len(value.encode()) < MIN_SECRET_BYTES:
                raise SecretFileError(f"the secret key file {path} holds fewer than 32 bytes")
            return value
        time.sleep(0.02)
    raise SecretFileError(f"the secret key file {path} is empty")


def is_loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def weakness(value: str) -> str | None:
    """Why a configured secret may not serve beyond loopback; None when it may."""
    if value == DEV_SECRET:
        return "is the built-in development value"
    if len(value.encode()) < MIN_SECRET_BYTES:
        return f"is shorter than {MIN_SECRET_BYTES} bytes"
    return None
