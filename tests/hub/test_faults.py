"""Issue 14's faults that are not about the feed: a store that cannot be written (read-only,
full disk) makes the hub say it is not ready and answer 503 with a code instead of a 400
carrying the driver's text; PostgreSQL statements time out."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import OperationalError

from hub.store import RecordStore
from tests.auth.conftest import Hub
from tests.auth_helpers import authorize, bearer, fetch_token, register_client
from tests.security.small_hub import small_hub

READ = {"query": "{ gridCells(first: 1) { totalCount } }"}
DRIVER_WORDS = ("sqlite", "sqlalchemy", "psycopg", "INSERT", "readonly", "disk is full")


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    with small_hub(tmp_path) as h:
        yield h


def _break(engine: Engine, how: str) -> None:
    """Every new connection of ``engine`` read-only (``PRAGMA query_only``, what a 0444 file
    is to a non-root user) or its file full (``max_page_count`` at the pages it has now);
    pooled connections are dropped so the next request opens a broken one."""

    def on_connect(dbapi: Any, _: Any) -> None:
        cursor = dbapi.cursor()
        if how == "read-only":
            cursor.execute("PRAGMA query_only=ON")
        else:
            pages = cursor.execute("PRAGMA page_count").fetchone()[0]
            cursor.execute(f"PRAGMA max_page_count={pages}")
        cursor.close()

    event.listen(engine, "connect", on_connect)
    engine.dispose()


def _clean_503(answer: Any) -> dict[str, Any]:
    assert answer.status_code == 503, answer.text
    for word in DRIVER_WORDS:
        assert word.lower() not in answer.text.lower(), answer.text
    body: dict[str, Any] = answer.json()
    return body


@pytest.mark.parametrize("how", ["read-only", "full"])
def test_a_store_that_cannot_write_is_not_ready_and_answers_503(
    hub: Hub, how: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Fault: with the SQLite file read-only or the disk full, /readyz stayed 200 while every
    read failed (each writes its audit entry), and the reads came back 400 with SQLAlchemy's
    text. Now reads answer 503 ``STORE_UNAVAILABLE`` without driver text, and /readyz says
    503 too: for read-only from its own real write, for a full disk (where a one-row rewrite
    still fits) from the failures it saw."""
    authorize(hub.http, hub.app)
    assert hub.http.post("/graphql", json=READ).status_code == 200
    assert hub.http.get("/readyz").status_code == 200
    _break(hub.app.state.store.engine, how)
    codes = []
    for _ in range(20):  # a full file still takes a few rows in its last free pages
        answer = hub.http.post("/graphql", json=READ)
        codes.append(answer.status_code)
        if answer.status_code != 200:
            break
    body = _clean_503(answer)
    assert [e["extensions"]["code"] for e in body["errors"]] == ["STORE_UNAVAILABLE"]
    # the spec's media type answered 400 for errors before execution: a store failure is 503
    spec = hub.http.post(
        "/graphql", json=READ, headers={"Accept": "application/graphql-response+json"}
    )
    assert _clean_503(spec)["errors"][0]["extensions"]["code"] == "STORE_UNAVAILABLE"
    # the log says why in one line, without the statement or its values (the audit entry)
    expected = "readonly database" if how == "read-only" else "database or disk is full"
    logged = [r.getMessage() for r in caplog.records if "store unavailable" in r.getMessage()]
    assert logged and all(expected in line for line in logged), logged
    assert "INSERT" not in caplog.text and "graphql.read" not in caplog.text
    ready = _clean_503(hub.http.get("/readyz"))
    assert ready["status"] == "unavailable" and ready["code"] == "STORE_UNAVAILABLE"
    print(f"\n{how}: reads {codes} before the store refused; /readyz {ready['store']!r}")


def test_a_route_meeting_a_read_only_store_answers_503_with_a_code(hub: Hub) -> None:
    """Fault: HTTP routes (telemetry here: its alarms are stored) passed the driver's error
    out. Every route maps a failing store the same way: 503, ``STORE_UNAVAILABLE``."""
    client_id, secret = register_client(
        hub.app, "gateway", scopes=["telemetry:write"], devices=["TNK-A-01"]
    )
    device = bearer(fetch_token(hub.http, client_id, secret))
    _break(hub.app.state.store.engine, "read-only")
    over = {"kind": "tank.level", "id": "TNK-A-01", "at": time.time(), "value": 9.5}
    answer = hub.http.post("/telemetry", json=[over], headers=device)
    assert _clean_503(answer)["code"] == "STORE_UNAVAILABLE"
    assert hub.http.get("/readyz").status_code == 503


def test_readiness_writes_for_real(tmp_path: Path) -> None:
    """Why the probe commits a real write: SQLite opens a read-only file (``mode=ro``, what a
    0444 file is to a non-root user) and grants it ``BEGIN IMMEDIATE``, and a ping reads."""
    from hub.store.engine import ping, probe_write
    from hub.store.errors import StoreUnavailable

    path = tmp_path / "hub.db"
    store = RecordStore.from_url(f"sqlite:///{path}")
    store.migrate()
    probe_write(store.engine, "test")
    store.close()
    read_only = create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    with read_only.connect() as conn:  # the lock a writer takes first: granted
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        conn.exec_driver_sql("ROLLBACK")
    ping(read_only)  # and it answers
    with pytest.raises(StoreUnavailable, match="does not take writes"):
        probe_write(read_only, "test")
    read_only.dispose()


@pytest.mark.postgres
def test_postgres_statements_time_out(store_url: str) -> None:
    """Fault: a hung PostgreSQL blocked requests for its whole length. The store engine sets
    ``statement_timeout`` (default 30 s, ``CITYHUB_STATEMENT_TIMEOUT_S``): a statement past it
    is cancelled by the server."""
    if not store_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only")
    from hub.store.engine import create_store_engine

    engine = create_store_engine(store_url, statement_timeout_s=0.3)
    start = time.monotonic()
    with pytest.raises(OperationalError, match="statement timeout"), engine.connect() as conn:
        conn.execute(text("SELECT pg_sleep(3)"))
    assert time.monotonic() - start < 2
    with engine.connect() as conn:
        assert conn.execute(text("SHOW statement_timeout")).scalar() == "300ms"
    engine.dispose()
    default = create_store_engine(store_url)
    with default.connect() as conn:
        assert conn.execute(text("SHOW statement_timeout")).scalar() == "30s"
    default.dispose()
