"""The simulated systems' own servers and exports, one function per protocol.

* REST: a Starlette app per system serving each stream with the system's pagination style
  (page / offset / next link) and its updated-since filter; ``/health``; a live status path;
* webhook senders: ``POST /subscriptions`` makes the system push its backlog since a sequence
  number to the callback as HMAC-signed deliveries, the last one marked final, then every row
  appended later (a standing subscription, with heartbeats) until ``DELETE``;
* GraphQL (strawberry): the statistics bureau's Relay connection with ``updatedSince``;
* SQL: a SQLite database file per system, one table per stream;
* file drops: CSV / XLSX / GeoJSON files in a folder per system;
* MQTT: each device's state retained on its own topic, plus the stream's ``$count`` and the
  system's ``$status`` (online; offline as last will).
"""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
import json
import sqlite3
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from connectors.mapping import parse_time
from connectors.transports.webhook import sign
from simcity.sandbox.dataset import Row, SystemData

HEARTBEAT_S = 15.0  # an idle standing subscription hears from its system this often


def _cell(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value


def _since(rows: list[Row], field: str | None, since: str | None) -> list[Row]:
    start = parse_time(since) if since else None
    if start is None or field is None:
        return rows
    return [r for r in rows if (t := parse_time(r.get(field))) is not None and t >= start]


def _nest(path: str, value: Any, extra: dict[str, Any]) -> dict[str, Any]:
    parts = path.split(".")
    body: dict[str, Any] = {parts[-1]: value, **extra}
    for part in reversed(parts[:-1]):
        body = {part: body, "code": 0}
    return body


class Down(BaseHTTPMiddleware):
    """503 for every request while the operator has the system switched off."""

    def __init__(self, app: Any, is_down: Callable[[], bool]) -> None:
        super().__init__(app)
        self.is_down = is_down

    async def dispatch(self, request: Request, call_next: Any) -> Response:
        if self.is_down():
            return JSONResponse({"error": "service unavailable"}, status_code=503)
        response: Response = await call_next(request)
        return response


def rest_app(data: SystemData, is_down: Callable[[], bool]) -> Starlette:
    options = data.spec.options
    style = options.get("pagination", "page")
    items = options.get("items", "items")
    since_param = options.get("since_param", "updated_since")

    def endpoint(stream: str) -> Callable[[Request], Any]:
        mapping = data.mapping(stream)
        path = "/" + stream

        async def serve(request: Request) -> JSONResponse:
            q = request.query_params
            rows = _since(data.streams[stream], mapping.updated_at, q.get(since_param))
            if style == "page":
                size = min(int(q.get("page_size", 100)), 1000)
                page = max(int(q.get("page", 1)), 1)
                chunk = rows[(page - 1) * size : page * size]
                return JSONResponse(_nest(items, chunk, {"page": page, "total": len(rows)}))
            if style == "offset":
                size = min(int(q.get("limit", 100)), 1000)
                offset = max(int(q.get("offset", 0)), 0)
                chunk = rows[offset : offset + size]
                return JSONResponse(_nest(items, chunk, {"total": len(rows)}))
            size = min(int(q.get("limit", 100)), 1000)
            start = int(q.get("cursor", 0))
            chunk = rows[start : start + size]
            nxt = None
            if start + size < len(rows):
                nxt = f"{path}?cursor={start + size}&limit={size}"
                if q.get(since_param):
                    nxt += f"&{since_param}={q[since_param]}"
            return JSONResponse({items: chunk, "next": nxt, "count": len(rows)})

        return serve

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "system": data.system})

    routes = [Route("/health", health)]
    routes += [Route("/" + m.stream, endpoint(m.stream)) for m in data.spec.mappings]
    if data.spec.live_path:
        mapping = data.spec.mappings[0]
        index = {str(r[mapping.key]): r for r in data.streams[mapping.stream]}

        async def live(request: Request) -> JSONResponse:
            row = index.get(request.path_params["id"])
            if row is None:
                return JSONResponse({"error": "not found"}, status_code=404)
            return JSONResponse(
                {"id": row[mapping.key], "status": row.get("status"),
                 "lastHeartbeatAt": row.get(mapping.updated_at or "")}
            )  # fmt: skip

        routes.append(Route(data.spec.live_path.replace("{id}", "{id:str}"), live))
    app = Starlette(routes=routes)
    app.add_middleware(Down, is_down=is_down)
    return app


