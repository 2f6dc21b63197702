"""The audit key: an Ed25519 key that signs the audit chain's checkpoints.

Asymmetric, so that whoever holds only the public key (``cityhub audit public-key``) verifies
checkpoints and nobody but the hub can make them: the old HMAC checkpoints were signed with the
secret key, which whoever read the data folder (or knew the old default) could use too. The
key file (``DATA_DIR/audit-key.json``, 0600, created atomically) holds the public key and the
private key sealed under the key-encryption key. A key's id is the first 16 hex digits of the
SHA-256 of its raw public key, so a PEM public key names its own id.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from hub.private_files import create_private, make_private
from hub.sealed import SealError, seal, unseal

ALG = "Ed25519"


class AuditKeyError(Exception):
    """The audit key cannot be read, opened or parsed."""


def _raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public: Ed25519PublicKey) -> str:
    return hashlib.sha256(_raw(public)).hexdigest()[:16]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class AuditVerifier:
    """Public audit keys by id."""

    keys: dict[str, Ed25519PublicKey]

    def verify(self, kid: str, body: bytes, signature: str) -> bool:
        key = self.keys.get(kid)
        if key is None:
            return False
        try:
            key.verify(_unb64(signature), body)
        except (InvalidSignature, ValueError):
            return False
        return True

    @classmethod
    def from_pem_files(cls, paths: list[Path]) -> AuditVerifier:
        keys: dict[str, Ed25519PublicKey] = {}
        for path in paths:
            try:
                key = serialization.load_pem_public_key(path.read_bytes())
            except (OSError, ValueError) as exc:
                raise AuditKeyError(f"{path}: not a PEM public key ({exc})") from None
            if not isinstance(key, Ed25519PublicKey):
                raise AuditKeyError(f"{path}: not an Ed25519 public key")
            keys[key_id(key)] = key
        return cls(keys)


class AuditSigner:
    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        self.public = private.public_key()
        self.kid = key_id(self.public)

    def sign(self, body: bytes) -> str:
        return _b64(self._private.sign(body))

    def public_pem(self) -> str:
        return self.public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()

    def verifier(self) -> AuditVerifier:
        return AuditVerifier({self.kid: self.public})

    @classmethod
    def load_or_create(cls, path: Path, kek: bytes) -> AuditSigner:
        """The key in ``path``; a new one is made first when there is none (one file, whoever
        of several workers gets there first)."""
        if not path.exists():
            private = Ed25519PrivateKey.generate()
            kid = key_id(private.public_key())
            raw = private.private_bytes(
                serialization.Encoding.Raw,
                serialization.PrivateFormat.Raw,
                serialization.NoEncryption(),
            )
            document = {
                "alg": ALG,
                "kid": kid,
                "public": _b64(_raw(private.public_key())),
                "private": seal(kek, {"d": _b64(raw)}, context=f"audit-key:{kid}"),
            }
            create_private(path, (json.dumps(document, indent=2) + "\n").encode())
        make_private(path)
        return cls._read(path, kek)

    @classmethod
    def _read(cls, path: Path, kek: bytes) -> AuditSigner:
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            kid = str(document["kid"])
            opened = unseal(kek, document["private"], context=f"audit-key:{kid}")
            private = Ed25519PrivateKey.from_private_bytes(_unb64(str(opened["d"])))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise AuditKeyError(f"cannot read the audit key {path}: {exc}") from None
        except SealError as exc:
            raise AuditKeyError(f"the audit key {path}: {exc}") from None
        signer = cls(private)
        if signer.kid != kid:
            raise AuditKeyError(f"the audit key {path} does not match its id")
        return signer

    @staticmethod
    def read_public(path: Path) -> AuditVerifier:
        """The public half of the key file (no key-encryption key needed)."""
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            public = Ed25519PublicKey.from_public_bytes(_unb64(str(document["public"])))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise AuditKeyError(f"cannot read the audit key {path}: {exc}") from None
        return AuditVerifier({key_id(public): public})
