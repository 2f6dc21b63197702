"""Engines for the store URL: SQLite in WAL mode by default, PostgreSQL by URL."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import SQLAlchemyError

from hub.config import ENV_PREFIX, mask_url
from hub.store.errors import StoreUnavailable


def _json(value: Any) -> str:
    # Keep Chinese text readable in the database rather than \u-escaped.
    return json.dumps(value, ensure_ascii=False)


def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the hub's readers run while an ingest writes; busy_timeout rides out short locks.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    # 16 MB of page cache per connection (SQLite's default is 2 MB): the readings' indexes
    # are written at every device's pages, and misses cost more than the inserts themselves
    cursor.execute("PRAGMA cache_size=-16384")
    # A checkpoint every ~40 MB of WAL (SQLite's default: 4 MB). An ingest batch rewrites the
    # readings' index pages of every device, so with the default each commit paid a checkpoint
    # copying them all back; now one copy serves several commits. Durability is unchanged:
    # with synchronous=NORMAL in WAL a commit is in the WAL file, which survives a crash of the
    # process (the hub's promise; an OS crash may lose the last commits, with or without this).
    cursor.execute("PRAGMA wal_autocheckpoint=10000")
    cursor.close()


def create_store_engine(url: str, *, statement_timeout_s: float | None = None) -> Engine:
    """``statement_timeout_s`` (PostgreSQL): the server cancels a statement running longer;
    None: the ``statement_timeout_s`` setting (default 30 s), 0: no limit."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 10}, json_serializer=_json)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            # psycopg 3 is the driver we ship; plain postgresql:// would ask for psycopg2.
            parsed = parsed.set(drivername="postgresql+psycopg")
        if statement_timeout_s is None:
            from hub.config import load_settings

            statement_timeout_s = load_settings().statement_timeout_s
        connect: dict[str, Any] = {"connect_timeout": 5}
        if statement_timeout_s > 0:
            # A hung server or a held lock must not hold a request (and its worker thread) for
            # good: the server cancels the statement, the request gets STORE_UNAVAILABLE.
            connect["options"] = f"-c statement_timeout={round(statement_timeout_s * 1000)}"
        return create_engine(
            parsed, pool_pre_ping=True, connect_args=connect, json_serializer=_json
        )
    raise StoreUnavailable(
        f"{ENV_PREFIX}DATABASE_URL: unsupported database {parsed.get_backend_name()!r} "
        "(use sqlite:/// or postgresql://)"
    )


def ping(engine: Engine) -> None:
    """Raise StoreUnavailable (one line, naming the setting) when the database can't be used."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        shown = mask_url(engine.url.render_as_string(hide_password=False))
        raise StoreUnavailable(
            f"{ENV_PREFIX}DATABASE_URL: cannot connect to {shown}: {reason}"
        ) from None


# One row in the lease table (migration 0005) that readiness rewrites: a real committed write,
# since SQLite opens a read-only file, or a connection set query_only, and happily runs a
# write transaction that is rolled back.
_PROBE = text(
    "INSERT INTO sync_lease (name, holder, expires_at) VALUES ('readiness', :holder, :at) "
    "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at"
)


def probe_write(engine: Engine, holder: str) -> None:
    """Raise StoreUnavailable when the store cannot take a write now (read-only, full, gone,
    not migrated). The message is one line without the driver's text."""
    ping(engine)
    try:
        with engine.begin() as conn:
            conn.execute(_PROBE, {"holder": holder[:128], "at": datetime.now(UTC)})
    except SQLAlchemyError as exc:
        kind = type(getattr(exc, "orig", None) or exc).__name__
        raise StoreUnavailable(f"the store does not take writes ({kind})") from None
