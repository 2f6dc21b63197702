"""Errors the store raises, and the one place a failing store becomes an answer.

A store that cannot be written or read (the disk full, the SQLite file read-only, the server
gone or cancelling a statement past its timeout) is not the client's fault and says nothing a
client should read: every path — GraphQL, HTTP routes, readiness — maps it here, by class, to
503 with the code ``STORE_UNAVAILABLE`` and one fixed message, never the driver's text.
"""

from __future__ import annotations

import time

from sqlalchemy import Engine
from sqlalchemy import exc as sa

STORE_UNAVAILABLE = "STORE_UNAVAILABLE"
MESSAGE = "the hub's store cannot be used right now; retry later"
# Readiness says "not ready" this long after any request met a failing store: a full disk
# fails only the writes that need new pages, which a probe's one-row write may not.
RECENT_S = 5.0


class StoreUnavailable(Exception):
    """The configured database cannot be reached or opened."""


# OperationalError: SQLite's "readonly database", "database or disk is full", "disk I/O
# error", "database is locked"; PostgreSQL's lost connection and cancelled statement.
# InternalError: PostgreSQL's read-only transaction / server in recovery. TimeoutError: the
# pool had no connection. Integrity and programming errors are bugs or bad data: not these.
UNAVAILABLE: tuple[type[Exception], ...] = (
    StoreUnavailable,
    sa.OperationalError,
    sa.InternalError,
    sa.TimeoutError,
    sa.DisconnectionError,
)

# per store (its URL): when a request last met it failing
_last_failure: dict[str, float] = {}


def is_store_failure(error: BaseException | None) -> bool:
    """True when ``error`` (or what caused it) is the store failing rather than a bug or the
    client's mistake."""
    seen = 0
    while error is not None and seen < 8:
        if isinstance(error, UNAVAILABLE):
            return True
        error = error.__cause__ or error.__context__
        seen += 1
    return False


def note_failure(engine: Engine, error: BaseException | None) -> bool:
    """``is_store_failure``, remembering the time for readiness."""
    if not is_store_failure(error):
        return False
    _last_failure[str(engine.url)] = time.monotonic()
    return True


def failed_recently(engine: Engine, window_s: float = RECENT_S) -> bool:
    at = _last_failure.get(str(engine.url))
    return at is not None and time.monotonic() - at < window_s


def describe(error: BaseException) -> str:
    """One log line for a store failure: the class and the driver's first line, never the
    statement or its parameters (SQLAlchemy appends both, and they hold the row's data)."""
    seen = 0
    cause: BaseException | None = error
    while cause is not None and seen < 8 and not isinstance(cause, UNAVAILABLE):
        cause = cause.__cause__ or cause.__context__
        seen += 1
    found = cause or error
    driver = getattr(found, "orig", None) or found
    lines = str(driver).strip().splitlines()
    return f"{type(found).__name__}: {lines[0][:200] if lines else ''}".rstrip(": ")


def failure_body() -> dict[str, object]:
    """The JSON body of a 503 for a failing store (routes) — no driver text."""
    return {"error": MESSAGE, "code": STORE_UNAVAILABLE}


class VersionConflict(Exception):
    """A write named the version of a record it acted on, and the stored row is no longer
    that version (another step, on this worker or another, wrote it first): the write is
    refused whole, nothing is lost, and the caller reloads and decides again.

    ``extensions`` is what GraphQL answers with it (graphql-core copies an exception's
    ``extensions`` onto the error), so every path reports the same ``CONFLICT`` code."""

    code = "CONFLICT"

    def __init__(self, kind: str, key: str, expected: int | None, stored: int | None) -> None:
        self.kind, self.key, self.expected, self.stored = kind, key, expected, stored
        if expected is None:
            what = f"{kind} {key} exists already"
        elif stored is None:
            what = f"{kind} {key} is gone"
        else:
            what = f"{kind} {key} is at version {stored}, the step acted on version {expected}"
        super().__init__(f"{what}: it was changed meanwhile; reload it and try again")
        self.extensions = {"code": self.code, "version": stored}