def webhook_sender_app(
    data: SystemData,
    secret: str,
    is_down: Callable[[], bool],
    batch: int = 500,
    *,
    poll_s: float = 0.25,
    heartbeat_s: float = HEARTBEAT_S,
) -> Starlette:
    """The system's push side: standing subscriptions that receive signed deliveries.

    A subscription first gets the backlog since its sequence number, the backlog's last
    delivery marked ``final``; then it stands: each row appended to the stream later goes out
    (sequenced on, signed as before), and when nothing happens an empty delivery every
    ``heartbeat_s`` says the subscription is alive. It ends when unsubscribed, or when a
    delivery cannot be made (the subscriber resubscribes from the sequence it has: nothing is
    skipped). While the system is switched off it sends nothing.
    """
    tasks: dict[str, asyncio.Task[None]] = {}
    client = httpx.AsyncClient(timeout=30.0)

    async def post(callback: str, body: bytes) -> bool:
        for attempt in range(3):
            try:
                response = await client.post(callback, content=body, headers=sign(secret, body))
                if response.status_code < 300 or response.status_code == 409:  # 409: taken
                    return True
                if response.status_code < 500:
                    return False  # refused: retrying the same delivery would not help
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2 * (attempt + 1))
        return False

    async def deliver(sub: str, callback: str, stream: str, since: int) -> None:
        rows = data.streams.get(stream, [])
        loop = asyncio.get_running_loop()
        sent, backlog, quiet_since = since, True, loop.time()
        try:
            for number in itertools.count(1):
                while is_down() or (
                    not backlog and len(rows) <= sent and loop.time() - quiet_since < heartbeat_s
                ):
                    await asyncio.sleep(poll_s)
                chunk = rows[sent : sent + batch]
                final = backlog and len(rows) - sent <= batch
                body = json.dumps(
                    {
                        "delivery": f"{sub}-{number}",
                        "sequence": sent + len(chunk),
                        "events": [{"eventType": "upsert", **row} for row in chunk],
                        "final": final,
                    },
                    ensure_ascii=False,
                ).encode()
                if not await post(callback, body):
                    return
                sent += len(chunk)
                backlog = backlog and not final
                quiet_since = loop.time()
        finally:
            tasks.pop(sub, None)

    async def subscribe(request: Request) -> JSONResponse:
        body = await request.json()
        stream = body.get("stream")
        if stream not in data.streams or not body.get("callback"):
            return JSONResponse({"error": "need callback and a known stream"}, status_code=400)
        sub = uuid.uuid4().hex[:12]
        since = int(body.get("since") or 0)
        tasks[sub] = asyncio.create_task(deliver(sub, body["callback"], stream, since))
        pending = max(len(data.streams[stream]) - since, 0)
        return JSONResponse({"id": sub, "pending": pending}, status_code=201)

    async def unsubscribe(request: Request) -> Response:
        task = tasks.pop(request.path_params["sub"], None)
        if task is not None:
            task.cancel()
        return Response(status_code=204)

    async def subscriptions(request: Request) -> JSONResponse:
        return JSONResponse({"standing": sorted(tasks)})

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "system": data.system})

    app = Starlette(
        routes=[
            Route("/health", health),
            Route("/subscriptions", subscribe, methods=["POST"]),
            Route("/subscriptions", subscriptions, methods=["GET"]),
            Route("/subscriptions/{sub}", unsubscribe, methods=["DELETE"]),
        ]
    )
    app.add_middleware(Down, is_down=is_down)
    return app


