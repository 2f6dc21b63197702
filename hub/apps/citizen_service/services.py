"""The citizen-service centre's rules (便民服务响应): one door for the five channels, the grid
cell and duty catalog of every case, duplicates merged, the nearest on-duty inspector with the
right duty sent to verify, the department from the catalog, and the closed loop with its
deadlines — filed → verifying → dispatched → handling → resolved → visited → rated → closed.

Cases are ``ServiceCase`` records, the ones the source systems send (hotline, snap-and-send,
mailbox, zero distance; their Chinese status read as a loop state) and the ones filed here
(``source_system = "cityhub"``). Each transition is kept in the case's ``history`` with actor
and time. The centre keeps the cases, grid and inspectors in memory for its queries and reads
what any worker wrote since its last look from the store (by ``ingested_at``), so several hub
workers agree without a cache of their own to invalidate.

Travel assumption of the 15-minute circle: an inspector rides an e-bike at 15 km/h, and the
way along streets is 1.3 times the straight line; so 15 minutes reach 2.88 km great-circle.
"""

from __future__ import annotations

import math
import re
import threading
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from core_ext import GridIndex, PointIndex, haversine_m_many
from hub.apps.citizen_service.catalog import Classification, DutyCatalog, SubCategory
from hub.cases import (
    CASE,
    DONE,
    FILE_SCOPE,
    OPEN,
    STATUS_LABELS,
    Caller,
    CaseDesk,
    CaseError,
    CaseIntake,
    CaseNotFound,
    FiledCase,
)
from hub.cases import NotPermitted as NotPermitted  # the centre's refusals, read by its routes
from hub.idempotency import Idempotency, Ticket
from hub.store import RecordStore
from hub.store.errors import VersionConflict
from hub.workflow import Guard, Within, iso, parse_time
from schema.record import Record

CASE_KIND = CASE.kind
HUB_SYSTEM = "cityhub"

# Channel code -> the name the source systems use for it.
CHANNELS: dict[str, str] = {
    "hotline": "12345便民服务热线",
    "grid": "网格员上报",
    "snap": "随手拍",
    "mailbox": "区长信箱",
    "zero_distance": "政民零距离",
}
CHANNEL_CODES = {name: code for code, name in CHANNELS.items()}
# Channels beside the citizens' five whose requests are not grid duties (the 双万双服 firms'
# requests): the caller names the department, time limit and topic; nobody verifies on site;
# nothing is merged (two firms asking the same thing are two requests).
REQUEST_CHANNELS: dict[str, str] = {"enterprise": "双万双服企业服务平台"}

# a filing merged into a case that a step changed meanwhile merges into the new version
MERGE_ATTEMPTS = 3
DUPLICATE_RADIUS_M = 150.0
DUPLICATE_WINDOW = timedelta(hours=72)
MAX_TEXT = 2000
MAX_MEDIA = 9
PHONE = re.compile(r"^\+?[0-9][0-9 \-]{5,19}$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]+$")

# The 15-minute service circle (see the module's docstring).
CIRCLE_SPEED_KMH = 15.0
CIRCLE_DETOUR = 1.3
CIRCLE_MINUTES = 15.0
CIRCLE_SAMPLES = 20_000


REQUEST_TOPIC = "request.step"  # an enterprise request's steps on the feed


def utcnow() -> datetime:
    return datetime.now(UTC)


def filing_act(intake: CaseIntake) -> str:
    """The act a filing is: through the citizens' door (Open311, the citizen app's reports)
    or the desk's own; the roles and the policy's write side judge that act."""
    return "file_open311" if intake.door == "open311" else "file"


# -- reading a case ---------------------------------------------------------------------


def status_of(attrs: dict[str, Any]) -> str:
    """The loop state: the hub's own, else the source system's Chinese status read as one."""
    return CASE.state_of(attrs)


def reported_at(record: Record) -> datetime:
    return parse_time(record.attrs.get("reported_at")) or record.fetched_at


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """What the filters and statistics read of one case, derived once per record version
    (``record`` is that version: the facts hold while the centre keeps that very object)."""

    record: Record
    status: str
    due: datetime | None
    resolved: datetime | None
    reported: datetime
    department: str | None
    grid_cell: Any
    street: Any
    category: Any
    subcategory: Any
    channel: Any

    def overdue(self, now: datetime) -> bool:
        return CASE.overdue(self.status, self.due, self.resolved, now)


@dataclass(frozen=True)
class CaseFilter:
    status: Sequence[str] = ()
    channel: str | None = None
    category: str | None = None
    subcategory: str | None = None
    department: str | None = None
    grid_cell: str | None = None
    street: str | None = None
    overdue: bool | None = None
    source_system: str | None = None
    reported_after: datetime | None = None
    reported_before: datetime | None = None

    def __post_init__(self) -> None:
        bad = [s for s in self.status if s not in STATUS_LABELS]
        if bad:
            raise CaseError(f"status {bad[0]!r}: one of {', '.join(STATUS_LABELS)}")
        if self.channel is not None and self.channel not in CHANNELS:
            raise CaseError(f"channel {self.channel!r}: one of {', '.join(CHANNELS)}")


Intake = CaseIntake  # a problem as one channel reports it (hub.cases)


# -- the inspectors on duty -------------------------------------------------------------


