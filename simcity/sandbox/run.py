"""Run the simulated city: 28 source systems on their real protocols, on 127.0.0.1.

:class:`Sandbox` builds every system's data (:mod:`simcity.sandbox.dataset`), writes the
databases and drop folders, starts the HTTP systems (REST, webhook senders, GraphQL) each on
its own port, an MQTT broker (in-process, :mod:`simcity.sandbox.broker`, or an external one
such as Mosquitto by URL)
with the telemetry retained on it, and a control server; then it writes the endpoints file
the hub's connectors read (``CITYHUB_SOURCES``).

The city runs on a clock (:class:`simcity.clock.SimClock`: real time, or ``speed`` times
faster): its generated dates are shifted to the clock's start, and unless ``streams`` is off,
the living city's streams (:mod:`simcity.sandbox.streams`) keep it moving.

The control server (``control`` in the endpoints file) lets tests and operators misbehave the
city: ``POST /admin/systems/{id}/down`` and ``/up`` switch a system off and on,
``POST /admin/late-updates`` applies a batch of late changes, ``POST /admin/incidents/{kind}``
(body ``{"at": "SITE" | "LON,LAT"}``) makes an incident happen, ``GET /admin/status`` reports.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import socket
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from connectors.mapping import parse_time
from connectors.transports.localserver import LocalServer
from connectors.transports.mqtt import broker_address
from simcity.clock import SimClock
from simcity.sandbox import protocols, streams
from simcity.sandbox.dataset import SystemData, build, read_city
from simcity.sandbox.status_callback import status_routes

HTTP_PROTOCOLS = ("rest", "webhook", "graphql")
Log = Callable[[str], None]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ensure_city(folder: Path, seed: int) -> dict[str, list[dict[str, Any]]]:
    """The demo city of this seed, generated into ``folder`` unless it is already there."""
    from simcity.binhai.generate import GENERATOR_VERSION, generate

    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        manifest = {}
    if (manifest.get("seed"), manifest.get("scale"), manifest.get("generator_version")) != (
        seed,
        1,
        GENERATOR_VERSION,
    ):
        generate(folder, seed=seed, scale=1)
    return read_city(folder)


class Sandbox:
    def __init__(
        self,
        workdir: Path,
        city_dir: Path,
        *,
        seed: int = 2019,
        down: set[str] | None = None,
        mqtt_url: str | None = None,
        log: Log | None = None,
        clock: SimClock | None = None,
        live: bool = True,
        rates: dict[str, float] | None = None,
    ) -> None:
        self.workdir = workdir
        self.city_dir = city_dir
        self.seed = seed
        self.down = set(down or ())
        self.switched_off: set[str] = set()
        self.mqtt_url = mqtt_url
        self.log = log or (lambda message: None)
        self.systems: dict[str, SystemData] = {}
        self.servers: list[LocalServer] = []
        self.endpoints: dict[str, Any] = {}
        self._broker: Any = None
        self._secrets: dict[str, str] = {}
        self.clock = clock or SimClock()
        self.live = live
        self.rates = dict(rates or {})
        self.city: streams.LiveCity | None = None
        self._living: asyncio.Task[None] | None = None

    @property
    def endpoints_file(self) -> Path:
        return self.workdir / "endpoints.json"

    async def start(self) -> dict[str, Any]:
        t0 = time.perf_counter()
        unknown = self.down - {s for s in _catalog()}
        if unknown:
            raise ValueError(f"unknown system(s) for --down: {', '.join(sorted(unknown))}")
        # the endpoints file holds the webhook secrets: this user's alone
        self.workdir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.workdir.chmod(0o700)
        city = await asyncio.to_thread(ensure_city, self.city_dir, self.seed)
        self.log(f"demo city (seed {self.seed}) ready in {time.perf_counter() - t0:.1f} s")
        self.systems = await asyncio.to_thread(build, self.seed, city, self.clock.shift)
        del city
        systems: dict[str, dict[str, Any]] = {}
        await self._start_mqtt()
        for system, data in self.systems.items():
            systems[system] = await self._start_system(system, data)
        control = LocalServer(self._control_app())
        await control.start()
        self.servers.append(control)
        assert self.mqtt_url is not None
        host, port = broker_address(self.mqtt_url)
        self.city = streams.LiveCity(
            self.clock, self.seed, self.systems, host, port, self.rates, self.log
        )
        self.endpoints = {
            "seed": self.seed,
            "clock": {"start": self.clock.start.isoformat(), "speed": self.clock.speed},
            "live": self.live,
            "pid": os.getpid(),
            "control": control.url,
            "mqtt": self.mqtt_url,
            "down": sorted(self.down),
            "systems": systems,
        }
        tmp = self.endpoints_file.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(json.dumps(self.endpoints, ensure_ascii=False, indent=2))
        tmp.replace(self.endpoints_file)
        if self.live:
            self._living = asyncio.create_task(streams.run(self.city), name="living city")
        self.log(
            f"{len(systems)} systems up in {time.perf_counter() - t0:.1f} s "
            f"({len(self.down)} down); endpoints in {self.endpoints_file}"
        )
        return self.endpoints

    async def _start_mqtt(self) -> None:
        if self.mqtt_url:
            return
        from simcity.sandbox.broker import MqttBroker

        self._broker = await MqttBroker().start()
        self.mqtt_url = self._broker.url

    async def _start_system(self, system: str, data: SystemData) -> dict[str, Any]:
        protocol = data.spec.protocol
        down = system in self.down
        entry: dict[str, Any] = {"protocol": protocol}
        if protocol in HTTP_PROTOCOLS:
            if down:
                url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
            else:
                app = self._http_app(system, data)
                server = LocalServer(app)
                await server.start()
                self.servers.append(server)
                url = server.url
            entry["url"] = url + ("/graphql" if protocol == "graphql" else "")
            if protocol == "webhook" or data.spec.write_back:  # signs its pushes or callbacks
                entry["secret"] = self._secret(system)
        elif protocol == "sql":
            path = self.workdir / "db" / f"{system}.db"
            path.parent.mkdir(parents=True, exist_ok=True)
            if down:
                path.unlink(missing_ok=True)
            else:
                await asyncio.to_thread(protocols.write_sqlite, data, path)
            entry["url"] = f"sqlite:///file:{path.resolve()}?mode=ro&uri=true"
        elif protocol == "filedrop":
            folder = self.workdir / "drops" / system
            if down:
                _remove_tree(folder)
            else:
                _remove_tree(folder)
                await asyncio.to_thread(protocols.write_drops, data, folder)
            entry["path"] = str(folder.resolve())
        elif protocol == "mqtt":
            assert self.mqtt_url is not None
            host, port = broker_address(self.mqtt_url)
            if down:
                await protocols.set_mqtt_status(system, host, port, online=False)
            else:
                await protocols.publish_mqtt(data, host, port)
            entry.update(url=self.mqtt_url, status_topic=f"binhai/{system}/$status")
        self.log(f"  {system:<20} {protocol:<8} {'DOWN' if down else 'up'}")
        return entry

    def _secret(self, system: str) -> str:
        return self._secrets.setdefault(system, secrets.token_hex(16))

    def _http_app(self, system: str, data: SystemData) -> Starlette:
        def is_down() -> bool:
            return system in self.switched_off

        if data.spec.protocol == "webhook":
            app = protocols.webhook_sender_app(data, self._secret(system), is_down)
        elif data.spec.protocol == "graphql":
            app = protocols.graphql_app(data, is_down)
        else:
            app = protocols.rest_app(data, is_down)
        if data.spec.write_back:  # the hub's status changes of its cases (behind its Down)
            app.router.routes.extend(status_routes(data, self._secret(system), self.clock.now))
        return app

    # -- control -------------------------------------------------------------------------

    def _control_app(self) -> Starlette:
        async def status(request: Request) -> JSONResponse:
            return JSONResponse(
                {
                    system: {
                        "protocol": data.spec.protocol,
                        "up": system not in self.down and system not in self.switched_off,
                        "rows": {s: len(r) for s, r in data.streams.items()},
                        "imperfections": dict(data.flaws),
                    }
                    for system, data in self.systems.items()
                }
            )

        async def switch(request: Request) -> JSONResponse:
            system, state = request.path_params["system"], request.path_params["state"]
            data = self.systems.get(system)
            if data is None or state not in ("up", "down"):
                return JSONResponse({"error": "unknown system or state"}, status_code=404)
            if state == "down":
                self.switched_off.add(system)
            else:
                self.switched_off.discard(system)
            if data.spec.protocol == "mqtt" and self.mqtt_url:
                host, port = broker_address(self.mqtt_url)
                await protocols.set_mqtt_status(system, host, port, online=state == "up")
            if data.spec.protocol not in (*HTTP_PROTOCOLS, "mqtt"):
                return JSONResponse({"error": "only HTTP and MQTT systems switch"}, 400)
            return JSONResponse({"system": system, "state": state})

        async def late(request: Request) -> JSONResponse:
            return JSONResponse(await self.late_updates())

        async def incident(request: Request) -> JSONResponse:
            try:
                body = await request.json() if await request.body() else {}
            except ValueError:
                return JSONResponse({"error": "the body is not JSON"}, status_code=400)
            at = body.get("at") if isinstance(body, dict) else None
            if at is not None and not isinstance(at, str):
                return JSONResponse({"error": "at: SITE or LON,LAT"}, status_code=400)
            assert self.city is not None
            try:
                answer = await streams.trigger(
                    self.city, request.path_params["kind"], streams.Where.parse(at)
                )
            except KeyError:
                streams.load_modules()
                known = ", ".join(sorted(streams.INCIDENTS))
                return JSONResponse({"error": f"unknown incident; known: {known}"}, 404)
            except ValueError as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
            return JSONResponse(answer)

        async def incidents(request: Request) -> JSONResponse:
            streams.load_modules()
            return JSONResponse(
                {k: {"description": i.description, "alarms": list(i.alarms)}
                 for k, i in sorted(streams.INCIDENTS.items())}
            )  # fmt: skip

        return Starlette(
            routes=[
                Route("/admin/status", status),
                Route("/admin/systems/{system}/{state}", switch, methods=["POST"]),
                Route("/admin/late-updates", late, methods=["POST"]),
                Route("/admin/incidents", incidents),
                Route("/admin/incidents/{kind}", incident, methods=["POST"]),
            ]
        )

    async def late_updates(self) -> dict[str, int]:
        """Changes that arrive after a first sync: edits, a new row, and a late arrival.

        The finance registry edits 5 firms (updated now, after every row it had) and adds one
        firm whose update time is 5 minutes *before* its newest row — a late arrival that a
        cursor without overlap would miss; the hotline pushes 3 new cases.
        """
        changed: dict[str, int] = {}
        data = self.systems["finance-registry"]
        mapping = data.spec.mappings[0]
        rows = data.streams[mapping.stream]
        times = [parse_time(r.get(mapping.updated_at or "")) for r in rows]
        newest = max(t for t in times if t is not None)
        for row in rows[:5]:
            row["employees"] = int(row.get("employees") or 0) + 1
            row[mapping.updated_at or ""] = (newest + timedelta(minutes=1)).isoformat()
        arrival = dict(rows[5])
        arrival[mapping.key] = f"{arrival[mapping.key]}-L"
        arrival[mapping.source_id] = arrival[mapping.source_id]
        arrival[mapping.updated_at or ""] = (newest - timedelta(minutes=5)).isoformat()
        rows.append(arrival)
        changed["finance-registry"] = 6
        hotline = self.systems["service-hotline"]
        cases = hotline.streams["cases"]
        for i in range(3):
            case = dict(cases[i])
            case["caseKey"] = f"{case['caseKey']}-L{i}"
            case["workOrderNo"] = f"{case['workOrderNo']}-L{i}"
            cases.append(case)
        changed["service-hotline"] = 3
        return changed

    async def stop(self) -> None:
        if self._living is not None:
            self._living.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._living
            self._living = None
        await asyncio.gather(*(s.stop() for s in self.servers), return_exceptions=True)
        self.servers.clear()
        if self._broker is not None:
            with contextlib.suppress(Exception):
                await self._broker.stop()
            self._broker = None
        self.endpoints_file.unlink(missing_ok=True)


def _catalog() -> list[str]:
    from simcity.binhai.systems import SYSTEMS

    return [s.id for s in SYSTEMS]


def _remove_tree(folder: Path) -> None:
    if folder.is_dir():
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()


async def run_until_stopped(sandbox: Sandbox, stop: asyncio.Event) -> None:
    await sandbox.start()
    try:
        await stop.wait()
    finally:
        await sandbox.stop()
