"""A source system's status callback: where the hub tells it what became of one of its cases.

Systems whose spec declares ``write_back`` (the hotline, the mailbox) take
``POST <write_back path>`` (the case's source id as ``{id}``) with ``{"status": label, "at":
ISO time, "note": text}``, signed with the system's key as its webhooks are. The case's status
and update time change in the system, as its own staff would change them: a REST system's
row in place (its updated-since filter hands it out again), a webhook system's change also
as a new event on its stream (its subscriptions push it). ``GET`` on the same path says the
case's status as the system has it now.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from connectors.transports.webhook import SignatureError, verify
from simcity.sandbox.dataset import Row, SystemData

MAX_LABEL = 32
MAX_NOTE = 500


def status_routes(data: SystemData, secret: str, now: Callable[[], datetime]) -> list[Route]:
    """The callback's routes for ``data``'s system (none if it takes no write-back); ``now``:
    the city's time, stamped as the case's update time."""
    path = data.spec.write_back
    if path is None:
        return []
    mapping = data.spec.mappings[0]
    rows = data.streams[mapping.stream]
    status_field = mapping.native_names.get("status", "status")
    updated_field = mapping.updated_at or "updatedAt"
    notes: dict[str, str | None] = {}  # the last note the hub sent, by source id

    def latest(source_id: str) -> Row | None:
        # the stream is an event log on a webhook system: the last row of a case is its state
        return next((r for r in reversed(rows) if str(r.get(mapping.source_id)) == source_id), None)

    def state(row: Row) -> dict[str, Any]:
        source_id = str(row[mapping.source_id])
        return {
            "id": source_id,
            "status": row.get(status_field),
            "updatedAt": row.get(updated_field),
            "note": notes.get(source_id),
        }

    async def read(request: Request) -> JSONResponse:
        row = latest(request.path_params["id"])
        if row is None:
            return JSONResponse({"error": "no such case"}, status_code=404)
        return JSONResponse(state(row))

    async def update(request: Request) -> JSONResponse:
        body = await request.body()
        try:
            verify(secret, request.headers, body)
        except SignatureError as exc:
            return JSONResponse({"error": str(exc)}, status_code=401)
        try:
            given = _parse(body)
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        source_id = request.path_params["id"]
        row = latest(source_id)
        if row is None:
            return JSONResponse({"error": "no such case"}, status_code=404)
        row[status_field] = given["status"]
        row[updated_field] = now().replace(microsecond=0).isoformat()
        notes[source_id] = given.get("note")
        if data.spec.protocol == "webhook":
            rows.append(dict(row))  # the change as an event: pushed to the subscribers
        return JSONResponse(state(row))

    route = path.replace("{id}", "{id:str}")
    return [Route(route, update, methods=["POST"]), Route(route, read, methods=["GET"])]


def _parse(body: bytes) -> dict[str, Any]:
    try:
        given = json.loads(body)
    except ValueError:
        raise ValueError("the body is not JSON") from None
    if not isinstance(given, dict):
        raise ValueError("the body is an object: {status, at, note}")
    status = given.get("status")
    if not isinstance(status, str) or not status.strip() or len(status) > MAX_LABEL:
        raise ValueError(f"status: the case's status label, 1 to {MAX_LABEL} characters")
    note = given.get("note")
    if note is not None and (not isinstance(note, str) or len(note) > MAX_NOTE):
        raise ValueError(f"note: text of at most {MAX_NOTE} characters")
    return {"status": status.strip(), "at": given.get("at"), "note": note}
