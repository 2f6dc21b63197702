"""The ``cityhub`` commands for source systems: the simulated city, syncs, status, quarantine."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from hub.cli.common import CliError, err, fail, open_store, out, progress_bar
from hub.config import load_settings

sandbox_app = typer.Typer(
    help="The simulated city: Binhai's 28 source systems on their real protocols.",
    no_args_is_help=True,
)
sources_app = typer.Typer(help="The source systems the hub syncs from.", no_args_is_help=True)
quarantine_app = typer.Typer(
    help="Records the hub refused, with the reason (nothing is dropped silently).",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(sandbox_app, name="sandbox")
    app.add_typer(sources_app, name="sources")
    app.add_typer(quarantine_app, name="quarantine")
    app.command("sync")(sync)


# -- sandbox ---------------------------------------------------------------------------------


def _sandbox_dir() -> Path:
    return load_settings().data_dir / "sandbox"


@sandbox_app.command("up")
def sandbox_up(
    seed: Annotated[int | None, typer.Option(help="Demo-city seed [CITYHUB_DEMO_SEED]")] = None,
    down: Annotated[
        list[str] | None, typer.Option("--down", help="Start with this system down (repeatable)")
    ] = None,
    mqtt_url: Annotated[
        str | None,
        typer.Option(help="Use this MQTT broker (e.g. Mosquitto) instead of the in-process one"),
    ] = None,
    speed: Annotated[
        float, typer.Option(help="The city's clock: city seconds per real second")
    ] = 1.0,
    start: Annotated[
        str | None,
        typer.Option(help="The city's time at start (ISO 8601 with zone); default: now"),
    ] = None,
    live: Annotated[
        bool,
        typer.Option("--live/--frozen", help="Run the streams and random incidents (default)"),
    ] = True,
    rate: Annotated[
        list[str] | None,
        typer.Option("--rate", help="Override a stream's rate: NAME=VALUE (repeatable)"),
    ] = None,
) -> None:
    """Start the 28 simulated systems and write the endpoints file; runs until Ctrl-C."""
    from simcity.clock import SimClock
    from simcity.sandbox.run import Sandbox, run_until_stopped

    rates: dict[str, float] = {}
    for item in rate or ():
        name, sep, value = item.partition("=")
        try:
            rates[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep or not name.strip():
            fail(f"--rate {item!r}: NAME=NUMBER")
    try:
        clock = SimClock(speed=speed)
        if start:
            clock = SimClock(start=datetime.fromisoformat(start), speed=speed)
    except ValueError as exc:
        fail(f"the clock: {exc}")

    settings = load_settings(**({"demo_seed": seed} if seed is not None else {}))
    workdir = settings.data_dir / "sandbox"
    pidfile = workdir / "sandbox.pid"
    if pidfile.is_file() and _alive(int(pidfile.read_text() or 0)):
        fail(
            f"the sandbox already runs (pid {pidfile.read_text().strip()}); `cityhub sandbox down`"
        )
    city_dir = settings.data_dir / "demo" / f"binhai-{settings.demo_seed}-x1"
    sandbox = Sandbox(
        workdir,
        city_dir,
        seed=settings.demo_seed,
        down=set(down or ()),
        mqtt_url=mqtt_url,
        log=lambda message: err.print(message, highlight=False),
        clock=clock,
        live=live,
        rates=rates,
    )

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        workdir.mkdir(parents=True, exist_ok=True)
        pidfile.write_text(str(os.getpid()))
        try:
            await run_until_stopped(sandbox, stop)
        finally:
            pidfile.unlink(missing_ok=True)

    try:
        asyncio.run(main())
    except ValueError as exc:
        raise CliError(str(exc)) from None
    err.print("sandbox stopped")


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


@sandbox_app.command("down")
def sandbox_down(
    timeout: Annotated[float, typer.Option(help="Seconds to wait for it to stop")] = 60.0,
) -> None:
    """Stop the sandbox that `cityhub sandbox up` started (in another terminal or background)."""
    pidfile = _sandbox_dir() / "sandbox.pid"
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        fail(f"no sandbox is running (no {pidfile})")
    if not _alive(pid):
        pidfile.unlink(missing_ok=True)
        fail(f"no sandbox is running (stale pid {pid})")
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout

    def running() -> bool:  # the sandbox removes its pid file last (a zombie still "lives")
        return _alive(pid) and pidfile.is_file()

    while running() and time.monotonic() < deadline:
        time.sleep(0.1)
    if running():
        fail(f"the sandbox (pid {pid}) did not stop within {timeout:.0f} s")
    out.print(f"sandbox (pid {pid}) stopped")


@sandbox_app.command("wait")
def sandbox_wait(
    timeout: Annotated[float, typer.Option(help="Seconds to wait")] = 120.0,
) -> None:
    """Wait until a sandbox started in the background has written its endpoints file."""
    settings = load_settings()
    path = settings.sources_file
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.is_file():
            out.print(f"sandbox ready: {path}")
            return
        time.sleep(0.2)
    fail(f"no endpoints file at {path} after {timeout:.0f} s")


@sandbox_app.command("incident")
def sandbox_incident(
    kind: Annotated[str, typer.Argument(help="The incident's kind; `list` lists them")],
    at: Annotated[
        str | None, typer.Option(help="Where: a site's key (tank, station, ...) or LON,LAT")
    ] = None,
) -> None:
    """Make an incident happen in the running sandbox (its alarm should reach the hub)."""
    import httpx

    settings = load_settings()
    try:
        control = json.loads(settings.sources_file.read_text(encoding="utf-8"))["control"]
    except (OSError, ValueError, KeyError):
        fail(f"no running sandbox (no endpoints file at {settings.sources_file})")
    try:
        if kind == "list":
            response = httpx.get(f"{control}/admin/incidents", timeout=30)
        else:
            response = httpx.post(
                f"{control}/admin/incidents/{kind}", json={"at": at} if at else {}, timeout=30
            )
    except httpx.TransportError as exc:
        fail(f"the sandbox does not answer: {exc}")
    if response.status_code >= 400:
        fail(response.json().get("error", response.text))
    out.print_json(response.text)


# -- sync ------------------------------------------------------------------------------------


def _connectors(systems: list[str] | None) -> tuple[Any, list[Any]]:
    from connectors.binhai import EndpointError, build_connectors
    from hub.ingest.status import SourcesError, load_endpoints

    settings = load_settings()
    try:
        endpoints = load_endpoints(settings.sources_file)
        return settings, build_connectors(endpoints, systems or None)
    except (SourcesError, EndpointError) as exc:
        raise CliError(str(exc)) from None


def sync(
    systems: Annotated[
        list[str] | None, typer.Argument(help="System ids (default: every system)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run reports as JSON")] = False,
) -> None:
    """Sync source systems into the store: incremental, idempotent, bad rows quarantined."""
    from connectors.binhai import binhai_area
    from connectors.validate import RecordValidator
    from hub.ingest import SyncEngine

    settings, connectors = _connectors(systems)
    store = open_store(settings)
    engine = SyncEngine(
        store,
        RecordValidator(binhai_area()),
        call_timeout_s=settings.sync_call_timeout_s,
        run_timeout_s=settings.sync_run_timeout_s,
    )
    start = time.perf_counter()
    try:
        with progress_bar() as bar:
            overall = bar.add_task("syncing systems", total=len(connectors))
            tasks = {c.id: bar.add_task(f"  {c.id}", total=None) for c in connectors}

            def progress(system: str, rows: int) -> None:
                bar.update(tasks[system], completed=rows)

            def finished(report: Any) -> None:
                bar.update(tasks[report.connector], total=report.fetched, completed=report.fetched)
                bar.advance(overall)

            async def run() -> list[Any]:
                try:
                    return await engine.sync_all(connectors, progress, finished)
                finally:
                    for connector in connectors:
                        await connector.close()

            reports = asyncio.run(run())
    finally:
        store.close()
    elapsed = time.perf_counter() - start
    if as_json:
        sys.stdout.write(
            json.dumps(
                {"seconds": round(elapsed, 2), "runs": [r.as_dict() for r in reports]},
                ensure_ascii=False,
                indent=2,
            )
            + "\n"
        )
    else:
        table = Table(
            "system", "status", "fetched", "new", "changed", "same", "dup", "quarantined",
            "ms", title=f"sync of {len(reports)} systems in {elapsed:.1f} s",
        )  # fmt: skip
        for r in reports:
            style = {"ok": "green", "down": "red"}.get(r.status, "yellow")
            table.add_row(
                r.connector, f"[{style}]{r.status}[/]", f"{r.fetched:,}", f"{r.inserted:,}",
                f"{r.updated:,}", f"{r.unchanged:,}", f"{r.duplicates:,}", f"{r.quarantined:,}",
                f"{r.duration_ms:,.0f}",
            )  # fmt: skip
        out.print(table)
        for r in reports:
            if r.error:
                err.print(f"{r.connector}: {r.status}: {r.error}", highlight=False)
    failed = [r.connector for r in reports if r.status != "ok"]
    if failed:
        fail(f"{len(failed)} of {len(reports)} systems did not sync: {', '.join(failed)}")


# -- status and quarantine -------------------------------------------------------------------


@sources_app.command("list")
def sources_list() -> None:
    """The catalog: every system with its department, sector, class and protocol."""
    from connectors.binhai import DESCRIPTORS, SPEC_BY_ID

    table = Table("system", "名称", "department", "sector", "class", "protocol", "mode", "kinds")
    for d in DESCRIPTORS.values():
        kinds = ", ".join(dict.fromkeys(m.kind for m in SPEC_BY_ID[d.id].mappings))
        table.add_row(
            d.id, d.name_zh, d.department, d.sector, d.classification, d.protocol, d.mode, kinds
        )
    out.print(table)


@sources_app.command("status")
def sources_status(
    check: Annotated[bool, typer.Option(help="Check each source live now")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Per-system health: up/down now, last sync, records, quarantined, latency, last error."""
    from connectors.binhai import DESCRIPTORS
    from hub.ingest.status import connector_metrics
    from hub.ingest.write_back import state_name

    settings = load_settings()
    store = open_store(settings)
    try:
        metrics = connector_metrics(store)
    finally:
        store.close()
    health: dict[str, Any] = {}
    if check:
        _, connectors = _connectors(None)

        async def probe() -> None:
            results = await asyncio.gather(*(c.health(3.0) for c in connectors))
            for c, h in zip(connectors, results, strict=True):
                health[c.id] = h
                await c.close()

        asyncio.run(probe())
    rows = []
    for system in DESCRIPTORS:
        m = metrics.get(system, {})
        h = health.get(system)
        told = metrics.get(state_name(system), {})  # the hub's status changes written back
        rows.append(
            {
                "system": system,
                "protocol": DESCRIPTORS[system].protocol,
                "health": h.status if h else None,
                "latency_ms": h.latency_ms if h else m.get("latency_ms"),
                "last_sync": m.get("status", "never"),
                "last_success_at": m.get("last_success_at"),
                "records": m.get("records", 0),
                "quarantined": m.get("quarantined", 0),
                "runs": m.get("runs", 0),
                "failed_runs": m.get("failed_runs", 0),
                "error": (h.error if h and h.error else None) or m.get("last_error"),
                "write_back": told.get("status"),
                "write_back_error": told.get("last_error"),
            }
        )
    if as_json:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, default=str, indent=2) + "\n")
        return
    table = Table("system", "proto", "now", "ms", "last sync", "at", "records", "quar.", "error")
    for r in rows:
        now = {"up": "[green]up[/]", "down": "[red]down[/]"}.get(r["health"] or "", "-")
        at = r["last_success_at"]
        table.add_row(
            r["system"], r["protocol"], now,
            f"{r['latency_ms']:.0f}" if r["latency_ms"] is not None else "-",
            r["last_sync"], at.strftime("%m-%d %H:%M:%S") if at else "-",
            f"{r['records']:,}", f"{r['quarantined']:,}",
            (r["error"] or r["write_back_error"] or "")[:60],
        )  # fmt: skip
    out.print(table)


@quarantine_app.command("list")
def quarantine_list(
    system: Annotated[str | None, typer.Option(help="Only this system")] = None,
    limit: Annotated[int, typer.Option(min=1, help="How many, newest first")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
    raw: Annotated[bool, typer.Option(help="Show the raw row too")] = False,
) -> None:
    """Quarantined rows with their reason, newest first."""
    from hub.ingest.status import quarantine_total, quarantined

    settings = load_settings()
    store = open_store(settings)
    try:
        rows = quarantined(store, system, limit)
        total = quarantine_total(store)
    finally:
        store.close()
    if as_json:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, default=str, indent=2) + "\n")
        return
    table = Table("id", "system", "run", "kind", "reason", title=f"{total:,} quarantined in all")
    if raw:
        table.add_column("raw")
    for r in rows:
        cells = [str(r["id"]), r["source_system"], str(r["run_id"] or "-"), r["kind"] or "-",
                 r["reason"]]  # fmt: skip
        if raw:
            cells.append(r["raw"][:200])
        table.add_row(*cells)
    out.print(table)
