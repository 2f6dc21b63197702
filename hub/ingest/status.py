"""What operators see: per-connector status and metrics, the quarantine, recent runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from hub.ingest.tables import connector_state, quarantine, record_lineage, sync_runs
from hub.store import RecordStore


class SourcesError(Exception):
    """The sources (endpoints) file is missing or unreadable; one line."""


def load_endpoints(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SourcesError(
            f"CITYHUB_SOURCES: no such file: {path} (start the simulated city with "
            "`cityhub sandbox up`, or point CITYHUB_SOURCES at your endpoints file)"
        ) from None
    except (OSError, ValueError) as exc:
        raise SourcesError(f"CITYHUB_SOURCES: cannot read {path}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("systems"), dict):
        raise SourcesError(f"CITYHUB_SOURCES: {path} has no 'systems' object")
    return data


def connector_metrics(store: RecordStore) -> dict[str, dict[str, Any]]:
    """connector → state, record and quarantine counts, and totals of its runs."""
    out: dict[str, dict[str, Any]] = {}
    with store.engine.connect() as conn:
        for row in conn.execute(select(connector_state)):
            out[row.connector] = {**dict(row._mapping), "records": 0, "quarantined": 0}
        blank = {"status": "never", "records": 0, "quarantined": 0}
        for name, n in conn.execute(
            select(record_lineage.c.connector, func.count()).group_by(record_lineage.c.connector)
        ):
            out.setdefault(name, {"connector": name, **blank})["records"] = int(n)
        for name, n in conn.execute(
            select(quarantine.c.connector, func.count())
            .where(quarantine.c.connector.is_not(None))
            .group_by(quarantine.c.connector)
        ):
            out.setdefault(name, {"connector": name, **blank})["quarantined"] = int(n)
        for name, runs, failures in conn.execute(
            select(
                sync_runs.c.connector,
                func.count(),
                func.sum((sync_runs.c.status != "ok").cast(sync_runs.c.fetched.type)),
            ).group_by(sync_runs.c.connector)
        ):
            entry = out.setdefault(name, {"connector": name, **blank})
            entry["runs"], entry["failed_runs"] = int(runs), int(failures or 0)
    return out


def quarantined(
    store: RecordStore, connector: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    query = select(
        quarantine.c.id,
        quarantine.c.connector,
        quarantine.c.source_system,
        quarantine.c.run_id,
        quarantine.c.kind,
        quarantine.c.reason,
        quarantine.c.raw,
        quarantine.c.received_at,
    ).order_by(quarantine.c.id.desc())
    if connector:
        query = query.where(quarantine.c.source_system == connector)
    with store.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query.limit(limit))]


def quarantine_total(store: RecordStore) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(quarantine)).scalar_one())


def recent_runs(store: RecordStore, limit: int = 50) -> list[dict[str, Any]]:
    with store.engine.connect() as conn:
        rows = conn.execute(select(sync_runs).order_by(sync_runs.c.id.desc()).limit(limit))
        return [dict(r._mapping) for r in rows]
