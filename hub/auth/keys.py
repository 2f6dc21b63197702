"""Asymmetric signing keys in the store, the JWKS, and rotation without downtime.

The newest unretired key signs. ``rotate`` adds a key and retires the previous ones: they sign
nothing more but stay in the JWKS until every token they signed has expired
(``retired_at + token lifetime + leeway``), then ``prune`` drops them. Every worker reloads the
keys when a token names a ``kid`` it does not know, and at least every ``RELOAD_S`` seconds.

Private keys are stored sealed (``hub.sealed``: AES-GCM under the key-encryption key, bound to
the key's id), so the database and its backups hold no usable private key. A key stored in
clear by an older hub is sealed the first time a hub with a key-encryption key loads it; a
key that no longer opens (the key-encryption key changed) signs nothing more: a fresh key
takes over and the old one retires.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from datetime import datetime, timedelta
from typing import Any

from joserfc.jwk import ECKey, KeyParameters, KeySet, RSAKey
from sqlalchemy import Connection, Engine, delete, select, text, update

from hub.auth.accounts import now, utc
from hub.auth.tables import SigningKeyRow
from hub.sealed import SealError, is_sealed, seal, unseal

log = logging.getLogger(__name__)

ALGORITHMS = ("ES256", "RS256")
RELOAD_S = 60.0
MIN_RELOAD_S = 2.0  # unknown kids cannot make us hit the store more often than this


def generate_key(alg: str) -> ECKey | RSAKey:
    kid = f"{time.strftime('%Y%m%d')}-{secrets.token_hex(4)}"
    params: KeyParameters = {"kid": kid, "alg": alg, "use": "sig"}
    if alg == "ES256":
        return ECKey.generate_key("P-256", parameters=params, private=True)
    if alg == "RS256":
        return RSAKey.generate_key(2048, parameters=params, private=True)
    raise ValueError(f"signing algorithm {alg!r}: one of {', '.join(ALGORITHMS)}")


def _context(kid: str) -> str:
    return f"signing-key:{kid}"


class KeyRing:
    def __init__(
        self,
        engine: Engine,
        *,
        alg: str = "ES256",
        token_ttl: int = 900,
        kek: bytes | None = None,
    ) -> None:
        """``kek``: the key-encryption key private keys are sealed with (None: clear, for
        tests that need no sealing)."""
        if alg not in ALGORITHMS:
            raise ValueError(f"signing algorithm {alg!r}: one of {', '.join(ALGORITHMS)}")
        self.engine = engine
        self.alg = alg
        self.token_ttl = token_ttl
        self.kek = kek
        self._lock = threading.Lock()
        self._loaded_at = 0.0
        self._signing: ECKey | RSAKey | None = None
        self._public: dict[str, dict[str, Any]] = {}
        self._unusable: list[str] = []

    # -- store ---------------------------------------------------------------------------

    def add_key(self) -> str:
        key = generate_key(self.alg)
        kid = str(key.kid)
        with self.engine.begin() as conn:
            conn.execute(
                SigningKeyRow.__table__.insert().values(
                    kid=kid,
                    alg=self.alg,
                    private_jwk=self._stored(kid, key.as_dict(private=True)),
                    public_jwk=key.as_dict(private=False),
                    created_at=now(),
                    retired_at=None,
                )
            )
        return kid

    def _stored(self, kid: str, jwk: dict[str, Any]) -> dict[str, Any]:
        return seal(self.kek, jwk, context=_context(kid)) if self.kek is not None else jwk

    def _opened(self, kid: str, stored: dict[str, Any]) -> dict[str, Any]:
        if not is_sealed(stored):
            return stored
        if self.kek is None:
            raise SealError("a sealed private key, and no key-encryption key to open it")
        return unseal(self.kek, stored, context=_context(kid))

    def rotate(self) -> tuple[str, list[str]]:
        """A new signing key; the previous ones retire (still published). Returns the new kid
        and the kids pruned because their tokens have all expired."""
        kid = self.add_key()
        with self.engine.begin() as conn:
            conn.execute(
                update(SigningKeyRow)
                .where(SigningKeyRow.kid != kid, SigningKeyRow.retired_at.is_(None))
                .values(retired_at=now())
            )
        pruned = self.prune()
        self.reload()
        return kid, pruned

    def prune(self) -> list[str]:
        cutoff = now() - timedelta(seconds=self.token_ttl + 300)
        with self.engine.begin() as conn:
            old = conn.execute(
                select(SigningKeyRow.kid).where(
                    SigningKeyRow.retired_at.is_not(None), SigningKeyRow.retired_at < cutoff
                )
            ).scalars()
            kids = list(old)
            if kids:
                conn.execute(delete(SigningKeyRow).where(SigningKeyRow.kid.in_(kids)))
        return kids

    def ensure_key(self) -> None:
        """Create the first signing key if the store has none this hub can open."""
        self.reload()
        if self._signing is None:
            unusable = self._unusable
            self.add_key()
            if unusable:  # sealed under another key-encryption key: sign nothing more
                with self.engine.begin() as conn:
                    conn.execute(
                        update(SigningKeyRow)
                        .where(SigningKeyRow.kid.in_(unusable), SigningKeyRow.retired_at.is_(None))
                        .values(retired_at=now())
                    )
            self.reload()

    def reload(self) -> None:
        cutoff = now() - timedelta(seconds=self.token_ttl + 300)
        with self.engine.connect() as conn:
            rows = conn.execute(select(SigningKeyRow).order_by(SigningKeyRow.created_at)).all()
        signing: ECKey | RSAKey | None = None
        public: dict[str, dict[str, Any]] = {}
        unusable: list[str] = []
        clear: list[tuple[str, dict[str, Any]]] = []
        for row in rows:
            retired: datetime | None = utc(row.retired_at) if row.retired_at else None
            if retired is not None and retired < cutoff:
                continue
            public[row.kid] = dict(row.public_jwk)
            stored = dict(row.private_jwk)
            if self.kek is not None and not is_sealed(stored):
                clear.append((row.kid, stored))
            if retired is None:
                try:
                    jwk = self._opened(row.kid, stored)
                except SealError as exc:
                    log.warning("signing key %s unusable: %s", row.kid, exc)
                    unusable.append(row.kid)
                    continue
                cls = ECKey if row.alg == "ES256" else RSAKey
                signing = cls.import_key(jwk)
        if clear:
            self._seal_clear(clear)
        with self._lock:
            self._signing = signing
            self._public = public
            self._unusable = unusable
            self._loaded_at = time.monotonic()

    def _seal_clear(self, clear: list[tuple[str, dict[str, Any]]]) -> None:
        """Seal the keys an older hub stored in clear (the old bytes are zeroed on SQLite)."""
        assert self.kek is not None
        with self.engine.begin() as conn:
            _secure_delete(conn)
            for kid, jwk in clear:
                conn.execute(
                    update(SigningKeyRow)
                    .where(SigningKeyRow.kid == kid)
                    .values(private_jwk=self._stored(kid, jwk))
                )
        log.info("sealed %d signing key(s) stored in clear", len(clear))

    def _fresh(self) -> None:
        if time.monotonic() - self._loaded_at > RELOAD_S:
            self.reload()

    # -- use -----------------------------------------------------------------------------

    def signing_key(self) -> ECKey | RSAKey:
        self._fresh()
        if self._signing is None:
            self.ensure_key()
        assert self._signing is not None
        return self._signing

    def jwks(self) -> dict[str, Any]:
        self.signing_key()  # the first key is made on first use
        return {"keys": list(self._public.values())}

    def verification_keys(self, kid: str | None) -> KeySet:
        """The published keys; reloaded first when ``kid`` is not among them."""
        self._fresh()
        if kid and kid not in self._public and time.monotonic() - self._loaded_at > MIN_RELOAD_S:
            self.reload()
        return KeySet.import_key_set({"keys": list(self._public.values())})


def _secure_delete(conn: Connection) -> None:
    # SQLite keeps a rewritten row's old bytes in free pages unless told to zero them
    if conn.dialect.name == "sqlite":
        conn.execute(text("PRAGMA secure_delete = ON"))
