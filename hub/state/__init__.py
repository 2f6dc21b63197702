"""The live state of the city's devices (tanks, vehicles, stations, pumps, gates, cameras):
the latest state of each device and the history of its readings, in the store (migration
0007's ``device_state`` and ``device_readings``), written by telemetry ingest and read by the
apps and GraphQL, so every worker answers the same and a restart loses nothing acknowledged."""

from hub.state.queries import (
    SAME_TIME_S,
    DeviceState,
    HistoryBucket,
    PastReading,
    history,
    latest,
    latest_of_kind,
    newest,
    recent,
)
from hub.state.store import StateWrite, device_id, seen, write_batch

__all__ = [
    "SAME_TIME_S",
    "DeviceState",
    "HistoryBucket",
    "PastReading",
    "StateWrite",
    "device_id",
    "history",
    "latest",
    "latest_of_kind",
    "newest",
    "recent",
    "seen",
    "write_batch",
]
