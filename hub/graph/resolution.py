"""Entity resolution: which stored records describe the same firm, vehicle, person or place.

Strong identities join records outright: a valid unified social credit code (firms), a plate
(vehicles), a hashed resident ID number (people), or a record that names another as itself
(a finance-office firm pointing at its registry entry). Firms without a code fall back to
their normalised name — with the address agreeing, 0.9; name alone, 0.8; trade name alone,
0.6 — and only when exactly one known firm matches.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hub.graph.model import Entity, Member
from hub.graph.names import address_key, brand_key, name_key, plate_key
from schema.masking import masked
from schema.record import Record
from schema.uscc import is_valid_uscc

FIRM_KINDS = frozenset({"Enterprise", "FinanceFirm", "HazchemFirm"})
# Records that describe one firm's own figures: part of the firm when they carry its code.
FIRM_FACET_KINDS = frozenset({"FinanceReport", "EconomicIndicator"})
VEHICLE_KINDS = frozenset({"HazchemVehicle", "MuckTruck"})
PERSON_KINDS = frozenset({"Citizen", "Inspector"})
# Attributes by which a record says "I am the same thing as that record".
SAME_AS = {("FinanceFirm", "enterprise"), ("HazchemFirm", "enterprise")}

CONFIDENCE = {
    "uscc": 1.0,
    "plate": 1.0,
    "id_hash": 1.0,
    "reference": 1.0,
    "record": 1.0,
    "name_address": 0.9,
    "name": 0.8,
    "brand": 0.6,
}


def entity_type(kind: str) -> str:
    if kind in FIRM_KINDS:
        return "Firm"
    if kind in VEHICLE_KINDS:
        return "Vehicle"
    if kind in PERSON_KINDS:
        return "Person"
    return kind


def id_hash(resident_id: str, secret: str) -> str:
    """A keyed hash of a resident ID number: joins people without keeping the number."""
    digest = hmac.new(secret.encode(), resident_id.strip().upper().encode(), hashlib.sha256)
    return digest.hexdigest()[:24]


@dataclass
class Resolution:
    entities: list[Entity]
    members: list[Member]
    entity_of: dict[tuple[str, str], str]  # (kind, key) → entity id
    names: FirmNames

    def firm_named(self, name: str) -> tuple[str, str] | None:
        """(entity id, method) of the one firm a name can mean, or None."""
        return self.names.find(name, self.entity_of)


@dataclass
class FirmNames:
    """Known firms by normalised name and by trade name (values: a member record of each)."""

    by_name: dict[str, set[tuple[str, str]]]
    by_brand: dict[str, set[tuple[str, str]]]

    def find(self, name: str, entity_of: dict[tuple[str, str], str]) -> tuple[str, str] | None:
        for index, key, how in (
            (self.by_name, name_key(name), "name"),
            (self.by_brand, brand_key(name), "brand"),
        ):
            firms = {entity_of[ref] for ref in index.get(key, set()) if ref in entity_of}
            if len(firms) == 1:
                return firms.pop(), how
            if len(firms) > 1:
                return None  # ambiguous: better no link than a wrong one
        return None


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[tuple[str, str], tuple[str, str]] = {}

    def find(self, x: tuple[str, str]) -> tuple[str, str]:
        self.parent.setdefault(x, x)
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: tuple[str, str], b: tuple[str, str]) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _strong_identity(record: Record, secret: str) -> tuple[str, str] | None:
    a = record.attrs
    if record.kind in FIRM_KINDS or record.kind in FIRM_FACET_KINDS:
        code = str(a.get("uscc") or "").strip().upper()
        if code and is_valid_uscc(code):
            return f"Firm:{code}", "uscc"
    elif record.kind in VEHICLE_KINDS:
        if a.get("plate"):
            return f"Vehicle:{plate_key(str(a['plate']))}", "plate"
    elif record.kind in PERSON_KINDS and a.get("resident_id"):
        return f"Person:{id_hash(str(a['resident_id']), secret)}", "id_hash"
    return None


def entity_label(
    entity_type: str,
    attrs: Sequence[Mapping[str, Any]],
    fallback: str,
    *,
    mask_person: bool = True,
) -> str:
    """An entity's display name from its records' attributes: the name most of them give (a
    person's masked unless ``mask_person`` is False: the caller masked it already), else the
    first record's title, plate, code or tank number, else ``fallback`` (its key)."""
    names = Counter(str(a.get("name") or "") for a in attrs if a.get("name"))
    if entity_type == "Person":
        name = names.most_common(1)[0][0] if names else ""
        if name and mask_person:
            return str(masked({"name": name}, {"name": "name"})["name"])
        return name or "(unnamed)"
    if names:
        return names.most_common(1)[0][0]
    first = attrs[0] if attrs else {}
    for field in ("title", "plate", "code", "tank_no"):
        if first.get(field):
            return str(first[field])
    return fallback


def resolve(records: Iterable[Record], *, secret: str) -> Resolution:
    """Group records into entities."""
    by_ref: dict[tuple[str, str], Record] = {}
    uf = _UnionFind()
    identity_of_root: dict[tuple[str, str], tuple[str, str]] = {}
    strong: dict[str, tuple[str, str]] = {}  # identity → first record with it
    method: dict[tuple[str, str], str] = {}
    for record in records:
        ref = (record.kind, record.key)
        by_ref[ref] = record
        uf.find(ref)
        found = _strong_identity(record, secret)
        if found:
            identity, how = found
            method[ref] = how
            if identity in strong:
                uf.union(strong[identity], ref)
            else:
                strong[identity] = ref
    for ref, record in by_ref.items():
        for kind, attr in SAME_AS:
            target = record.attrs.get(attr)
            if record.kind == kind and target and (("Enterprise", str(target)) in by_ref):
                uf.union(ref, ("Enterprise", str(target)))
                method.setdefault(ref, "reference")
    names = _match_firms_by_name(by_ref, uf, method)
    for identity, ref in sorted(strong.items()):
        identity_of_root.setdefault(uf.find(ref), (identity, method[ref]))

    groups: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for ref in by_ref:
        groups[uf.find(ref)].append(ref)
    entities: list[Entity] = []
    members: list[Member] = []
    entity_of: dict[tuple[str, str], str] = {}
    for root, refs in sorted(groups.items()):
        refs.sort()
        kind_type = entity_type(refs[0][0])
        strong_id = identity_of_root.get(root)
        if strong_id:
            entity_id, resolved_by = strong_id
            kind_type = entity_id.split(":", 1)[0]
        else:
            entity_id, resolved_by = f"{kind_type}:{refs[0][1]}", "record"
        group_records = [by_ref[r] for r in refs]
        confidence = min(CONFIDENCE[method.get(r, "record")] for r in refs)
        entities.append(
            Entity(
                entity_id,
                kind_type,
                entity_label(kind_type, [r.attrs for r in group_records], group_records[0].key),
                resolved_by,
                confidence,
            )
        )
        for ref in refs:
            how = method.get(ref, "record")
            members.append(
                Member(entity_id, ref[0], ref[1], by_ref[ref].source_system, how, CONFIDENCE[how])
            )
            entity_of[ref] = entity_id
    return Resolution(entities, members, entity_of, names)


def _match_firms_by_name(
    by_ref: dict[tuple[str, str], Record], uf: _UnionFind, method: dict[tuple[str, str], str]
) -> FirmNames:
    """Join firm records that have no strong identity to a unique firm of the same name."""
    anchored: dict[str, set[tuple[str, str]]] = defaultdict(set)
    brands: dict[str, set[tuple[str, str]]] = defaultdict(set)
    addresses: dict[tuple[str, str], set[str]] = defaultdict(set)
    loose: list[tuple[str, str]] = []
    for ref, record in by_ref.items():
        if record.kind not in FIRM_KINDS or not record.attrs.get("name"):
            continue
        if ref not in method:
            loose.append(ref)
            continue
        root = uf.find(ref)
        name = str(record.attrs["name"])
        anchored[name_key(name)].add(root)
        brands[brand_key(name)].add(root)
        if record.attrs.get("address"):
            addresses[root].add(address_key(str(record.attrs["address"])))
    for ref in loose:
        attrs = by_ref[ref].attrs
        name = str(attrs["name"])
        candidates = anchored.get(name_key(name), set())
        how = "name"
        if len(candidates) != 1:
            candidates, how = brands.get(brand_key(name), set()), "brand"
        if len(candidates) != 1:
            continue
        (root,) = candidates
        address = address_key(str(attrs.get("address") or ""))
        if how == "name" and address and address in addresses[root]:
            how = "name_address"
        uf.union(ref, root)
        method[ref] = how
    by_name: dict[str, set[tuple[str, str]]] = defaultdict(set)
    by_brand: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for ref, record in by_ref.items():
        if record.kind in FIRM_KINDS and record.attrs.get("name"):
            by_name[name_key(str(record.attrs["name"]))].add(ref)
            by_brand[brand_key(str(record.attrs["name"]))].add(ref)
    return FirmNames(dict(by_name), dict(by_brand))
