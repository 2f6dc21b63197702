"""A read model of device states: an app's monitor (tank levels, river gauges, pump states,
a truck's episode) is built on first use from the store — its records and the states the hub
stored of its reading kinds (the warm-up) — and from then on kept current by the feed's
``reading`` entries (``refresh``), so a worker that starts late or restarts judges the next
reading as the worker that took the last one would have."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Generic, TypeVar

from sqlalchemy import Engine

from core_ext import GridIndex
from hub.feed import FeedEntry, FeedFollower
from hub.state.queries import SAME_TIME_S, DeviceState, latest_of_kind

if TYPE_CHECKING:
    from hub.store import RecordStore

Model = TypeVar("Model")
# the stored states of each of the model's kinds, by kind then device id
Stored = dict[str, dict[str, DeviceState]]


class ReadModel(Generic[Model]):
    """One model per worker, built once (thread-safe) by ``build`` from the stored states of
    ``kinds``. With ``records`` (the record kinds the build reads: tanks and their sensors, the
    stations, the corridors) and :meth:`follow_records`, a write of one of those records drops
    the model and the next use builds it again, so an edited threshold or a new station
    reaches every worker without a restart."""

    def __init__(
        self,
        engine: Engine,
        kinds: Sequence[str],
        build: Callable[[Stored], Model],
        *,
        records: Sequence[str] = (),
    ) -> None:
        self.engine = engine
        self.kinds = tuple(kinds)
        self.records = frozenset(records)
        self._build = build
        self._model: Model | None = None
        self._building = threading.Lock()
        # guards the model's slot and what arrives while it is being built
        self._guard = threading.Lock()
        self._generation = 0  # moved on by a record write: a build begun before it is stale
        self._pending: list[dict[str, DeviceState]] | None = None
        self._apply: Callable[[Model, dict[str, DeviceState]], None] | None = None

    def get(self) -> Model:
        model = self._model
        if model is None:
            with self._building:
                model = self._model
                if model is None:
                    with self._guard:
                        generation, self._pending = self._generation, []
                    stored = {kind: latest_of_kind(self.engine, kind) for kind in self.kinds}
                    model = self._build(stored)
                    with self._guard:
                        # states stored by others while this one read: not lost in between
                        for states in self._pending or []:
                            if self._apply is not None:
                                self._apply(model, states)
                        self._pending = None
                        if generation == self._generation:
                            self._model = model
        return model

    def follow(
        self, apply: Callable[[Model, dict[str, DeviceState]], None]
    ) -> Callable[[dict[str, DeviceState]], None]:
        """A refresh for the live bus: the states others stored go to the model once it is
        built (until then there is nothing to bring up to date: it will load them)."""
        self._apply = apply

        def refresh(stored: dict[str, DeviceState]) -> None:
            with self._guard:
                model = self._model
                if model is None:
                    if self._pending is not None:  # a build is reading: hand them over
                        self._pending.append(stored)
                    return
            apply(model, stored)

        return refresh

    def follow_records(self, feed: FeedFollower) -> None:
        """Drop the model when the feed brings a write of one of its ``records`` kinds."""
        if self.records:
            feed.on("record", self._records_written)

    def _records_written(self, entries: list[FeedEntry]) -> None:
        if any(e.kind in self.records for e in entries):
            with self._guard:
                self._generation += 1
                self._model = None


def newer(
    stored: dict[str, DeviceState], last_at: Callable[[str], float | None]
) -> dict[str, DeviceState]:
    """Of the stored states, those newer than what the model saw of their device (its own
    worker's readings come back through the feed too: the same time is no news)."""
    out = {}
    for key, kept in stored.items():
        last = last_at(key)
        if last is None or kept.at.timestamp() > last + SAME_TIME_S:
            out[key] = kept
    return out


def grid_of(store: RecordStore) -> GridIndex | None:
    """The city's grid cells as the core's index (None when the store has none): where a
    monitor places what it sees."""
    cells = [{"key": c.key, "geometry": c.geometry} for c in store.scan("GridCell") if c.geometry]
    return GridIndex(cells) if cells else None
