"""Typed relations read off the records: which attribute of which kind names what."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import NamedTuple

from hub.graph.model import Relation
from hub.graph.names import plate_key
from hub.graph.resolution import CONFIDENCE
from schema.record import Record
from schema.uscc import is_valid_uscc


class Rule(NamedTuple):
    rel: str
    target_kind: str
    # False: this record's entity → target; True: target → this record's entity
    reverse: bool = False


# (kind, attribute) → rule. "grid_cell", "park" and "street_key" hold for every kind.
RULES: dict[tuple[str, str], Rule] = {
    ("HazchemFirm", "site"): Rule("OPERATES", "HazchemSite"),
    ("HazchemSite", "firm"): Rule("OPERATES", "HazchemFirm", reverse=True),
    ("Tank", "site"): Rule("PART_OF", "HazchemSite"),
    ("Tank", "firm"): Rule("OWNS_TANK", "HazchemFirm", reverse=True),
    ("Sensor", "tank"): Rule("MONITORS", "Tank"),
    ("StockMovement", "site"): Rule("AT_SITE", "HazchemSite"),
    ("HazchemVehicle", "owner_firm"): Rule("OWNS_VEHICLE", "HazchemFirm", reverse=True),
    ("MuckTruck", "company"): Rule("OWNS_VEHICLE", "Enterprise", reverse=True),
    ("MuckTruck", "permitted_dump"): Rule("PERMITTED_TO_DUMP_AT", "DumpingSite"),
    ("MuckTruck", "permitted_site"): Rule("SERVES_SITE", "ConstructionSite"),
    ("ConstructionSite", "builder"): Rule("BUILT_BY", "Enterprise"),
    ("Gate", "river"): Rule("ON_RIVER", "River"),
    ("WaterStation", "river"): Rule("ON_RIVER", "River"),
    ("Inspector", "grid_cell"): Rule("ASSIGNED_TO", "GridCell"),
    ("GridCell", "street_key"): Rule("IN_STREET", "Street"),
    ("ServiceApplication", "citizen"): Rule("APPLIED", "Citizen", reverse=True),
    ("ServiceApplication", "enterprise"): Rule("APPLIED", "Enterprise", reverse=True),
    ("ServiceApplication", "item"): Rule("FOR_ITEM", "ServiceItem"),
    ("DutySubCategory", "category"): Rule("PART_OF", "DutyCategory"),
}
ANY_KIND: dict[str, Rule] = {
    "grid_cell": Rule("LOCATED_IN", "GridCell"),
    "park": Rule("IN_PARK", "IndustrialPark"),
}
# Records that are not themselves firms or vehicles but concern one, by its code or plate.
CONCERNS_FIRM = ("uscc", "firm_uscc", "party_uscc")
CONCERNS_VEHICLE = ("plate", "vehicle_plate")
# ...or only by its name, as a complaint names the firm complained about.
CONCERNS_FIRM_NAMED = ("respondent_name", "party_name", "firm_name", "subject_name")
# An end that names a record the graph does not hold yet ("ref:Enterprise:ENT-3"): such a
# relation waits, pending, until the record arrives and takes its entity's place.
REF = "ref:"


def record_ref(kind: str, key: str) -> str:
    return f"{REF}{kind}:{key}"


def _rules(record: Record) -> Iterator[tuple[str, Rule]]:
    for attr in record.attrs:
        rule = RULES.get((record.kind, attr)) or ANY_KIND.get(attr)
        if rule:
            yield attr, rule


def targets(records: Iterable[Record]) -> list[tuple[str, str]]:
    """The (kind, key) of every record these records' attributes name (for a batch look-up)."""
    out: list[tuple[str, str]] = []
    for record in records:
        for attr, rule in _rules(record):
            values = record.attrs[attr]
            for value in values if isinstance(values, list) else [values]:
                if value:
                    out.append((rule.target_kind, str(value)))
    return out


def relations(
    records: Iterable[Record],
    entity_of: dict[tuple[str, str], str],
    firm_kinds: frozenset[str],
    vehicle_kinds: frozenset[str],
    firm_named: Callable[[str], tuple[str, str] | None] = lambda _name: None,
    *,
    unresolved: bool = False,
) -> list[Relation]:
    """Relations between entities that the records state, each with its record as source;
    with ``unresolved``, also those to records not held (their end a :func:`record_ref`)."""
    out: dict[tuple[str, str, str, str, str], Relation] = {}

    def add(src: str, rel: str, dst: str, record: Record, confidence: float = 1.0) -> None:
        if src != dst:
            key = (src, rel, dst, record.kind, record.key)
            out.setdefault(
                key,
                Relation(src, rel, dst, record.source_system, record.kind, record.key, confidence),
            )

    for record in records:
        me = entity_of.get((record.kind, record.key))
        if me is None:
            continue
        for attr, rule in _rules(record):
            values = record.attrs[attr]
            for value in values if isinstance(values, list) else [values]:
                other = entity_of.get((rule.target_kind, str(value))) if value else None
                if other is None and value and unresolved:
                    other = record_ref(rule.target_kind, str(value))
                if other:
                    add(other, rule.rel, me, record) if rule.reverse else add(
                        me, rule.rel, other, record
                    )
        if record.kind not in firm_kinds and not me.startswith("Firm:"):
            coded = False
            for attr in CONCERNS_FIRM:
                code = str(record.attrs.get(attr) or "").upper()
                if code and is_valid_uscc(code):
                    add(me, "CONCERNS", f"Firm:{code}", record)
                    coded = True
            about_firm = record.attrs.get("subject_type", "firm") == "firm"
            for attr in CONCERNS_FIRM_NAMED if about_firm and not coded else ():
                if record.attrs.get(attr) and (found := firm_named(str(record.attrs[attr]))):
                    firm, how = found
                    add(me, "CONCERNS", firm, record, CONFIDENCE[how])
        if record.kind not in vehicle_kinds:
            for attr in CONCERNS_VEHICLE:
                if record.attrs.get(attr):
                    add(me, "CONCERNS", f"Vehicle:{plate_key(str(record.attrs[attr]))}", record)
    return list(out.values())
