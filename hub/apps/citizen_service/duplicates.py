"""Duplicates among the source systems' new cases, and bursts of them.

A case filed at the hub's desk is merged into the open case it repeats when it is filed
(:meth:`CitizenServiceCentre.file`). A case that a source system sends (the hotline, snap-and-
send, the mailbox, zero distance, the grid inspectors) arrives by sync instead; this watch
follows the change feed's ``record`` entries for them, in one worker (a lease), and treats a
new one the same way: still at the source's first status (``filed``: nobody acted on it yet)
and never touched by the hub, within ``DUPLICATE_RADIUS_M`` and ``DUPLICATE_WINDOW`` of an open
case of the same duty, it joins that case (step ``join``: merged, ``merged_into``) and the case
gathers its reporter (step ``merge``). A case already handled at its source is left alone.

A **burst** is many people reporting one problem at once: when a case gathers
``BURST_REPORTS`` merged reports reported within ``BURST_WINDOW`` of each other, the hub raises
``cases.burst`` (once per case and burst), so the operators see one case with its crowd. The
watch sees every version of a case on the feed, so the desk's own merges count as well.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from hub.apps.citizen_service.services import (
    CASE_KIND,
    DUPLICATE_RADIUS_M,
    DUPLICATE_WINDOW,
    HUB_SYSTEM,
    MERGE_ATTEMPTS,
    CitizenServiceCentre,
    _reporters,
    reported_at,
    status_of,
    utcnow,
)
from hub.cases import CASE, CaseError
from hub.feed import FeedEntry, FeedFollower
from hub.ingest.lease import while_held
from hub.live import ALARM_KIND, Alarm
from hub.store.errors import VersionConflict
from hub.workflow import parse_time
from schema.record import Record

log = logging.getLogger(__name__)
LEASE = "citizen-service.duplicates"
ACTOR = "cityhub:duplicates"
BURST_REPORTS = 3  # merged reports of one case ...
BURST_WINDOW = timedelta(hours=1)  # ... reported within this of each other


@dataclass(frozen=True)
class Merged:
    """What one pass merged: the case updates to publish and any burst alarms."""

    updates: list[dict[str, Any]]
    alarms: list[Alarm]


def candidate(record: Record) -> bool:
    """A source's case the watch may merge: nobody acted on it, here or at its source."""
    a = record.attrs
    return (
        record.source_system != HUB_SYSTEM
        and not a.get("history")
        and not a.get("merged_into")
        and status_of(a) == "filed"
    )


def burst_size(reporters: Sequence[dict[str, Any]]) -> int:
    """Merged reports (all but the case's own first reporter) reported within
    ``BURST_WINDOW`` of the newest of them."""
    times = [t for r in reporters[1:] if (t := parse_time(r.get("at"))) is not None]
    if not times:
        return 0
    newest = max(times)
    return sum(1 for t in times if newest - t <= BURST_WINDOW)


def burst_alarm(case: Record, size: int, completing: dict[str, Any]) -> Alarm:
    a = case.attrs
    pos = case.point()
    what = a.get("subcategory_name") or a.get("category")
    return Alarm(
        id=f"burst-{case.key}-{completing.get('case')}",
        kind="cases.burst",
        severity="alarm",
        subject_type=CASE_KIND,
        subject_key=case.key,
        message=f"{size} 件重复反映并入同一案件（{what}）：{a.get('address') or a.get('street')}",
        at=utcnow(),
        value=float(size),
        lon=pos[0] if pos else None,
        lat=pos[1] if pos else None,
        grid_cell=a.get("grid_cell"),
        source="citizen-service",
    )


def merge_new(centre: CitizenServiceCentre, keys: Sequence[str]) -> Merged:
    """Merge each new source case of ``keys`` that repeats an open case (see the module)."""
    updates: list[dict[str, Any]] = []
    for key in dict.fromkeys(keys):
        record = centre.store.get(CASE_KIND, key)
        if record is None or not candidate(record):
            continue
        pos = record.point()
        category = record.attrs.get("category")
        if pos is None or not category:
            continue
        try:
            sub = centre.catalog.subcategories.get(str(record.attrs.get("subcategory") or ""))
        except CaseError:  # the grid's catalog is not synced yet: nothing to match duties by
            continue
        with centre._lock:
            original = centre._duplicate_of(
                key, pos[0], pos[1], str(category), sub, reported_at(record)
            )
            done = _merge(centre, record, original.key) if original is not None else None
        if done is None:
            continue
        updates.extend(done[1])
    return Merged(updates, [])