class InspectorBoard:
    """Where the grid inspectors are, who is on duty, which duties each covers — in the
    compiled core's ``PointIndex``, one point per inspector (id = slot).

    A point carries one category string, an inspector several duty categories; so the
    point's category is the inspector's *duty set* (``"C01,C05,C08"``) and "on duty *with
    C05*" asks the core's category filter for every duty set containing C05 (few: crews
    share duty sets — all 743 of Binhai's cover the whole catalog, "one inspector, many
    skills")."""

    def __init__(self) -> None:
        self.index = PointIndex()
        self.keys: list[str] = []
        self.slots: dict[str, int] = {}
        self.duties: dict[str, tuple[str, ...]] = {}
        self.on_duty: dict[str, bool] = {}
        self.positions: dict[str, tuple[float, float]] = {}
        self._sets_with: dict[str, set[str]] = defaultdict(set)  # duty -> duty sets with it

    @staticmethod
    def duty_set(duties: Iterable[str]) -> str:
        return ",".join(sorted({d for d in duties if isinstance(d, str) and d and "," not in d}))

    def upsert(
        self, key: str, lon: float, lat: float, on_duty: bool, duties: Iterable[str]
    ) -> None:
        label = self.duty_set(duties)
        wanted = tuple(label.split(",")) if label else ()
        for d in wanted:
            self._sets_with[d].add(label)
        if key not in self.slots:
            self.slots[key] = len(self.keys)
            self.keys.append(key)
        self.duties[key] = wanted
        self.on_duty[key] = on_duty
        self.positions[key] = (lon, lat)
        self.index.upsert(self.slots[key], lon, lat, on_duty=on_duty, category=label)

    def move(self, key: str, lon: float, lat: float, on_duty: bool | None = None) -> None:
        slot = self.slots.get(key)
        if slot is None:
            raise CaseNotFound(f"no inspector {key!r}")
        self.index.move(slot, lon, lat)
        self.positions[key] = (lon, lat)
        if on_duty is not None and on_duty != self.on_duty[key]:
            self.index.set_attributes(slot, on_duty=on_duty)
            self.on_duty[key] = on_duty

    def nearest(self, lon: float, lat: float, category: str | None) -> tuple[str, float] | None:
        sets = sorted(self._sets_with.get(category, ())) if category else None
        if sets is not None and not sets:
            return None
        found = self.index.nearest(lon, lat, 1, on_duty=True, categories=sets)
        if not found:
            return None
        slot, metres = found[0]
        return self.keys[int(slot)], float(metres)

    def on_duty_count(self) -> int:
        return sum(1 for v in self.on_duty.values() if v)


# -- the centre -------------------------------------------------------------------------


@dataclass
class GridMap:
    index: GridIndex
    street_of: dict[str, str]
    streets: dict[str, tuple[float, float]]  # street name -> centre, for address-only reports


