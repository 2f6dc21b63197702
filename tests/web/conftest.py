"""The operations centre in real headless Chromium: Debian's ``chromium`` driven by
Playwright (never a downloaded browser), against the hub served by uvicorn on a free loopback
port over the demo city. The issuer is that origin, so the UI's OAuth redirect comes back."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from starlette.applications import Starlette

from hub.auth.accounts import AccountStore
from hub.store import RecordStore
from hub.web.routes import DIST
from schema.record import Record
from tests.live_server import free_port

os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
SCREENS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screens"
USERS = {
    "ops-oscar": ("operator", "oscar-pw-123"),
    "ops-stella": ("steward", "stella-pw-123"),
    "ops-sven": ("steward", "sven-pw-123"),  # the second pair of eyes (four eyes)
    "ops-petra": ("partner-viewer", "petra-pw-123"),
}


def chromium_path() -> str:
    found = os.environ.get("CITYHUB_CHROMIUM") or shutil.which("chromium")
    if not found:
        pytest.fail("Debian's chromium is not installed: run scripts/test.sh (scripts/chromium.sh)")
    return found


@dataclass
class WebHub:
    app: Starlette
    base: str


def sandbox_cases(demo_dir: Path) -> list[Record]:
    """The hotline, snap-and-send, mailbox and zero-distance cases as their connectors store
    them (the sandbox makes them from the demo city's seed and citizens)."""
    from simcity.sandbox.extra import service_cases

    with (demo_dir / "Citizen.jsonl").open() as lines:
        citizens = [json.loads(line) for line in lines]
    out = []
    for records in service_cases(2019, citizens).values():
        for r in records:
            r = {k: v for k, v in r.items() if k != "updated_at"}
            r["attrs"] = {k: v for k, v in r["attrs"].items() if v is not None}
            out.append(Record.parse(r))
    return out


def _hub_form(records: list[dict]) -> list[Record]:
    out = []
    for r in records:
        r = {k: v for k, v in r.items() if k != "updated_at"}
        r["attrs"] = {k: v for k, v in r["attrs"].items() if v is not None}
        out.append(Record.parse(r))
    return out


def sandbox_app_records(demo_dir: Path) -> list[Record]:
    """The law-enforcement system's cases and the statistics bureau's economic indicators as
    the sandbox's connectors store them (no demo-city generator makes them): what the
    law-enforcement and economy apps read."""
    from simcity.sandbox.extra import build_extra

    city = {}
    for kind in ("Citizen", "FinanceFirm", "Enterprise", "IndustrialPark"):
        with (demo_dir / f"{kind}.jsonl").open(encoding="utf-8") as lines:
            city[kind] = [json.loads(line) for line in lines if line.strip()]
    extra = build_extra(2019, city)
    return _hub_form(extra["law-enforcement"] + extra["economic-stats"])


@pytest.fixture(scope="session")
def web_store(
    demo_store: RecordStore, demo_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RecordStore]:
    """A copy of the demo city plus the channels' service cases, the law-enforcement cases and
    the economic indicators from the sandbox's connectors: what the browser tests
    change (cases dispatched, policies published) stays out of the shared demo store."""
    folder = tmp_path_factory.mktemp("web-store")
    source = sqlite3.connect(str(demo_store.engine.url.database))
    target = sqlite3.connect(folder / "hub.db")
    source.backup(target)
    source.close()
    target.close()
    store = RecordStore.from_url(f"sqlite:///{folder / 'hub.db'}")
    store.upsert(sandbox_cases(demo_dir))
    store.upsert(sandbox_app_records(demo_dir))
    yield store
    store.close()


@pytest.fixture(scope="session")
def web_hub(web_store: RecordStore, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebHub]:
    from hub.app import create_app
    from hub.config import load_settings
    from hub.graph import open_graph
    from hub.indexing import rebuild
    from hub.search import open_search

    if not (DIST / "index.html").is_file():
        pytest.fail("hub/web/dist is not built: run scripts/setup.sh (npm ci + build)")
    port = free_port()
    settings = load_settings(data_dir=tmp_path_factory.mktemp("web"), host="127.0.0.1", port=port)
    graph = open_graph(settings.graph_store_url)
    search = open_search(settings.search_store_url)
    rebuild(web_store, graph, search, secret=settings.effective_secret())
    app = create_app(settings, store=web_store, graph=graph, search=search)
    accounts = AccountStore(web_store.engine)
    for name, (role, password) in USERS.items():
        if accounts.user(name) is None:
            accounts.create_user(name, password, role)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield WebHub(app, f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=chromium_path(), headless=True, args=["--no-sandbox"]
        )
        yield chromium
        chromium.close()


def sign_in(browser: object, hub: WebHub, user: str, *, width: int = 1440, height: int = 900):  # type: ignore[no-untyped-def]
    """A new browser context signed in as ``user`` through the hub's login form."""
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")  # type: ignore[attr-defined]
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(hub.base + "/")
    page.click("#sign-in")
    page.wait_for_url("**/oauth/authorize**")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", USERS[user][1])
    page.click("button[value=allow]")
    page.wait_for_selector("#who")
    page.errors = errors  # type: ignore[attr-defined]
    return page


def screenshot(page: object, name: str) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=False)  # type: ignore[attr-defined]
