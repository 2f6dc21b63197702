"""SQL databases by SQLAlchemy URL: a table per stream, incremental on an updated-at column."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError

from connectors.errors import SourceProtocolError, SourceUnavailable
from connectors.mapping import KindMapping
from connectors.transports.base import Page, Transport, advance, since

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def _quoted(name: str) -> str:
    if not _IDENT.match(name):
        raise SourceProtocolError(f"not a plain SQL identifier: {name!r}")
    return f'"{name}"'


def _reason(exc: BaseException) -> str:
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]


class SqlTransport(Transport):
    protocol = "sql"

    def __init__(self, url: str, *, page_size: int = 2000, connect_timeout: float = 5.0) -> None:
        self.url = url
        self.page_size = page_size
        parsed = make_url(url)
        args: dict[str, Any] = {}
        if parsed.get_backend_name() == "sqlite":
            args = {"timeout": connect_timeout}
        elif parsed.get_backend_name() == "postgresql":
            if parsed.drivername == "postgresql":
                parsed = parsed.set(drivername="postgresql+psycopg")
            args = {"connect_timeout": int(connect_timeout)}
        self._engine: Engine = create_engine(parsed, connect_args=args, pool_pre_ping=True)

    def describe(self) -> str:
        return self._engine.url.render_as_string(hide_password=True)

    def _check(self) -> None:
        try:
            with self._engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            raise SourceUnavailable(f"database {self.describe()}: {_reason(exc)}") from None

    async def check(self) -> None:
        await asyncio.to_thread(self._check)

    def _page(self, mapping: KindMapping, start: str | None, offset: int) -> list[dict[str, Any]]:
        table = _quoted(mapping.stream)
        order = [_quoted(mapping.key)]
        where = ""
        params: dict[str, Any] = {"n": self.page_size, "o": offset}
        if mapping.updated_at:
            order.insert(0, _quoted(mapping.updated_at))
            if start is not None:
                where = f" WHERE {_quoted(mapping.updated_at)} >= :since"
                params["since"] = start
        query = f"SELECT * FROM {table}{where} ORDER BY {', '.join(order)} LIMIT :n OFFSET :o"
        try:
            with self._engine.connect() as conn:
                return [dict(row._mapping) for row in conn.execute(text(query), params)]
        except OperationalError as exc:
            raise SourceUnavailable(f"database {self.describe()}: {_reason(exc)}") from None
        except DBAPIError as exc:
            raise SourceProtocolError(f"table {mapping.stream}: {_reason(exc)}") from None

    async def pull(self, mapping: KindMapping, cursor: Any) -> AsyncIterator[Page]:
        start = since(cursor)
        offset = 0
        while True:
            rows = await asyncio.to_thread(self._page, mapping, start, offset)
            cursor = advance(cursor, mapping, rows)
            yield Page(rows, cursor)
            if len(rows) < self.page_size:
                return
            offset += len(rows)

    async def close(self) -> None:
        self._engine.dispose()
