"""A hub over the small test city for the rate-limit, Open311-key and telemetry-device tests:
with the duty catalog (so Open311 can file cases), two storage tanks of different firms (so
telemetry raises real tank alarms) and the auth settings a test module needs (environment)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from hub.app import create_app
from hub.auth.accounts import AccountStore
from hub.config import load_settings
from hub.store import RecordStore
from schema.record import Record
from simcity.binhai.duties import CATEGORIES, SUBCATEGORIES
from tests.auth.conftest import Hub
from tests.hub.city import small_city

WHEN = datetime(2026, 6, 1, tzinfo=UTC)
# a point inside the small city's first grid cell (Open311 filings need one)
LON, LAT = 117.705, 39.005
TANKS = {"TNK-A-01": "firm-a", "TNK-B-01": "firm-b"}


def duty_catalog() -> list[Record]:
    out = [
        Record(
            kind="DutyCategory",
            key=c.code,
            source_system="grid-management",
            source_id=c.code,
            fetched_at=WHEN,
            attrs={"code": c.code, "name": c.name, "department": c.department},
        )
        for c in CATEGORIES
    ]
    names = {c.code: c for c in CATEGORIES}
    for code, cat, name, limit in SUBCATEGORIES:
        attrs = {"code": code, "name": name, "category": cat, "time_limit_hours": limit}
        attrs |= {"category_name": names[cat].name, "department": names[cat].department}
        out.append(
            Record(
                kind="DutySubCategory",
                key=code,
                source_system="grid-management",
                source_id=code,
                fetched_at=WHEN,
                attrs=attrs,
            )
        )
    return out


def tanks() -> list[Record]:
    """Two 10 m tanks (high 8 m, high-high 9 m) of two firms."""
    return [
        Record(
            kind="Tank",
            key=key,
            source_system="hazchem-iot",
            source_id=key,
            fetched_at=WHEN,
            attrs={
                "firm": firm,
                "site": f"site-{firm}",
                "tank_no": key[-2:],
                "height_m": 10.0,
                "level_thresholds_m": {"low": 1.0, "high": 8.0, "high_high": 9.0},
                "substance": {"name": "甲醇"},
            },
            geometry={"type": "Point", "coordinates": [LON, LAT]},
            datum="GCJ-02",
        )
        for key, firm in TANKS.items()
    ]


def small_app(folder: Path, **env: str) -> Starlette:
    """The hub app, built with ``CITYHUB_AUTH_<NAME>`` set from ``env``."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(f"CITYHUB_AUTH_{name.upper()}", value)
        store = RecordStore.from_url(f"sqlite:///{folder / 'hub.db'}")
        store.migrate()
        store.upsert([*small_city(), *duty_catalog(), *tanks()])
        return create_app(load_settings(data_dir=folder, graphql_max_depth=6), store=store)


@contextmanager
def small_hub(folder: Path, **env: str) -> Iterator[Hub]:
    """``small_app`` served through a TestClient."""
    app = small_app(folder, **env)
    with TestClient(app) as http:
        yield Hub(app, http, AccountStore(app.state.store.engine))


@contextmanager
def access_log() -> Iterator[io.StringIO]:
    """What uvicorn's access logger writes (formatted as uvicorn formats it) while inside."""
    from uvicorn.logging import AccessFormatter

    text = io.StringIO()
    handler = logging.StreamHandler(text)
    handler.setFormatter(AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s'))
    logger = logging.getLogger("uvicorn.access")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield text
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
