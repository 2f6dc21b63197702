"""A remote GraphQL API: one Relay connection per stream, paged with ``first``/``after``.

The stream is the root field (``firmStatistics``); the selection is built from the mapping's
native field names, so nested values come as JSON scalars. The connection takes
``updatedSince`` for incremental pulls.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx

from connectors.errors import SourceProtocolError, SourceUnavailable
from connectors.mapping import KindMapping
from connectors.transports.base import Page, Transport, advance, since


def selection(mapping: KindMapping) -> list[str]:
    names = [mapping.key, mapping.source_id, *mapping.fields]
    if mapping.point:
        names += list(mapping.point)
    if mapping.geometry:
        names.append(mapping.geometry)
    if mapping.updated_at:
        names.append(mapping.updated_at)
    return list(dict.fromkeys(names))


class GraphQLTransport(Transport):
    protocol = "graphql"

    def __init__(
        self,
        url: str,
        *,
        page_size: int = 500,
        headers: dict[str, str] | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.url = url
        self.page_size = page_size
        self._client = httpx.AsyncClient(headers=headers or {}, timeout=timeout)

    def describe(self) -> str:
        return self.url

    async def execute(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        try:
            response = await self._client.post(
                self.url, json={"query": query, "variables": variables or {}}
            )
        except httpx.TransportError as exc:
            raise SourceUnavailable(f"{self.url}: {type(exc).__name__}: {exc}") from None
        if response.status_code >= 500:
            raise SourceUnavailable(f"{self.url}: HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            raise SourceProtocolError(
                f"{self.url}: HTTP {response.status_code}, not JSON"
            ) from None
        if body.get("errors"):
            raise SourceProtocolError(f"{self.url}: {body['errors'][0].get('message')}")
        return body.get("data")

    async def check(self) -> None:
        await self.execute("{ __typename }")

    async def pull(self, mapping: KindMapping, cursor: Any) -> AsyncIterator[Page]:
        fields = " ".join(selection(mapping))
        query = (
            "query Pull($first: Int!, $after: String, $since: String) { "
            f"{mapping.stream}(first: $first, after: $after, updatedSince: $since) "
            f"{{ edges {{ node {{ {fields} }} }} pageInfo {{ hasNextPage endCursor }} }} }}"
        )
        variables: dict[str, Any] = {"first": self.page_size, "after": None, "since": None}
        if mapping.updated_at:
            variables["since"] = since(cursor)
        while True:
            data = await self.execute(query, variables)
            connection = (data or {}).get(mapping.stream)
            if not isinstance(connection, dict):
                raise SourceProtocolError(f"{self.url}: no connection {mapping.stream!r}")
            rows = [edge["node"] for edge in connection.get("edges", [])]
            cursor = advance(cursor, mapping, rows)
            yield Page(rows, cursor)
            info = connection.get("pageInfo") or {}
            if not info.get("hasNextPage"):
                return
            variables["after"] = info.get("endCursor")

    async def close(self) -> None:
        await self._client.aclose()
