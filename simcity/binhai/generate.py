"""Generate the Binhai demo city: one JSON-Lines file per record kind, plus a manifest.

``<out_dir>/<Kind>.jsonl`` holds that kind's records, one per line, sorted by key::

    {"kind": "GridCell", "key": "BH-TANGGU-001", "source_system": "grid-management",
     "source_id": "BH-TANGGU-001", "fetched_at": "2026-05-31T21:14:03+08:00",
     "attrs": {...}, "geometry": {...} | null, "datum": "GCJ-02" | null}

``<out_dir>/manifest.json`` holds ``seed``, ``scale``, ``generator_version``, ``datum``,
``counts`` (records per kind) and ``sha256`` (per file name).

The same seed and scale give byte-identical files: all randomness comes from generators
seeded per step, all times from a fixed base time, all JSON is written with sorted keys and
fixed separators. ``scale`` multiplies the entity counts (firms, vehicles, tanks, sensors,
citizens, ...); the district, its 21 streets, 743 grid cells and inspectors, 12 parks, 12
rivers, 28 systems, the 13/124 duty catalog and the service-item catalog stay as they are
(see ``FIXED_KINDS``).

Run it as ``python -m simcity.binhai.generate OUT_DIR [--seed N] [--scale N]``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from simcity.binhai.basemap import generate_basemap, generate_systems
from simcity.binhai.cameras import generate_cameras
from simcity.binhai.citizens import generate_citizens
from simcity.binhai.context import Context
from simcity.binhai.enterprises import EnterpriseRegistry
from simcity.binhai.finance import generate_finance
from simcity.binhai.geography import DEFAULT_SEED
from simcity.binhai.hazchem import generate_hazchem
from simcity.binhai.inspectors import generate_grid
from simcity.binhai.muck import generate_muck
from simcity.binhai.names import FirmNamer
from simcity.binhai.news import generate_news
from simcity.binhai.outline import DATUM
from simcity.binhai.services import generate_applications, generate_service_items
from simcity.binhai.systems import SYSTEM_BY_ID
from simcity.binhai.vehicles import generate_vehicles
from simcity.binhai.water import generate_water

GENERATOR_VERSION = "1.0.0"

FIXED_KINDS = frozenset(
    {"District", "Street", "GridCell", "Inspector", "DutyCategory", "DutySubCategory",
     "SourceSystem", "IndustrialPark", "River", "ServiceItem"}
)  # fmt: skip
"""Kinds whose counts do not grow with ``scale``."""

STEPS = (
    "grid",
    "base map and systems",
    "finance firms",
    "hazchem firms, sites, tanks and sensors",
    "hazchem vehicles",
    "muck trucks and sites",
    "enterprises",
    "water",
    "cameras",
    "citizens",
    "service items and applications",
    "news",
    "writing files",
)

Progress = Callable[[str, int, int], None]


def build(
    seed: int = DEFAULT_SEED, scale: int = 1, progress: Progress | None = None
) -> dict[str, list[dict[str, Any]]]:
    """All records of the city, by kind (not yet sorted)."""
    total = len(STEPS)
    done = 0

    def step(name: str) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(name, done, total)

    if progress is not None:
        progress(STEPS[0], 0, total)
    ctx = Context(seed, scale)
    kinds: dict[str, list[dict[str, Any]]] = {}
    kinds.update(generate_grid(ctx))
    step(STEPS[0])
    kinds.update(generate_basemap(ctx))
    kinds["SourceSystem"] = generate_systems(ctx)
    step(STEPS[1])
    registry = EnterpriseRegistry(ctx)
    namer = FirmNamer()
    kinds["FinanceFirm"] = generate_finance(ctx, registry, namer)
    step(STEPS[2])
    hazchem = generate_hazchem(ctx, registry, namer)
    kinds.update(
        HazchemFirm=hazchem.firms,
        HazchemSite=hazchem.sites,
        Tank=hazchem.tanks,
        Sensor=hazchem.sensors,
        StockMovement=hazchem.movements,
    )
    step(STEPS[3])
    kinds["HazchemVehicle"] = generate_vehicles(ctx, hazchem)
    step(STEPS[4])
    kinds.update(generate_muck(ctx, registry, namer))
    step(STEPS[5])
    kinds["Enterprise"] = registry.records()
    step(STEPS[6])
    kinds.update(generate_water(ctx))
    step(STEPS[7])
    kinds["Camera"] = generate_cameras(ctx)
    step(STEPS[8])
    kinds["Citizen"] = generate_citizens(ctx)
    step(STEPS[9])
    kinds["ServiceItem"] = generate_service_items(ctx)
    kinds["ServiceApplication"] = generate_applications(
        ctx, kinds["ServiceItem"], kinds["Citizen"], kinds["Enterprise"]
    )
    step(STEPS[10])
    kinds["NewsItem"] = generate_news(ctx)
    step(STEPS[11])
    _check(kinds)
    return kinds


def _check(kinds: dict[str, list[dict[str, Any]]]) -> None:
    for kind, records in kinds.items():
        keys = [r["key"] for r in records]
        if len(set(keys)) != len(keys):
            raise AssertionError(f"duplicate keys in {kind}")
        for r in records:
            if r["kind"] != kind or r["source_system"] not in SYSTEM_BY_ID:
                raise AssertionError(f"bad record {r['key']} in {kind}")


_ENCODER = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
)


def dumps(record: dict[str, Any]) -> str:
    """The one canonical JSON form of a record (a line of a ``.jsonl`` file)."""
    return _ENCODER.encode(record)


def generate(
    out_dir: Path,
    seed: int = DEFAULT_SEED,
    scale: int = 1,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Write ``<out_dir>/<Kind>.jsonl`` per kind and ``manifest.json``; return the manifest."""
    if isinstance(scale, bool) or not isinstance(scale, int) or scale < 1:
        raise ValueError(f"scale must be a positive integer, got {scale!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    kinds = build(seed, scale, progress)
    counts: dict[str, int] = {}
    digests: dict[str, str] = {}
    for kind in sorted(kinds):
        records = sorted(kinds[kind], key=lambda r: r["key"])
        data = "".join(dumps(r) + "\n" for r in records).encode("utf-8")
        name = f"{kind}.jsonl"
        _write(out_dir / name, data)
        counts[kind] = len(records)
        digests[name] = hashlib.sha256(data).hexdigest()
    manifest = {
        "seed": seed,
        "scale": scale,
        "generator_version": GENERATOR_VERSION,
        "datum": DATUM,
        "counts": counts,
        "sha256": digests,
    }
    text = json.dumps(manifest, ensure_ascii=False, sort_keys=True, indent=2) + "\n"
    _write(out_dir / "manifest.json", text.encode("utf-8"))
    if progress is not None:
        progress(STEPS[-1], len(STEPS), len(STEPS))
    return manifest


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m simcity.binhai.generate",
        description="Generate the Binhai demo city as JSON-Lines files (one per record kind).",
    )
    parser.add_argument("out_dir", type=Path, help="directory to write <Kind>.jsonl files into")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (2019)")
    parser.add_argument("--scale", type=int, default=1, help="multiply entity counts (1)")
    args = parser.parse_args(argv)
    if args.scale < 1:
        parser.error("--scale must be a positive integer")
    start = time.perf_counter()

    def show(name: str, done: int, total: int) -> None:
        print(f"[{done:>2}/{total}] {name}", file=sys.stderr)

    manifest = generate(args.out_dir, args.seed, args.scale, show)
    for kind, n in manifest["counts"].items():
        print(f"{kind:20s} {n:>9,}")
    print(f"done in {time.perf_counter() - start:.1f} s → {args.out_dir}", file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