def graphql_app(data: SystemData, is_down: Callable[[], bool]) -> Starlette:
    from strawberry.asgi import GraphQL

    from simcity.sandbox.stats_graphql import schema

    rows = data.streams[data.spec.mappings[0].stream]

    class StatsGraphQL(GraphQL):  # type: ignore[type-arg]
        async def get_context(  # type: ignore[override]
            self, request: Any, response: Any
        ) -> dict[str, Any]:
            return {"request": request, "rows": rows}

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "system": data.system})

    app = Starlette(routes=[Route("/health", health), Route("/graphql", StatsGraphQL(schema))])
    app.add_middleware(Down, is_down=is_down)
    return app


def write_sqlite(data: SystemData, path: Path) -> None:
    """The system's database: one table per stream, columns as the source names them."""
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    conn = sqlite3.connect(tmp)
    try:
        for stream, rows in data.streams.items():
            columns = list(dict.fromkeys(c for r in rows for c in r))
            names = ", ".join(f'"{c}"' for c in columns)  # no declared types: values keep theirs
            conn.execute(f'CREATE TABLE "{stream}" ({names})')
            marks = ", ".join("?" for _ in columns)
            conn.executemany(
                f'INSERT INTO "{stream}" VALUES ({marks})',
                [[_sql(r.get(c)) for c in columns] for r in rows],
            )
            mapping = data.mapping(stream)
            if mapping.updated_at:
                conn.execute(
                    f'CREATE INDEX "ix_{stream}_upd" ON "{stream}" ("{mapping.updated_at}")'
                )
        conn.commit()
    finally:
        conn.close()
    tmp.replace(path)


def _sql(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    return _cell(value)


def write_drops(data: SystemData, folder: Path, period: str = "2026Q1") -> list[Path]:
    """The system's export files for each stream (pattern ``name_*.ext`` → ``name_<period>``)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for stream, rows in data.streams.items():
        name = stream.replace("*", period, 1).replace(".*", "")
        if stream.endswith(".*"):  # both formats: half the rows as CSV, half as XLSX
            half = len(rows) // 2
            written.append(_write_file(folder / f"{name}-a.csv", rows[:half]))
            written.append(_write_file(folder / f"{name}-b.xlsx", rows[half:]))
        else:
            written.append(_write_file(folder / name, rows))
    return written


def _write_file(path: Path, rows: list[Row]) -> Path:
    columns = list(dict.fromkeys(c for r in rows for c in r))
    tmp = path.with_name(path.name + ".part")
    if path.suffix == ".csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(columns)
        for r in rows:
            writer.writerow([_text(r.get(c)) for c in columns])
        tmp.write_bytes(buffer.getvalue().encode("utf-8-sig"))
    elif path.suffix == ".xlsx":
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet("data")
        sheet.append(columns)
        for r in rows:
            sheet.append([_cell(r.get(c)) for c in columns])
        book.save(tmp)
    else:
        features = [
            {"type": "Feature", "geometry": r.get("geometry"),
             "properties": {k: v for k, v in r.items() if k != "geometry"}}
            for r in rows
        ]  # fmt: skip
        body = {"type": "FeatureCollection", "features": features}
        tmp.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)
    return path


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(_cell(value))


async def publish_mqtt(data: SystemData, host: str, port: int) -> None:
    """Retain every device's state on its topic, the stream counts, and ``$status`` online."""
    import aiomqtt

    status = f"binhai/{data.system}/$status"
    will = aiomqtt.Will(status, b"offline", qos=1, retain=True)
    async with aiomqtt.Client(host, port, will=will, timeout=10) as client:
        for stream, rows in data.streams.items():
            mapping = data.mapping(stream)
            prefix = stream.removesuffix("/#")
            for row in rows:
                topic = f"{prefix}/{row[mapping.key]}"
                await client.publish(topic, json.dumps(row, ensure_ascii=False), qos=0, retain=True)
            await client.publish(f"{prefix}/$count", json.dumps({"count": len(rows)}), qos=1,
                                 retain=True)  # fmt: skip
        await client.publish(status, b"online", qos=1, retain=True)


async def set_mqtt_status(system: str, host: str, port: int, online: bool) -> None:
    import aiomqtt

    async with aiomqtt.Client(host, port, timeout=10) as client:
        await client.publish(f"binhai/{system}/$status", b"online" if online else b"offline",
                             qos=1, retain=True)  # fmt: skip
