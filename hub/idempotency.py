"""Idempotency keys on filings: a client's retry of the same key gets the first answer, and no
second case or application is filed.

A filing names a key (``Idempotency-Key`` header on HTTP routes, ``idempotencyKey`` in a
GraphQL input). The key is claimed in ``idempotency_keys`` (migration 0007) before the filing,
and the answer kept with it by the filing's own write; a retry from the same principal finds
the answer and gets it again, a retry while the first is still running is told so
(``IDEMPOTENCY_IN_PROGRESS``).
Keys are per principal (stored as a hash of principal and key) and per scope (what was
filed). Answers hold tracking numbers, which the hub otherwise keeps only as hashes: they are
sealed (AES-GCM under the key-encryption key, hub.sealed).

A filing that fails gives its claim up, so the retry files. A filing through ``filed`` keeps
its answer in its own transaction (``Ticket.keep``: the record, the feed entry and the key's
answer commit together or not at all), so a worker dying at any point either filed and kept
the answer, or did neither: a claim left without an answer for ``FILED_STALE_S`` (its worker
died before the filing committed) is taken again and files once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from hub.sealed import seal, unseal
from hub.store.tables import IdempotencyRow

HEADER = "Idempotency-Key"
MAX_KEY = 128
STALE_S = 60.0
# a claim of ``filed`` is taken over sooner: its answer commits with the filing, so a
# takeover never files twice (of two filings of one key the second to commit finds the
# answer kept and rolls back), and a retry after a worker's death waits 10 s, not a minute
FILED_STALE_S = 10.0

Answer = dict[str, Any]


class IdempotencyError(ValueError):
    """A key that cannot be used (empty, too long, not printable ASCII)."""

    code = "BAD_IDEMPOTENCY_KEY"

    @property
    def extensions(self) -> dict[str, object]:
        # what GraphQL answers with it (graphql-core copies an exception's ``extensions``)
        return {"code": self.code}


class InProgress(IdempotencyError):
    """The same key's first filing is still running."""

    code = "IDEMPOTENCY_IN_PROGRESS"


def checked(key: str | None) -> str | None:
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY or not key.isascii() or not key.isprintable():
        raise IdempotencyError(f"an idempotency key is 1 to {MAX_KEY} printable ASCII characters")
    return key


@dataclass
class Ticket:
    """A claimed key, for the filing to keep its answer in its own transaction."""

    keys: Idempotency
    scope: str
    principal: str
    key: str
    kept: bool = False

    def keep(self, answer: Answer) -> Callable[[Connection], None]:
        """The write of ``answer`` for the filing's transaction (``RecordStore.write_versioned``'s
        ``within``): it fails, and the filing with it, if the claim is no longer this one."""

        def write(conn: Connection) -> None:
            if not self.keys.keep_in(conn, self.scope, self.principal, self.key, answer):
                raise InProgress("this idempotency key was taken over by another request")
            self.kept = True

        return write


class Idempotency:
    def __init__(self, engine: Engine, kek: bytes) -> None:
        self.engine = engine
        self.kek = kek

    @staticmethod
    def _id(principal: str, key: str) -> str:
        return hashlib.sha256(f"{principal}\n{key}".encode()).hexdigest()

    def claim(
        self, scope: str, principal: str, key: str, *, stale_s: float = STALE_S
    ) -> Answer | None:
        """None: the key is ours now, file. Else the first filing's answer. A claim without
        an answer for ``stale_s`` (its worker died) is taken over."""
        ident = self._id(principal, key)
        now = datetime.now(UTC)
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(IdempotencyRow).values(
                        scope=scope, key=ident, principal=principal[:128], created_at=now
                    )
                )
            return None
        except IntegrityError:
            pass
        where = (IdempotencyRow.scope == scope, IdempotencyRow.key == ident)
        with self.engine.begin() as conn:
            row = conn.execute(
                select(IdempotencyRow.result, IdempotencyRow.created_at).where(*where)
            ).first()
            if row is None:  # given up in between: ours now
                conn.execute(
                    insert(IdempotencyRow).values(
                        scope=scope, key=ident, principal=principal[:128], created_at=now
                    )
                )
                return None
            if row.result is not None:
                return unseal(self.kek, row.result, context=f"idempotency:{scope}:{ident}")
            claimed = row.created_at
            claimed = claimed if claimed.tzinfo else claimed.replace(tzinfo=UTC)
            if now - claimed > timedelta(seconds=stale_s):
                taken = conn.execute(
                    update(IdempotencyRow)
                    .where(*where, IdempotencyRow.created_at == row.created_at)
                    .values(created_at=now)
                ).rowcount
                if taken:
                    return None
        raise InProgress("the first request with this idempotency key is still running")

    def answer(self, scope: str, principal: str, key: str | None) -> Answer | None:
        """The answer kept for a key, if its filing is done (a look, not a claim)."""
        key = checked(key)
        if key is None:
            return None
        ident = self._id(principal, key)
        with self.engine.connect() as conn:
            kept = conn.execute(
                select(IdempotencyRow.result).where(
                    IdempotencyRow.scope == scope, IdempotencyRow.key == ident
                )
            ).scalar()
        if kept is None:
            return None
        return unseal(self.kek, kept, context=f"idempotency:{scope}:{ident}")

    def keep(self, scope: str, principal: str, key: str, answer: Answer) -> None:
        with self.engine.begin() as conn:
            self.keep_in(conn, scope, principal, key, answer)

    def keep_in(
        self, conn: Connection, scope: str, principal: str, key: str, answer: Answer
    ) -> bool:
        """Keep ``answer`` with the claim, in ``conn``'s transaction; False: no open claim."""
        ident = self._id(principal, key)
        sealed = seal(self.kek, answer, context=f"idempotency:{scope}:{ident}")
        done = conn.execute(
            update(IdempotencyRow)
            .where(
                IdempotencyRow.scope == scope,
                IdempotencyRow.key == ident,
                IdempotencyRow.result.is_(None),
            )
            .values(result=sealed)
        ).rowcount
        return bool(done)

    def give_up(self, scope: str, principal: str, key: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                delete(IdempotencyRow).where(
                    IdempotencyRow.scope == scope,
                    IdempotencyRow.key == self._id(principal, key),
                    IdempotencyRow.result.is_(None),
                )
            )

    def filed(
        self,
        scope: str,
        principal: str,
        key: str | None,
        file: Callable[[Ticket | None], Answer],
    ) -> tuple[Answer, bool]:
        """(answer, replayed): ``file(ticket)``'s answer, or the first one's for a key seen
        before. ``file`` keeps its answer in its own write (``ticket.keep``); one that did not
        (it wrote nothing) has it kept after. Without a key, ``file(None)`` runs as always."""
        key = checked(key)
        if key is None:
            return file(None), False
        first = self.claim(scope, principal, key, stale_s=FILED_STALE_S)
        if first is not None:
            return first, True
        ticket = Ticket(self, scope, principal, key)
        try:
            answer = file(ticket)
        except BaseException:
            self.give_up(scope, principal, key)
            raise
        if not ticket.kept:
            self.keep(scope, principal, key, answer)
        return answer, False


IDEMPOTENCY_KEY_HELP = (
    "Names this filing so a retry never files twice: the same key from the same caller gets "
    f"the first answer again (1 to {MAX_KEY} printable ASCII characters, e.g. a UUID)"
)
