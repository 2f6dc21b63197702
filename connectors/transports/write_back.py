"""Telling a source system what the hub did with its items: a signed JSON POST to the path its
spec declares (``ConnectorSpec.write_back``), signed with the system's key as its webhooks are
(``X-Cityhub-Timestamp`` and ``X-Cityhub-Signature``, :func:`connectors.transports.webhook.sign`),
so the system knows the hub sent it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx

from connectors.errors import ConnectorError, SourceProtocolError, SourceUnavailable
from connectors.transports.webhook import sign


async def post_signed(
    client: httpx.AsyncClient, secret: str | None, path: str, body: Mapping[str, Any]
) -> None:
    """POST ``body`` to ``path``; SourceUnavailable when the system cannot be reached or
    answers 5xx (worth retrying), SourceProtocolError when it refuses (4xx)."""
    if not secret:
        raise ConnectorError(f"{client.base_url}: no key to sign a write-back with")
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    try:
        response = await client.post(path, content=data, headers=sign(secret, data))
    except httpx.TransportError as exc:
        raise SourceUnavailable(f"{client.base_url}{path}: {type(exc).__name__}") from None
    if response.status_code >= 500:
        raise SourceUnavailable(f"POST {path}: HTTP {response.status_code}")
    if response.status_code >= 400:
        raise SourceProtocolError(
            f"POST {path}: HTTP {response.status_code}: {response.text[:200]}"
        )