def burst_of(record: Record) -> Alarm | None:
    """The burst alarm of the case's latest burst: the merged report that brought
    ``BURST_REPORTS`` of them within ``BURST_WINDOW`` names it (its id), so the case's later
    versions, read again, name the same alarm; None when the case gathered no burst."""
    reporters = _reporters(record)
    for end in range(len(reporters), 0, -1):
        size = burst_size(reporters[:end])
        if size >= BURST_REPORTS > burst_size(reporters[: end - 1]):
            return burst_alarm(record, size, reporters[end - 1])
    return None


def bursts(centre: CitizenServiceCentre, keys: Sequence[str]) -> list[Alarm]:
    """The bursts of these cases not raised before (each alarm once: by its id)."""
    found = (centre.store.get(CASE_KIND, key) for key in dict.fromkeys(keys))
    alarms = [alarm for r in found if r is not None and (alarm := burst_of(r)) is not None]
    return [a for a in alarms if centre.store.get(ALARM_KIND, a.id) is None]


def _merge(
    centre: CitizenServiceCentre, record: Record, original_key: str
) -> tuple[Record, list[dict[str, Any]]] | None:
    """``record`` joins case ``original_key``, both written over the versions read; read
    again and retried when another worker's step wrote first."""
    now = centre.clock()
    for attempt in range(MERGE_ATTEMPTS):
        current = centre.store.get(CASE_KIND, record.key)
        if current is None or not candidate(current):
            return None
        why = (
            f"same problem as {original_key} (within {DUPLICATE_RADIUS_M:.0f} m "
            f"and {DUPLICATE_WINDOW.days * 24} h)"
        )
        join = CASE.move(current, CASE.by_name["join"], None, note=why)
        join.attrs["merged_into"] = original_key
        joined_event = CASE.apply(join, ACTOR, now)
        move = CASE.move(centre.case(original_key), CASE.by_name["merge"], None,
                         note=f"duplicate {record.key} merged")  # fmt: skip
        a = current.attrs
        reporter = {"name": a.get("reporter"), "phone": a.get("reporter_phone"),
                    "channel": a.get("channel"), "case": current.key,
                    "at": a.get("reported_at")}  # fmt: skip
        move.attrs["reporters"] = [*_reporters(move.record), reporter]
        move.attrs["duplicates"] = [*(move.attrs.get("duplicates") or []), current.key]
        merged_event = CASE.apply(move, ACTOR, now)
        try:
            joined, merged = centre._store([CASE.changed(join, now), CASE.changed(move, now)])
        except VersionConflict:
            if attempt == MERGE_ATTEMPTS - 1:
                raise
            continue
        return merged, [
            centre._update(joined, join.current, joined_event),
            centre._update(merged, move.current, merged_event),
        ]
    return None


def watch(
    centre: Callable[[], CitizenServiceCentre],
    publish: Callable[[Merged], Awaitable[None]],
    engine: Any,
    holder: str,
    wake_ups: Any = None,
) -> Callable[[], Awaitable[None]]:
    """The watch as a hub task: in the worker holding the lease, follow the feed's
    ``record`` entries of service cases from its head and merge the new ones."""

    async def follow() -> None:
        follower = FeedFollower(engine)

        async def take(entries: list[FeedEntry]) -> None:
            keys = [e.key for e in entries if e.kind == CASE_KIND and e.key]
            if keys:
                merged = await asyncio.to_thread(merge_new, centre(), keys)
                # a merge here is on the feed next; a merge at the desk is already
                alarms = await asyncio.to_thread(bursts, centre(), keys)
                if merged.updates or alarms:
                    await publish(Merged(merged.updates, alarms))

        follower.on("record", take)
        await follower.run(wake_ups)

    async def run() -> None:
        await while_held(engine, LEASE, holder, follow)

    return run
