"""REST/JSON APIs with pagination (httpx): page numbers, offsets or next links.

``pagination``:

* ``"page"``   — ``?page=1&page_size=N``; stops on a short page;
* ``"offset"`` — ``?offset=0&limit=N``; stops on a short page;
* ``"next"``   — the body names the next page's URL (``next``), null on the last.

``items`` is the dotted path of the row list in the body (``"items"``, ``"data.list"``), and
``since_param`` the query parameter that asks for rows updated since the cursor.
Connection failures and 5xx answers are retried twice, then the source counts as down.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import Any, Literal

import httpx

from connectors.errors import SourceProtocolError, SourceUnavailable
from connectors.mapping import KindMapping
from connectors.transports.base import Page, Transport, advance, since
from connectors.transports.write_back import post_signed

Pagination = Literal["page", "offset", "next"]


def dig(body: Any, path: str) -> Any:
    for part in path.split(".") if path else []:
        if not isinstance(body, dict) or part not in body:
            raise SourceProtocolError(f"response has no {path!r}")
        body = body[part]
    return body


class RestTransport(Transport):
    protocol = "rest"

    def __init__(
        self,
        base_url: str,
        *,
        pagination: Pagination = "page",
        items: str = "items",
        next_field: str = "next",
        since_param: str = "updated_since",
        page_size: int = 500,
        headers: dict[str, str] | None = None,
        health_path: str = "/health",
        timeout: float = 10.0,
        retries: int = 2,
        secret: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.secret = secret  # the system's key: signs what the hub writes back
        self.pagination = pagination
        self.items = items
        self.next_field = next_field
        self.since_param = since_param
        self.page_size = page_size
        self.health_path = health_path
        self.retries = retries
        self._client = httpx.AsyncClient(
            base_url=self.base_url, headers=headers or {}, timeout=timeout
        )

    def describe(self) -> str:
        return self.base_url

    async def get_json(self, url: str, params: dict[str, Any] | None = None) -> Any:
        last = ""
        for attempt in range(self.retries + 1):
            if attempt:
                await asyncio.sleep(0.2 * attempt)
            try:
                response = await self._client.get(url, params=params)
            except httpx.TransportError as exc:
                last = f"{type(exc).__name__}: {exc}".rstrip(": ")
                continue
            if response.status_code >= 500:
                last = f"HTTP {response.status_code}"
                continue
            if response.status_code >= 400:
                raise SourceProtocolError(f"GET {url}: HTTP {response.status_code}")
            try:
                return response.json()
            except ValueError:
                raise SourceProtocolError(f"GET {url}: the body is not JSON") from None
        raise SourceUnavailable(f"{self.base_url}{url if url.startswith('/') else ''}: {last}")

    async def check(self) -> None:
        await self.get_json(self.health_path)

    async def pull(self, mapping: KindMapping, cursor: Any) -> AsyncIterator[Page]:
        params: dict[str, Any] = {}
        start = since(cursor)
        if start is not None and mapping.updated_at:
            params[self.since_param] = start
        url: str | None = "/" + mapping.stream.lstrip("/")
        number = 0
        while url is not None:
            if self.pagination == "page":
                params.update(page=number + 1, page_size=self.page_size)
            elif self.pagination == "offset":
                params.update(offset=number * self.page_size, limit=self.page_size)
            elif number == 0:
                params["limit"] = self.page_size
            # a next link carries its own query string: send it as it is
            following = self.pagination == "next" and number > 0
            body = await self.get_json(url, None if following else params)
            rows = dig(body, self.items)
            if not isinstance(rows, list):
                raise SourceProtocolError(f"{url}: {self.items!r} is not a list")
            cursor = advance(cursor, mapping, rows)
            yield Page(rows, cursor)
            number += 1
            if self.pagination == "next":
                nxt = body.get(self.next_field) if isinstance(body, dict) else None
                url, params = (str(nxt), {}) if nxt else (None, params)
            elif len(rows) < self.page_size:
                url = None

    async def write_back(self, path: str, body: Mapping[str, Any]) -> None:
        await post_signed(self._client, self.secret, path, body)

    async def close(self) -> None:
        await self._client.aclose()
