"""Telemetry ingest over HTTP: ``POST /telemetry`` with a JSON array of readings (or
``{"readings": [...]}``), a bearer token with ``telemetry:write``. Answers what was accepted,
which readings were refused and why (by index), and the alarms raised. A batch is answered
only once it is stored (``hub.state``): a store that cannot take it gets the hub's 503
(``STORE_UNAVAILABLE``), and a reading sent again with the same ``readingId`` is counted among
``duplicates``, not applied twice.

The client writes only for its own devices (``hub.auth.devices``): readings for others are
refused by index ("not a device of this client"); a client bound to no devices gets 403."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from hub.auth.devices import DeviceBinding
from hub.auth.request import BearerRefused, bearer_principal
from hub.auth.scopes import TELEMETRY_WRITE
from hub.live import MAX_BATCH, NOT_A_DEVICE_OF_THIS_CLIENT, ReadingError
from hub.services import HubServices

MAX_BODY = 32 * 1024 * 1024


def routes(hub: HubServices) -> list[BaseRoute]:
    async def telemetry(request: Request) -> JSONResponse:
        try:
            who = await bearer_principal(request, hub.tokens, TELEMETRY_WRITE)
        except BearerRefused as exc:
            return JSONResponse(
                {"error": exc.detail}, status_code=exc.status_code, headers=exc.headers
            )
        owned = who.client.devices if who.client is not None else None
        if not owned:
            return JSONResponse(
                {"error": "this client is bound to no devices (cityhub client devices)"},
                status_code=403,
            )
        binding = DeviceBinding(owned)
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY:
            return JSONResponse({"error": "request body too large"}, status_code=413)
        try:
            body = json.loads(await request.body())
        except (ValueError, RecursionError):  # RecursionError: nested past the parser's depth
            return JSONResponse({"error": "the body is not JSON"}, status_code=400)
        items = body.get("readings") if isinstance(body, dict) else body
        if not isinstance(items, list):
            return JSONResponse(
                {"error": 'send a JSON array of readings or {"readings": [...]}'},
                status_code=400,
            )
        if len(items) > MAX_BATCH:
            return JSONResponse(
                {"error": f"at most {MAX_BATCH} readings per batch"}, status_code=413
            )
        try:
            result = await hub.live.ingest(items, binding.allows)
        except ReadingError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        status = 200 if result.accepted or not items else 422
        if status == 422 and all(
            r["error"] == NOT_A_DEVICE_OF_THIS_CLIENT for r in result.rejected
        ):
            status = 403  # a batch wholly for devices of others
        return JSONResponse(
            {
                "accepted": result.accepted,
                "duplicates": result.duplicates,
                "rejected": result.rejected[:1000],
                "rejectedCount": len(result.rejected),
                "alarms": [json.loads(a.to_json()) for a in result.alarms[:1000]],
                "alarmCount": len(result.alarms),
            },
            status_code=status,
        )

    return [Route("/telemetry", telemetry, methods=["POST"])]
