"""The monitors' read models (hub.state.warm.ReadModel) follow their records: a write of a
record kind a model is built from (a tank's thresholds, a station, a corridor) drops it and
the next use builds it again in every worker; a build that a write overtook is not kept; and
states stored by another worker while a build reads are not lost."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from hub.feed import FeedFollower
from hub.state.queries import DeviceState
from hub.state.warm import ReadModel, Stored
from hub.store import RecordStore
from schema.record import Record


def tank(key: str, high_high: float) -> Record:
    return Record(
        kind="Tank",
        key=key,
        source_system="hazchem-registry",
        source_id=key,
        fetched_at=datetime(2026, 6, 1, tzinfo=UTC),
        attrs={"high_high_m": high_high},
    )


def thresholds(store: RecordStore) -> dict[str, float]:
    return {t.key: float(t.attrs["high_high_m"]) for t in store.scan("Tank")}


async def test_a_record_write_reaches_every_workers_model(store: RecordStore) -> None:
    store.upsert([tank("T-1", 9.0)])
    workers = []
    for _ in range(2):  # two workers' followers on one store
        feed = FeedFollower(store.engine)
        model: ReadModel[dict[str, float]] = ReadModel(
            store.engine, (), lambda _: thresholds(store), records=("Tank",)
        )
        model.follow_records(feed)
        workers.append((feed, model))
    assert [m.get()["T-1"] for _, m in workers] == [9.0, 9.0]
    store.upsert([tank("T-1", 7.5)])  # the threshold edited (a sync, through any worker)
    for feed, model in workers:
        await feed.caught_up()
        assert model.get()["T-1"] == 7.5


async def test_other_records_leave_the_model_alone(store: RecordStore) -> None:
    store.upsert([tank("T-1", 9.0)])
    builds: list[int] = []
    feed = FeedFollower(store.engine)

    def build(_: Stored) -> int:
        builds.append(1)
        return len(builds)

    model = ReadModel(store.engine, (), build, records=("Tank",))
    model.follow_records(feed)
    assert model.get() == 1
    store.upsert([Record(kind="GridCell", key="G-1", source_system="grid", source_id="G-1",
                         fetched_at=datetime(2026, 6, 1, tzinfo=UTC))])  # fmt: skip
    await feed.caught_up()
    assert model.get() == 1


async def test_a_build_overtaken_by_a_write_is_built_again(store: RecordStore) -> None:
    store.upsert([tank("T-1", 9.0)])
    feed = FeedFollower(store.engine)
    reading, written = threading.Event(), threading.Event()

    def slow_build(_: Stored) -> float:
        found = thresholds(store)["T-1"]
        reading.set()
        written.wait(10)  # the write commits and reaches this worker while the build runs
        return found

    model = ReadModel(store.engine, (), slow_build, records=("Tank",))
    model.follow_records(feed)
    result: list[float] = []
    builder = threading.Thread(target=lambda: result.append(model.get()))
    builder.start()
    assert reading.wait(10)
    store.upsert([tank("T-1", 6.0)])
    await feed.caught_up()
    written.set()
    builder.join(10)
    assert result == [9.0]  # that caller got what it read ...
    assert model.get() == 6.0  # ... but the model kept is built after the write


def test_states_stored_while_a_build_reads_are_applied_to_it(store: RecordStore) -> None:
    reading, handed = threading.Event(), threading.Event()

    def build(_: Stored) -> dict[str, float]:
        reading.set()
        handed.wait(10)
        return {}

    def apply(model: dict[str, float], states: dict[str, DeviceState]) -> None:
        model.update({k: s.value or 0.0 for k, s in states.items()})

    model = ReadModel(store.engine, ("tank.level",), build)
    refresh = model.follow(apply)
    got: list[dict[str, float]] = []
    builder = threading.Thread(target=lambda: got.append(model.get()))
    builder.start()
    assert reading.wait(10)
    at = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    state = DeviceState("tank.level", "T-1", at, {"value": 8.2}, None, at)
    refresh({"T-1": state})
    handed.set()
    builder.join(10)
    assert got[0] == {"T-1": 8.2}
    assert model.get() == {"T-1": 8.2}
