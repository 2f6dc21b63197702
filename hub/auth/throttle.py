"""Failed sign-ins and client authentications, counted in the store so every worker sees them.

Failures are counted per key: ``user:NAME`` (a person's account), ``client:ID`` (an OAuth
client) and ``addr:IP`` (where the tries come from; higher limits, as many people may share an
address). After ``delay_after`` failures of a key each further try must wait, twice as long as
the previous wait; after ``lock_after`` the key is locked for ``lock_s``. A try while a key
waits is refused (429 with Retry-After) without checking the secret: nobody sleeps on the
event loop, and the right password does not help while locked. Failures are forgotten
``lock_s`` after the last one; a successful sign-in forgets the account's (not the
address's: an attacker's own account must not clear the address it guesses from).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, delete, select, update
from sqlalchemy.exc import IntegrityError

from hub.auth.config import AuthSettings
from hub.auth.tables import AuthFailureRow

KEY_LENGTH = 200  # the column's width


@dataclass(frozen=True)
class Limits:
    delay_after: int
    lock_after: int
    delay_s: float
    lock_s: int

    def wait_after(self, failures: int) -> float:
        """How long the next try must wait after this many failures (0: at once)."""
        if failures >= self.lock_after:
            return float(self.lock_s)
        if failures < self.delay_after:
            return 0.0
        return min(self.delay_s * 2.0 ** (failures - self.delay_after), float(self.lock_s))


@dataclass(frozen=True)
class Failure:
    key: str
    failures: int
    wait_s: float
    locked: bool


def now() -> datetime:
    return datetime.now(UTC)


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def account_key(kind: str, name: str) -> str:
    return f"{kind}:{name}"[:KEY_LENGTH]


def address_key(host: str | None) -> str:
    return f"addr:{host or 'unknown'}"[:KEY_LENGTH]


class Throttle:
    def __init__(self, engine: Engine, account: Limits, address: Limits) -> None:
        self.engine = engine
        self.account = account
        self.address = address

    @classmethod
    def from_settings(cls, engine: Engine, auth: AuthSettings) -> Throttle:
        account = Limits(auth.login_delay_after, auth.login_lock_after, auth.login_delay_s,
                         auth.login_lock_s)  # fmt: skip
        address = Limits(auth.login_address_delay_after, auth.login_address_lock_after,
                         auth.login_delay_s, auth.login_lock_s)  # fmt: skip
        return cls(engine, account, address)

    def limits(self, key: str) -> Limits:
        return self.address if key.startswith("addr:") else self.account

    def retry_after(self, keys: Sequence[str]) -> int:
        """Whole seconds before the next try of any of these keys (0: may try now)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(AuthFailureRow.locked_until).where(AuthFailureRow.key.in_(list(keys)))
            ).all()
        at = now()
        waits = [
            (_utc(r.locked_until) - at).total_seconds() for r in rows if r.locked_until is not None
        ]
        longest = max(waits, default=0.0)
        return math.ceil(longest) if longest > 0 else 0

    def fail(self, keys: Sequence[str]) -> list[Failure]:
        """Count one failure for each key; what each key must now wait."""
        return [self._fail_one(key) for key in dict.fromkeys(keys)]

    def succeed(self, key: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(AuthFailureRow).where(AuthFailureRow.key == key))

    def _fail_one(self, key: str) -> Failure:
        limits = self.limits(key)
        table = AuthFailureRow.__table__
        for _ in range(5):
            at = now()
            stale = at - timedelta(seconds=limits.lock_s)
            with self.engine.begin() as conn:
                # atomic per row, across workers: a recent count goes up, a stale one restarts
                done = conn.execute(
                    update(table)
                    .where(table.c.key == key, table.c.last_at >= stale)
                    .values(failures=table.c.failures + 1, last_at=at)
                )
                if done.rowcount == 0:
                    done = conn.execute(
                        update(table)
                        .where(table.c.key == key)
                        .values(failures=1, first_at=at, last_at=at, locked_until=None)
                    )
                if done.rowcount == 1:
                    failures = int(
                        conn.execute(
                            select(table.c.failures).where(table.c.key == key)
                        ).scalar_one()
                    )
                    return self._lock(conn, key, limits, failures, at)
            try:
                with self.engine.begin() as conn:
                    conn.execute(
                        table.insert().values(
                            key=key, failures=1, first_at=at, last_at=at, locked_until=None
                        )
                    )
                    # forget what nobody has tried for a while, so the table stays small
                    conn.execute(delete(table).where(table.c.last_at < stale))
                    return self._lock(conn, key, limits, 1, at)
            except IntegrityError:  # another worker counted this key's first failure: again
                continue
        raise RuntimeError("auth failures: could not count a failure after 5 attempts")

    @staticmethod
    def _lock(conn: Connection, key: str, limits: Limits, failures: int, at: datetime) -> Failure:
        wait = limits.wait_after(failures)
        if wait > 0:
            table = AuthFailureRow.__table__
            until = at + timedelta(seconds=wait)
            conn.execute(update(table).where(table.c.key == key).values(locked_until=until))
        return Failure(key, failures, wait, failures >= limits.lock_after)