class CitizenServiceCentre:
    """The rules of the citizen-service response system, one per hub process."""

    def __init__(
        self,
        store: RecordStore,
        *,
        clock: Callable[[], datetime] = utcnow,
        keys: Idempotency | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.keys = keys  # the filings' idempotency keys (None: filings name none)
        self._lock = threading.RLock()
        self._catalog: DutyCatalog | None = None
        self._grid: GridMap | None = None
        self._board: InspectorBoard | None = None
        self._cases: dict[str, Record] = {}
        # key -> the facts of the case's current version (see ``facts``)
        self._facts: dict[str, CaseFacts] = {}
        # bumped whenever a case's record changes here (see ``cases`` and ``_store``)
        self._version = 0
        self._stats_lock = threading.Lock()
        self._stats_cache: dict[tuple[Hashable, ...], dict[str, Any]] = {}
        self._seen: dict[str, int | None] = {}  # change-feed position, by kind

    # -- what the centre knows, read lazily from the store -------------------------------

    def _all(self, kind: str) -> list[Record]:
        out: list[Record] = []
        after: str | None = None
        while True:
            chunk = self.store.page(kind, after=after, limit=2000)
            out.extend(chunk)
            if len(chunk) < 2000:
                return out
            after = chunk[-1].key

    def _changed(self, kind: str) -> list[Record]:
        """Records of ``kind`` stored (by any worker) since this process last looked, by
        the change feed's sequence (a catch-up by time skipped rows committed late)."""
        found, self._seen[kind] = self.store.changed_since(kind, self._seen.get(kind))
        return found

    @property
    def catalog(self) -> DutyCatalog:
        with self._lock:
            if self._catalog is None:
                cats, subs = self._all("DutyCategory"), self._all("DutySubCategory")
                if not subs:
                    raise CaseError("the duty catalog (DutySubCategory records) is not loaded")
                self._catalog = DutyCatalog.from_records(cats, subs)
            return self._catalog

    @property
    def grid(self) -> GridMap:
        with self._lock:
            if self._grid is None:
                cells = [r for r in self._all("GridCell") if r.geometry]
                if not cells:
                    raise CaseError("the grid (GridCell records) is not loaded")
                index = GridIndex([{"key": r.key, "geometry": r.geometry} for r in cells])
                streets: dict[str, tuple[float, float]] = {}
                for s in self._all("Street"):
                    centre = s.attrs.get("centre")
                    if isinstance(centre, list) and len(centre) == 2:
                        streets[s.attrs.get("name") or s.key] = (
                            float(centre[0]),
                            float(centre[1]),
                        )
                self._grid = GridMap(
                    index, {r.key: str(r.attrs.get("street") or "") for r in cells}, streets
                )
            return self._grid

    @property
    def board(self) -> InspectorBoard:
        with self._lock:
            if self._board is None:
                self._board = InspectorBoard()
            for r in self._changed("Inspector"):
                pos = r.point()
                if pos is None:
                    continue
                self._board.upsert(
                    r.key,
                    pos[0],
                    pos[1],
                    bool(r.attrs.get("on_duty")),
                    r.attrs.get("duty_categories") or [],
                )
            return self._board

    def cases(self) -> dict[str, Record]:
        """Every service case, whichever worker or source system wrote it."""
        with self._lock:
            for r in self._changed(CASE_KIND):
                old = self._cases.get(r.key)
                if old is r or old == r:
                    # the same version read again (``_changed`` returns this worker's own
                    # writes too): keep the object, so its facts and the version hold
                    continue
                self._facts.pop(r.key, None)
                self._cases[r.key] = r
                self._version += 1
            # a snapshot: callers iterate it outside the lock while other requests catch up
            # ("dictionary changed size during iteration" failed every list after a restart)
            return dict(self._cases)

    def case(self, key: str) -> Record:
        record = self.store.get(CASE_KIND, key)
        if record is None:
            raise CaseNotFound(f"no service case {key!r}")
        return record

    # -- derived facts of a case ----------------------------------------------------------

    def facts(self, record: Record) -> CaseFacts:
        """The case's facts, derived once per record version. Cached by key while ``record``
        is the very object the centre holds for that key (``cases()`` and ``_store`` replace
        the object whenever the case changes, so a stale entry never matches); a record
        from elsewhere (a fresh store read) gets its facts derived, not cached. The catalog
        they also read is loaded once per process and never changes under them."""
        key = record.key
        found = self._facts.get(key)
        if found is not None and found.record is record:
            return found
        a = record.attrs
        made = CaseFacts(
            record=record,
            status=status_of(a),
            due=self.due_at(record),
            resolved=self.resolved_at(record),
            reported=reported_at(record),
            department=self.department(record),
            grid_cell=a.get("grid_cell"),
            street=a.get("street"),
            category=a.get("category"),
            subcategory=a.get("subcategory"),
            channel=a.get("channel"),
        )
        if self._cases.get(key) is record:
            self._facts[key] = made
        return made

    def due_at(self, record: Record) -> datetime | None:
        due = parse_time(record.attrs.get("due_at"))
        if due is not None:
            return due
        a = record.attrs
        sub = self.catalog.subcategories.get(str(a.get("subcategory") or ""))
        if sub is not None:
            hours = sub.time_limit_hours
        elif a.get("category") in self.catalog.categories:
            hours = self.catalog.category_limit_hours(str(a["category"]))
        else:
            return None
        return reported_at(record) + timedelta(hours=hours)

    def resolved_at(self, record: Record) -> datetime | None:
        own = parse_time(record.attrs.get("resolved_at"))
        if own is not None:
            return own
        # a source case reported done: its last update is when it was done
        return record.fetched_at if status_of(record.attrs) in DONE else None

    def overdue(self, record: Record, now: datetime | None = None) -> bool:
        return self.facts(record).overdue(now or self.clock())

    def department(self, record: Record) -> str | None:
        a = record.attrs
        return a.get("handling_department") or self.catalog.department_of(
            a.get("category"), a.get("subcategory")
        )

    def by_tracking(self, number: str) -> Record:
        """The case a tracking number was issued for (``hub.tracking``): the same answer
        for an unknown case and a wrong number."""
        record = CASE.find_tracked(self.store, number)
        if record is None:
            raise CaseNotFound("no case with this tracking number")
        return record

    # -- filtering and statistics ---------------------------------------------------------

    def matches(self, record: Record, f: CaseFilter, now: datetime) -> bool:
        x = self.facts(record)
        if f.status and x.status not in f.status:
            return False
        if f.channel is not None and CHANNEL_CODES.get(str(x.channel)) != f.channel:
            return False
        if f.category is not None and x.category != f.category:
            return False
        if f.subcategory is not None and x.subcategory != f.subcategory:
            return False
        if f.department is not None and x.department != f.department:
            return False
        if f.grid_cell is not None and x.grid_cell != f.grid_cell:
            return False
        if f.street is not None and x.street != f.street:
            return False
        if f.source_system is not None and record.source_system != f.source_system:
            return False
        when = x.reported
        if f.reported_after is not None and when < f.reported_after:
            return False
        if f.reported_before is not None and when >= f.reported_before:
            return False
        return f.overdue is None or x.overdue(now) == f.overdue

    def find(self, f: CaseFilter, visible: Callable[[Record], bool]) -> list[Record]:
        now = self.clock()
        found = [r for r in self.cases().values() if self.matches(r, f, now) and visible(r)]
        found.sort(key=lambda r: r.key)
        return found

    def shared_stats(
        self, f: CaseFilter, visible: Callable[[Record], bool], view: Hashable
    ) -> dict[str, Any]:
        """``stats(find(f, visible))``, shared for a second by the requests that would
        compute exactly the same answer: 200 dashboards polling the same counts do the work
        once a second instead of 200 times.

        Why it is safe: the key is everything the answer depends on —
        * ``view``: which rows ``visible`` lets through (the policy's ``row_view``: every
          row for a decision without a row filter; else the policy generation, policy,
          filter text and the principal's attributes), so principals whose views differ
          never share an answer. The policy's gate (refusals, counts-only, purpose, rate
          limits) and the field-level enforcement and audit still run on every request;
          only the counting is shared;
        * the filter, field by field;
        * the cases' version: ``cases()`` is called first, so a case changed by this or
          any worker (read from the store) gives a new key — a step taken is counted by
          the next request, not a second later;
        * the clock truncated to the second: "overdue" is judged at the instant the
          answer was computed, at most a second before the request (the same freshness
          the dashboard's 10-second poll has anyway).
        The answer is shared between requests: callers must not change it."""
        with self._stats_lock:
            self.cases()  # pick up changes first: the version below covers them
            second = int(self.clock().timestamp())
            key = (view, _filter_key(f), self._version, second)
            found = self._stats_cache.get(key)
            if found is None:
                found = self.stats(self.find(f, visible))
                # keep only this version's and this second's answers
                self._stats_cache = {k: v for k, v in self._stats_cache.items()
                                     if k[2:] == key[2:]}  # fmt: skip
                self._stats_cache[key] = found
            return found

    def stats(self, records: Iterable[Record]) -> dict[str, Any]:
        """Counts for the ops centre: by grid cell, category, department, channel, and SLA."""
        now = self.clock()
        # group -> value -> [total, open, overdue]
        by_cell: dict[str, list[int]] = {}
        by_category: dict[str, list[int]] = {}
        by_department: dict[str, list[int]] = {}
        by_channel: dict[str, list[int]] = {}
        groups = {
            "grid_cell": by_cell,
            "category": by_category,
            "department": by_department,
            "channel": by_channel,
        }
        merged = on_time = late_done = open_on_time = open_late = 0
        total = 0
        for r in records:
            x = self.facts(r)
            status = x.status
            if status == "merged":
                merged += 1
                continue
            total += 1
            late = x.overdue(now)
            is_open = status in OPEN
            if status in DONE:
                if late:
                    late_done += 1
                else:
                    on_time += 1
            elif late:
                open_late += 1
            else:
                open_on_time += 1
            for buckets, value in (
                (by_cell, x.grid_cell),
                (by_category, x.category),
                (by_department, x.department),
                (by_channel, x.channel),
            ):
                name = str(value or "unknown")
                bucket = buckets.get(name)
                if bucket is None:
                    bucket = buckets[name] = [0, 0, 0]
                bucket[0] += 1
                bucket[1] += is_open
                bucket[2] += late
        resolved = on_time + late_done
        cat_names = {c.code: c.name for c in self.catalog.categories.values()}
        return {
            "total": total,
            "merged": merged,
            "sla": {
                "resolved_on_time": on_time,
                "resolved_late": late_done,
                "open_on_time": open_on_time,
                "open_overdue": open_late,
                "on_time_rate": round(on_time / resolved, 4) if resolved else None,
            },
            **{
                group: [
                    {
                        "key": k,
                        "label": cat_names.get(k, k) if group == "category" else k,
                        "total": c[0],
                        "open": c[1],
                        "overdue": c[2],
                    }
                    for k, c in sorted(buckets.items(), key=lambda kv: (-kv[1][0], kv[0]))
                ]
                for group, buckets in groups.items()
            },
        }

    def service_circle(
        self,
        *,
        speed_kmh: float = CIRCLE_SPEED_KMH,
        minutes: float = CIRCLE_MINUTES,
        detour: float = CIRCLE_DETOUR,
        samples: int = CIRCLE_SAMPLES,
        seed: int = 2019,
    ) -> dict[str, Any]:
        """The share of the district an on-duty inspector reaches within ``minutes``.

        Sample points are uniform in the grid's bounding box, kept where the core's
        ``GridIndex`` puts them in a cell (so the sample is the district, area-weighted),
        and measured to the nearest on-duty inspector with ``PointIndex.nearest_many``."""
        if not (0 < speed_kmh <= 200 and 0 < minutes <= 240 and 1 <= detour <= 5):
            raise CaseError("speed 0-200 km/h, minutes 0-240, detour factor 1-5")
        if not 100 <= samples <= 200_000:
            raise CaseError("samples: between 100 and 200000")
        grid, board = self.grid, self.board
        reach_m = speed_kmh * 1000 / 60 * minutes / detour
        x0, y0, x1, y1 = grid.index.bounds
        rng = np.random.default_rng(seed)
        lons = np.empty(0)
        lats = np.empty(0)
        cells = np.empty(0, dtype=np.int32)
        while len(lons) < samples:
            n = samples * 2
            xs, ys = rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)
            inside = grid.index.locate_many(xs, ys)
            keep = inside >= 0
            lons = np.concatenate([lons, xs[keep]])
            lats = np.concatenate([lats, ys[keep]])
            cells = np.concatenate([cells, inside[keep]])
        lons, lats, cells = lons[:samples], lats[:samples], cells[:samples]
        with self._lock:
            _, metres = board.index.nearest_many(lons, lats, 1, on_duty=True)
        dist = metres[:, 0]
        covered = dist <= reach_m
        by_street: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for cell, ok in zip(cells.tolist(), covered.tolist(), strict=True):
            street = grid.street_of.get(grid.index.keys[cell] or "", "") or "unknown"
            by_street[street][0] += 1
            by_street[street][1] += ok
        finite = dist[np.isfinite(dist)]
        return {
            "speed_kmh": speed_kmh,
            "minutes": minutes,
            "detour_factor": detour,
            "reach_m": round(reach_m, 1),
            "samples": int(samples),
            "covered": int(covered.sum()),
            "share": round(float(covered.mean()), 4),
            "on_duty_inspectors": board.on_duty_count(),
            "median_distance_m": round(float(np.median(finite)), 1) if len(finite) else None,
            "streets": sorted(
                (
                    {"street": s, "samples": n, "share": round(c / n, 4)}
                    for s, (n, c) in by_street.items()
                ),
                key=lambda s: (s["share"], s["street"]),
            ),
        }

    # -- intake ---------------------------------------------------------------------------

    def _locate(self, intake: Intake) -> tuple[float, float, str, str]:
        """(lon, lat, precision, grid cell key)."""
        grid = self.grid
        if intake.lon is not None and intake.lat is not None:
            lon, lat = intake.lon, intake.lat
            if not (math.isfinite(lon) and math.isfinite(lat)):
                raise CaseError("lon/lat must be finite numbers")
            precision = "point"
        elif intake.lon is not None or intake.lat is not None:
            raise CaseError("lon and lat come together")
        elif intake.address:
            # No geocoder: an address naming a street is placed at the street's centre.
            street = next((s for s in sorted(grid.streets, key=len, reverse=True)
                           if s in intake.address), None)  # fmt: skip
            if street is None:
                raise CaseError("the address names no street of the district; send lon/lat instead")
            lon, lat = grid.streets[street]
            precision = "street"
        else:
            raise CaseError("a case needs a place: lon/lat, or an address naming the street")
        cell = grid.index.locate_key(lon, lat)
        if cell is None:
            raise CaseError(f"({lon}, {lat}) is outside the district's grid")
        return lon, lat, precision, cell

    def _classify(self, intake: Intake) -> tuple[str, SubCategory | None, Classification | None]:
        catalog = self.catalog
        if intake.subcategory:
            sub = catalog.subcategories.get(intake.subcategory)
            if sub is None:
                raise CaseError(f"no duty sub-category {intake.subcategory!r}")
            if intake.category and intake.category != sub.category:
                raise CaseError(f"{sub.code} is in category {sub.category}, not {intake.category}")
            return sub.category, sub, None
        found = catalog.classify(f"{intake.title or ''} {intake.description}")
        if intake.category:
            if intake.category not in catalog.categories:
                raise CaseError(f"no duty category {intake.category!r}")
            if found is not None and found.subcategory.category == intake.category:
                return intake.category, found.subcategory, found
            return intake.category, None, None
        if found is None:
            raise CaseError(
                "the description matches no duty of the catalog; give a category "
                "(C01-C13) or a sub-category"
            )
        return found.subcategory.category, found.subcategory, found

    def _validate(self, intake: Intake, now: datetime) -> datetime:
        if intake.channel not in CHANNELS and intake.channel not in REQUEST_CHANNELS:
            raise CaseError(f"channel {intake.channel!r}: one of {', '.join(CHANNELS)}")
        if intake.channel in REQUEST_CHANNELS:
            if not (intake.department or "").strip() or not (intake.topic or "").strip():
                raise CaseError(f"a {intake.channel} request names its department and topic")
            limit = intake.time_limit_hours
            if limit is None or not (math.isfinite(limit) and 0 < limit <= 8760):
                raise CaseError("a request's time limit is 0 to 8760 hours")
        text = (intake.description or "").strip()
        if not text:
            raise CaseError("a description of the problem is required")
        if len(text) > MAX_TEXT or len(intake.title or "") > 200:
            raise CaseError(f"the description is at most {MAX_TEXT} characters, a title 200")
        if intake.reporter_phone and not PHONE.match(intake.reporter_phone):
            raise CaseError("reporter phone: digits, spaces, - and a leading +, 6 to 20")
        if intake.reporter_email and not EMAIL.match(intake.reporter_email):
            raise CaseError("reporter email is not an e-mail address")
        if len(intake.reporter_name or "") > 64:
            raise CaseError("reporter name: at most 64 characters")
        if len(intake.attachments) > MAX_MEDIA:
            raise CaseError(f"at most {MAX_MEDIA} media URLs")
        for url in intake.attachments:
            if not re.match(r"^https?://\S{1,2000}$", url):
                raise CaseError(f"media URL {url[:80]!r}: an http(s) URL")
        when = intake.reported_at or now
        if when.tzinfo is None:
            raise CaseError("reportedAt needs a time zone offset")
        if when > now + timedelta(minutes=5):
            raise CaseError("reportedAt is in the future")
        if when < now - timedelta(days=365):
            raise CaseError("reportedAt is more than a year ago")
        return when

    # -- the case desk (hub.cases.CaseDesk) ----------------------------------------------

    def file(self, intake: CaseIntake, caller: Caller) -> FiledCase:
        """File a case: locate, classify, merge a duplicate, start its clock; the receipt
        holds the tracking number, shown to the reporter in this answer only (the hub keeps
        just its hash). A retry naming the same idempotency key gets the first receipt and
        files nothing: the key's answer is kept in the filing's own transaction."""
        wanted = intake.idempotency_key
        if wanted is None:
            return self._file(intake, caller, None)
        if self.keys is None:
            raise CaseError("this hub keeps no idempotency keys")
        filed: list[FiledCase] = []

        def file(ticket: Ticket | None) -> dict[str, Any]:
            filed.append(self._file(intake, caller, ticket))
            return {"case": filed[-1].key, "tracking_number": filed[-1].tracking_number}

        answer, replayed = self.keys.filed(intake.idempotency_scope, caller.actor, wanted, file)
        return self._receipt(answer) if replayed else filed[-1]

    def filed_before(
        self, key: str | None, caller: Caller, scope: str = FILE_SCOPE
    ) -> FiledCase | None:
        """The receipt of the caller's earlier filing with idempotency key ``key``."""
        answer = self.keys.answer(scope, caller.actor, key) if self.keys else None
        return self._receipt(answer) if answer is not None else None

    def _receipt(self, answer: dict[str, Any]) -> FiledCase:
        # a filing's receipt again: the case as it is now, nothing to publish
        record = self.case(str(answer["case"]))
        return FiledCase(record, str(answer["tracking_number"]), replayed=True)

    def subcategory_code(self, category: str, name: str | None) -> str | None:
        """The catalog's code of sub-category ``name`` in ``category`` (codes are data)."""
        if not name:
            return None
        for code, sub in self.catalog.subcategories.items():
            if sub.name == name and sub.category == category:
                return str(code)
        return None

    def _file(self, intake: CaseIntake, caller: Caller, ticket: Ticket | None) -> FiledCase:
        actor = caller.actor
        act = filing_act(intake)
        CASE.permit(act, caller.roles)
        now = self.clock()
        when = self._validate(intake, now)
        lon, lat, precision, cell = self._locate(intake)
        key = CASE.new_key(when)
        if intake.channel in REQUEST_CHANNELS:
            return self._file_request(
                key, intake, caller, now, when, lon, lat, precision, cell, ticket
            )
        category, sub, found = self._classify(intake)
        catalog = self.catalog
        hours = sub.time_limit_hours if sub else catalog.category_limit_hours(category)
        channel = CHANNELS[intake.channel]
        reporter = {
            "name": intake.reporter_name,
            "phone": intake.reporter_phone,
            "email": intake.reporter_email,
            "channel": channel,
            "case": key,
            "at": iso(when),
        }
        sub_name = sub.name if sub else None
        attrs: dict[str, Any] = {
            "channel": channel,
            "intake": intake.door,
            "category": category,
            "category_name": catalog.categories[category].name,
            "subcategory": sub.code if sub else None,
            "subcategory_name": sub_name,
            "classification": (
                {"rule": "keywords", "matched": list(found.matched), "score": found.score}
                if found
                else {
                    "rule": "given by the reporter"
                    if intake.subcategory or intake.category
                    else "none"
                }
            ),
            "title": (intake.title or "").strip()
            or f"{self.grid.street_of.get(cell, '')}"
            f"{sub_name or catalog.categories[category].name}",
            "content": intake.description.strip(),
            "reporter": intake.reporter_name,
            "reporter_phone": intake.reporter_phone,
            "reporters": [reporter],
            "address": intake.address,
            "location_precision": precision,
            "street": self.grid.street_of.get(cell),
            "grid_cell": cell,
            "reported_at": iso(when),
            "handling_department": catalog.department_of(category, sub.code if sub else None),
            "photos": list(intake.attachments),
            "rating": None,
            "duplicates": [],
            "history": [],
        }
        due = when + timedelta(hours=hours)
        with self._lock:
            original = self._duplicate_of(key, lon, lat, category, sub, when)
            updates: list[dict[str, Any]] = []
            if original is None:
                number = CASE.file(attrs, "file", actor, now, key=key, due=due,
                                   note=f"filed via {channel}")  # fmt: skip
                record = self._record(key, attrs, lon, lat, now)
                CASE.check(caller.guard, act, record)
                (record,) = self._store([record], within=_kept(ticket, key, number))
            else:
                attrs["merged_into"] = original.key
                why = (
                    f"same problem as {original.key} (within {DUPLICATE_RADIUS_M:.0f} m "
                    f"and {DUPLICATE_WINDOW.days * 24} h)"
                )
                number = CASE.file(attrs, "file", actor, now, key=key, due=due, to="merged",
                                   note=why)  # fmt: skip
                record = self._record(key, attrs, lon, lat, now)
                # the policy judges the filing; the merge is its consequence, not the caller's
                CASE.check(caller.guard, act, record)
                merge = CASE.by_name["merge"]
                for attempt in range(MERGE_ATTEMPTS):
                    # the stored version, not the one in memory: the merge is written over
                    # it, read again when a step on another worker wrote it first
                    move = CASE.move(self.case(original.key), merge, None,
                                     note=f"duplicate {key} merged")  # fmt: skip
                    oa = move.attrs
                    oa["reporters"] = [*_reporters(move.record), reporter]
                    oa["duplicates"] = [*(oa.get("duplicates") or []), key]
                    CASE.apply(move, actor, now)
                    merged = CASE.changed(move, now)
                    try:
                        record, merged = self._store(
                            [record, merged], within=_kept(ticket, key, number)
                        )
                        break
                    except VersionConflict:
                        if attempt == MERGE_ATTEMPTS - 1:
                            raise
                updates.append(self._update(merged, move.current, oa["history"][-1]))
            updates.insert(0, self._update(record, None, attrs["history"][-1]))
        return FiledCase(record, number, tuple(updates))

    def _file_request(
        self,
        key: str,
        intake: CaseIntake,
        caller: Caller,
        now: datetime,
        when: datetime,
        lon: float,
        lat: float,
        precision: str,
        cell: str,
        ticket: Ticket | None,
    ) -> FiledCase:
        """A request channel's case: routed as the caller says, never merged."""
        channel = REQUEST_CHANNELS[intake.channel]
        topic = str(intake.topic).strip()
        hours = float(intake.time_limit_hours or 0)
        reporter = {
            "name": intake.reporter_name,
            "phone": intake.reporter_phone,
            "email": intake.reporter_email,
            "channel": channel,
            "case": key,
            "at": iso(when),
        }
        attrs: dict[str, Any] = dict(intake.extra)  # the channel's own attributes first
        attrs.update(
            {
                "channel": channel,
                "intake": intake.door,
                "category": None,
                "category_name": topic,
                "subcategory": None,
                "subcategory_name": None,
                "classification": {"rule": f"{intake.channel} request"},
                "title": (intake.title or "").strip() or topic,
                "content": intake.description.strip(),
                "reporter": intake.reporter_name,
                "reporter_phone": intake.reporter_phone,
                "reporters": [reporter],
                "address": intake.address,
                "location_precision": precision,
                "street": self.grid.street_of.get(cell),
                "grid_cell": cell,
                "reported_at": iso(when),
                "handling_department": str(intake.department).strip(),
                "photos": list(intake.attachments),
                "rating": None,
                "duplicates": [],
                "history": [],
            }
        )
        due = when + timedelta(hours=hours)
        number = CASE.file(
            attrs, "file", caller.actor, now, key=key, note=f"filed via {channel}", due=due
        )
        with self._lock:
            record = self._record(key, attrs, lon, lat, now)
            CASE.check(caller.guard, filing_act(intake), record)
            (record,) = self._store([record], within=_kept(ticket, key, number))
        return FiledCase(record, number, (self._update(record, None, attrs["history"][-1]),))

    def _duplicate_of(
        self,
        key: str,
        lon: float,
        lat: float,
        category: str,
        sub: SubCategory | None,
        when: datetime,
    ) -> Record | None:
        """The earliest open case of the same duty within the radius and the window."""
        candidates = []
        for r in self.cases().values():
            a = r.attrs
            if r.key == key or status_of(a) in {"closed", "merged"}:
                continue
            if a.get("category") != category:
                continue
            if sub is not None and a.get("subcategory") not in (None, sub.code):
                continue
            if abs(reported_at(r) - when) > DUPLICATE_WINDOW:
                continue
            pos = r.point()
            if pos is not None:
                candidates.append((r, pos))
        if not candidates:
            return None
        metres = haversine_m_many(
            lon, lat, [p[0] for _, p in candidates], [p[1] for _, p in candidates]
        )
        near = [r for (r, _), m in zip(candidates, metres.tolist(), strict=True)
                if m <= DUPLICATE_RADIUS_M]  # fmt: skip
        if not near:
            return None
        return min(near, key=lambda r: (reported_at(r), r.key))

    # -- the closed loop ------------------------------------------------------------------

    def transition(
        self,
        key: str,
        action: str,
        actor: str,
        roles: Sequence[str],
        *,
        note: str | None = None,
        department: str | None = None,
        confirmed: bool = True,
        result: str | None = None,
        reopen: bool = False,
        rating: int | None = None,
        expected_version: int | None = None,
        guard: Guard | None = None,
    ) -> tuple[Record, list[dict[str, Any]]]:
        """Move a case one step; a step the case cannot take now is a :class:`CaseError`;
        a case the policy's ``guard`` does not let the caller act on is not found.

        ``expected_version`` is the version the caller saw (the board's): another version
        stored is a :class:`VersionConflict` before anything else is judged. Without it the
        step acts on the version read here, and the store writes it only if that is still
        the stored one: of two steps racing on two workers, one is refused, none lost."""
        step = CASE.allowed(action, roles, note)
        now = self.clock()
        with self._lock:
            move = CASE.move(self.case(key), step, expected_version, note, guard)
            record, a, current = move.record, move.attrs, move.current
            if action == "verify":
                move.note = self._assign(record, a, note)
            elif action == "dispatch":
                direct = {CHANNELS["grid"], *REQUEST_CHANNELS.values()}
                if current == "filed" and a.get("channel") not in direct:
                    raise CaseError(
                        f"case {key} came by {a.get('channel')}: an inspector verifies it on "
                        "site first (verify), only grid inspectors' own reports go straight on"
                    )
                if not confirmed:
                    move.to = "closed"
                    move.note = a["result"] = note or "not confirmed on site"
                else:
                    dept = department or self.department(record)
                    if not dept:
                        raise CaseError("no department for this case; name one")
                    a["handling_department"] = dept
                    move.note = f"to {dept}" + (f": {note}" if note else "")
            elif action == "transfer":
                if not department:
                    raise CaseError("a transfer names the department it goes to")
                if department == a.get("handling_department"):
                    raise CaseError(f"case {key} is with {department} already")
                move.note = f"from {a.get('handling_department')} to {department}" + (
                    f": {note}" if note else ""
                )
                a["handling_department"] = department
            elif action == "return_misrouted":
                if not note:
                    raise CaseError("a returned case says why it is not the department's")
                move.note = f"{a.get('handling_department')} returned it: {note}"
            elif action == "resolve":
                if not result or not result.strip():
                    raise CaseError("a resolved case says what was done (result)")
                a["result"] = result.strip()
                a["resolved_at"] = iso(now)
                move.note = result.strip()
            elif action == "return_visit":
                if reopen:
                    move.to = "handling"
                    a.pop("resolved_at", None)
                    move.note = "citizen: not solved, back to handling" + (
                        f" ({note})" if note else ""
                    )
            elif action == "rate":
                if rating is None or not 1 <= rating <= 5:
                    raise CaseError("a rating is 1 to 5")
                a["rating"] = rating
                move.note = f"rated {rating}" + (f": {note}" if note else "")
            event = CASE.apply(move, actor, now)
            changed = CASE.changed(move, now)
            update = self._update(changed, current, event)
            # the step on the feed, in the write's transaction (an enterprise request's apart)
            request = a.get("channel") in REQUEST_CHANNELS.values()
            entry = CASE.feed_entry(move, update, REQUEST_TOPIC if request else None)
            (changed,) = self._store([changed], events=[entry])
        return changed, [update]

    def _assign(self, record: Record, a: dict[str, Any], note: str | None) -> str:
        pos = record.point()
        if pos is None:
            raise CaseError(f"case {record.key} has no position to send an inspector to")
        category = a.get("category")
        found = self.board.nearest(pos[0], pos[1], str(category) if category else None)
        if found is None:
            raise CaseError(f"no on-duty inspector covers duty {category}")
        inspector, metres = found
        a["inspector"] = inspector
        a["inspector_distance_m"] = round(metres, 1)
        return f"nearest on-duty inspector {inspector} ({metres:.0f} m)" + (
            f": {note}" if note else ""
        )

    def move_inspector(
        self,
        key: str,
        lon: float,
        lat: float,
        on_duty: bool | None,
        roles: Sequence[str],
        guard: Guard | None = None,
    ) -> Record:
        """An inspector's position (GCJ-02) and duty state, in the board and the store (if
        the policy's ``guard`` lets the caller move this inspector)."""
        CASE.permit("move_inspector", roles)
        if not (math.isfinite(lon) and math.isfinite(lat)):
            raise CaseError("lon/lat must be finite numbers")
        if self.grid.index.locate_key(lon, lat) is None:
            raise CaseError(f"({lon}, {lat}) is outside the district's grid")
        with self._lock:
            record = self.store.get("Inspector", key)
            if record is None:
                raise CaseNotFound(f"no inspector {key!r}")
            CASE.check(guard, "move_inspector", record)
            board = self.board
            now = self.clock()
            attrs = dict(record.attrs)
            attrs["position_at"] = iso(now)
            if on_duty is not None:
                attrs["on_duty"] = on_duty
            moved = record.model_copy(
                update={
                    "attrs": attrs,
                    "geometry": {"type": "Point", "coordinates": [lon, lat]},
                    "fetched_at": now,
                    "ingested_at": None,
                }
            )
            self.store.upsert([moved])
            if key in board.slots:
                board.move(key, lon, lat, on_duty)
            else:
                board.upsert(key, lon, lat, bool(attrs.get("on_duty")),
                             attrs.get("duty_categories") or [])  # fmt: skip
        return moved

    # -- helpers --------------------------------------------------------------------------

    @staticmethod
    def _record(key: str, attrs: dict[str, Any], lon: float, lat: float, now: datetime) -> Record:
        return Record(
            kind=CASE_KIND,
            key=key,
            source_system=HUB_SYSTEM,
            source_id=key,
            fetched_at=now,
            attrs=attrs,
            geometry={"type": "Point", "coordinates": [lon, lat]},
            datum="GCJ-02",
        )

    def _store(
        self,
        records: list[Record],
        events: Sequence[dict[str, Any]] = (),
        within: Sequence[Within] = (),
    ) -> list[Record]:
        """Write cases, each only over the version it was read at (a new one only if its key
        is free): a case another worker changed meanwhile is a :class:`VersionConflict`.
        ``events``: feed entries, ``within``: other writes, in the same transaction."""
        stored = CASE.write(self.store, records, events=events, within=within)
        for r in stored:
            self._cases[r.key] = r
            self._facts.pop(r.key, None)
        self._version += 1
        return stored

    def _update(
        self, record: Record, previous: str | None, event: dict[str, Any]
    ) -> dict[str, Any]:
        a = record.attrs
        return {
            "case_id": record.key,
            "status": status_of(a),
            "previous_status": previous,
            "at": event["at"],
            "actor": event["actor"],
            "note": event["note"],
            "category": a.get("category"),
            "channel": a.get("channel"),
            "grid_cell": a.get("grid_cell"),
            "street": a.get("street"),
            "handling_department": a.get("handling_department"),
        }

    # -- what a citizen sees ----------------------------------------------------------------

    def progress(self, number: str) -> dict[str, Any]:
        """Status, steps and result of the case behind a tracking number: no names, no
        phones, no other reporter's data, no staff ids."""
        record = self.by_tracking(number)
        followed = record
        merged_into = record.attrs.get("merged_into")
        if merged_into:
            # a merged report follows the case it joined
            followed = self.store.get(CASE_KIND, str(merged_into)) or record
        a = followed.attrs
        steps = [
            CASE.told(e)
            for e in (record.attrs.get("history") or [])
            + ([e for e in (a.get("history") or []) if followed is not record])
        ]
        status = status_of(a)
        return {
            "tracking_number": number.strip(),
            "status": status,
            "status_label": STATUS_LABELS[status],
            "category_name": a.get("category_name") or self._cat_name(a.get("category")),
            "subcategory_name": a.get("subcategory_name"),
            "reported_at": iso(reported_at(record)),
            "due_at": iso(d) if (d := self.due_at(followed)) else None,
            "handling_department": a.get("handling_department"),
            # the earlier case's number is its own reporter's capability: never shown here
            "merged_into_tracking": None,
            "steps": steps,
            "result": a.get("result") if status in DONE else None,
            "rating": a.get("rating"),
        }

    def _cat_name(self, code: Any) -> str | None:
        cat = self.catalog.categories.get(str(code or ""))
        return cat.name if cat else None


def _kept(ticket: Ticket | None, key: str, number: str) -> list[Within]:
    """A filing's idempotency key and its receipt, for the filing's own transaction."""
    return [ticket.keep({"case": key, "tracking_number": number})] if ticket else []


def _reporters(record: Record) -> list[dict[str, Any]]:
    a = record.attrs
    found = a.get("reporters")
    if isinstance(found, list):
        return list(found)
    # a source system's case names its one reporter flatly
    return [{"name": a.get("reporter"), "phone": a.get("reporter_phone"),
             "channel": a.get("channel"), "case": record.key,
             "at": a.get("reported_at")}]  # fmt: skip


def _filter_key(f: CaseFilter) -> tuple[Hashable, ...]:
    """A filter as a hashable value: each field (``status`` as a tuple)."""
    return tuple(
        tuple(v) if name == "status" else v
        for name, v in ((n, getattr(f, n)) for n in CaseFilter.__dataclass_fields__)
    )


def case_desk_of(centre: CitizenServiceCentre) -> CaseDesk:
    """The centre as the city's case desk (a static check that it keeps the contract)."""
    return centre
