"""The places streams and incidents act on: a system's records as the hub will read them, and
the one an incident is asked for (``Where``: a key, a name, a point — the nearest — or none: a
pick drawn from the seed and the hour of the city's time)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime

import shapely
from shapely.geometry import shape

from connectors.errors import MappingError
from connectors.validate import RecordValidator
from schema.record import Record
from simcity.sandbox.streams import HOUR, LiveCity, Where

_EPOCH = datetime.fromtimestamp(0, UTC)


def records(city: LiveCity, system: str, kind: str) -> list[Record]:
    """The ``kind`` records of ``system`` the hub keeps (its rows through the connector's
    mapping; those the hub quarantines — a bad position, a missing name — left out), in key
    order, read once per live city."""
    cache = city.state.setdefault("places.records", {})
    found = cache.get((system, kind))
    if found is None:
        from connectors.binhai import binhai_area

        validator = cache.get("validator")
        if validator is None:
            validator = cache["validator"] = RecordValidator(binhai_area())
        data = city.systems[system]
        mapping = next(m for m in data.spec.mappings if m.kind == kind)
        by_key: dict[str, Record] = {}
        for row in data.streams.get(mapping.stream, []):
            try:
                record = mapping.to_record(row, system, _EPOCH)
            except MappingError:
                continue
            if validator.reason(record) is None:
                by_key.setdefault(record.key, record)
        found = cache[(system, kind)] = [by_key[k] for k in sorted(by_key)]
    return list(found)


def name_of(record: Record) -> str:
    return str(record.attrs.get("name") or record.key)


def incident_rng(city: LiveCity, kind: str) -> random.Random:
    """An incident's random source: the seed, its kind and the hour of the city's time."""
    return city.rng(kind, int(city.clock.seconds() // HOUR))


def pick(
    candidates: Sequence[Record],
    where: Where,
    rng: random.Random,
    what: str,
    free: Sequence[Record] = (),
) -> Record:
    """The record ``where`` names (its key, source id or name), the nearest to its point, or
    one drawn from ``rng`` — of ``free`` when there are any (a river not in flood yet, a
    healthy pump: where the incident shows); ValueError for a site that is none of them."""
    if not candidates:
        raise ValueError(f"the city has no {what}")
    if where.site:
        for r in candidates:
            if where.site in (r.key, r.source_id, r.attrs.get("name"), r.attrs.get("code")):
                return r
        raise ValueError(f"no {what} {where.site!r}")
    if where.lon is not None and where.lat is not None:
        point = shapely.Point(where.lon, where.lat)
        placed = [(shape(r.geometry), r) for r in candidates if r.geometry]
        if placed:
            return min(placed, key=lambda g: float(g[0].distance(point)))[1]
    return rng.choice(list(free or candidates))
