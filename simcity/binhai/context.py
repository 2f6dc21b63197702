"""What every generator step shares: the seed, the scale, seeded random sources, the clock,
point → grid-cell lookups and the record constructor.

Determinism rules kept here:

* every step draws from its own generator derived from ``(seed, step name)`` by SHA-256, so
  adding or changing one step never shifts the numbers of another;
* time is ``BASE_TIME`` (2026-06-01T00:00:00+08:00) minus seeded offsets — never the clock;
* geometry is lon/lat GCJ-02 rounded to 6 decimals, and every point is checked inside the
  district (and its grid cell) *after* rounding.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

import numpy as np
import shapely
from faker import Faker

from simcity.binhai.geography import CellIndex, cell_index, grid_cells, population_lattice
from simcity.binhai.outline import COORD_DECIMALS, DATUM, outline
from simcity.binhai.streets import STREET_BY_NAME, StreetDef

CST = timezone(timedelta(hours=8))
BASE_TIME = datetime(2026, 6, 1, 0, 0, 0, tzinfo=CST)
BASE_DATE = BASE_TIME.date()


def derive_seed(seed: int, name: str) -> int:
    """A 64-bit seed for one named step, independent of every other step's."""
    digest = hashlib.sha256(f"binhai/{seed}/{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def iso(moment: datetime) -> str:
    return moment.astimezone(CST).isoformat(timespec="seconds")


def key(prefix: str, n: int) -> str:
    """A numbered key: ``FIN-0000001`` (7 digits keeps string order = numeric order)."""
    return f"{prefix}-{n:07d}"


@dataclass
class Context:
    seed: int
    scale: int = 1
    _cells: list[dict[str, Any]] = field(default_factory=list, repr=False)
    _index: CellIndex | None = field(default=None, repr=False)
    used_ids: set[str] = field(default_factory=set, repr=False)
    used_phones: set[str] = field(default_factory=set, repr=False)
    used_plates: set[str] = field(default_factory=set, repr=False)

    def __post_init__(self) -> None:
        if self.scale < 1:
            raise ValueError(f"scale must be a positive integer, got {self.scale}")
        self._cells = grid_cells(self.seed)
        self._index = cell_index(self.seed)

    # --- random sources --------------------------------------------------------------------
    def rng(self, name: str) -> random.Random:
        return random.Random(derive_seed(self.seed, name))

    def np_rng(self, name: str) -> np.random.Generator:
        return np.random.default_rng(derive_seed(self.seed, name))

    def faker(self, name: str) -> Faker:
        fake = Faker("zh_CN")
        fake.seed_instance(derive_seed(self.seed, "faker/" + name))
        return fake

    # --- time ------------------------------------------------------------------------------
    def fetched_at(self, rng: random.Random, max_hours: float = 6.0) -> str:
        """When a connector read the record: within ``max_hours`` before the base time."""
        return iso(BASE_TIME - timedelta(seconds=rng.randrange(1, int(max_hours * 3600) + 2)))

    @staticmethod
    def before(rng: random.Random, max_seconds: int, min_seconds: int = 0) -> datetime:
        return BASE_TIME - timedelta(seconds=rng.randrange(min_seconds, max_seconds + 1))

    @staticmethod
    def day_between(rng: random.Random, start: date, end: date) -> date:
        return start + timedelta(days=rng.randrange((end - start).days + 1))

    # --- space -----------------------------------------------------------------------------
    @property
    def cells(self) -> list[dict[str, Any]]:
        return self._cells

    @property
    def index(self) -> CellIndex:
        assert self._index is not None
        return self._index

    def locate(self, lon: np.ndarray, lat: np.ndarray) -> list[tuple[str, str]]:
        """(grid-cell key, street name) for each point; the points must be inside."""
        found = self.index.locate(lon, lat)
        missing = np.flatnonzero(found < 0)
        if len(missing):
            # inside the outline but in a hair-thin sliver the snapped cells leave: nearest cell
            pts = shapely.points(np.asarray(lon)[missing], np.asarray(lat)[missing])
            (src, dst), dist = self.index.tree.query_nearest(pts, return_distance=True)
            if (dist > 1e-5).any():
                bad = int(missing[src[np.argmax(dist > 1e-5)]])
                raise ValueError(f"point {lon[bad]}, {lat[bad]} is outside every grid cell")
            for s, d in sorted(zip(src.tolist(), dst.tolist(), strict=True), reverse=True):
                found[missing[s]] = d
        return [(self.index.keys[i], self.index.streets[i]) for i in found]

    def street(self, name: str) -> StreetDef:
        return STREET_BY_NAME[name]

    def population_points(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` lon/lat points distributed like the residents (rounded, inside the district)."""
        if n <= 0:
            return np.empty((0, 2))
        _, lonlat, density = population_lattice()
        p = density / density.sum()
        district = outline()
        out: list[np.ndarray] = []
        have = 0
        # lattice spacing is 250 m ≈ 0.0029° lon, 0.00225° lat: jitter inside the lattice cell
        while have < n:
            picks = rng.choice(len(lonlat), size=n - have + 16, p=p)
            jitter = rng.uniform(-0.5, 0.5, (len(picks), 2)) * np.array([0.0029, 0.00225])
            pts = np.round(lonlat[picks] + jitter, COORD_DECIMALS)
            ok = shapely.contains_xy(district, pts[:, 0], pts[:, 1])
            out.append(pts[ok])
            have += int(ok.sum())
        return np.concatenate(out)[:n]

    def near_points(
        self,
        rng: np.random.Generator,
        lon: float,
        lat: float,
        sigma_km: float,
        n: int,
        within: shapely.Geometry | None = None,
    ) -> np.ndarray:
        """``n`` points scattered (Gaussian, ``sigma_km``) about a centre, inside the district
        (and inside ``within`` if given), rounded."""
        area = within if within is not None else outline()
        shapely.prepare(area)
        kx = 111.195 * np.cos(np.radians(lat))
        out: list[np.ndarray] = []
        have = 0
        for _ in range(1000):
            m = max(8, (n - have) * 2)
            pts = np.column_stack(
                [lon + rng.normal(0, sigma_km, m) / kx, lat + rng.normal(0, sigma_km, m) / 111.195]
            )
            pts = np.round(pts, COORD_DECIMALS)
            ok = shapely.contains_xy(area, pts[:, 0], pts[:, 1])
            if within is not None:
                ok &= shapely.contains_xy(outline(), pts[:, 0], pts[:, 1])
            out.append(pts[ok])
            have += int(ok.sum())
            if have >= n:
                return np.concatenate(out)[:n]
        raise ValueError(f"cannot place points near {lon}, {lat}")

    # --- records ---------------------------------------------------------------------------
    @staticmethod
    def record(
        kind: str,
        key: str,
        source_system: str,
        source_id: str,
        fetched_at: str,
        attrs: dict[str, Any],
        geometry: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        return {
            "kind": kind,
            "key": key,
            "source_system": source_system,
            "source_id": source_id,
            "fetched_at": fetched_at,
            "attrs": attrs,
            "geometry": geometry,
            "datum": DATUM if geometry is not None else None,
        }
