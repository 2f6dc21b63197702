"""Entity linking: which firm a row of another system means (an enforcement case's party, a
finance report, an economic indicator, a complaint's respondent).

One implementation for the knowledge graph and the apps: the firms are grouped by the graph's
own resolution (:func:`hub.graph.resolution.resolve` — credit code, a record naming its
registry entry, else a unique normalised name or trade name), so a row links to the same firm
here as in ``entity360``, and two records of one firm never make its name ambiguous.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from hub.graph.resolution import CONFIDENCE, FIRM_KINDS, Resolution, resolve
from schema.record import Record

# How a link was found, strongest first: the row named the firm's record by key, gave its
# credit code, its normalised name, or only its trade name.
LINK_METHODS = ("key", "uscc", "name", "brand")


@dataclass(frozen=True)
class FirmLink:
    entity_id: str  # the knowledge graph's entity, e.g. Firm:91120116MA05BBJ537
    key: str | None  # the firm's record of the kind asked for, when it has one
    how: str  # one of LINK_METHODS
    confidence: float


class FirmLinker:
    """Links rows to the firms among ``firms`` (records of the firm kinds; others ignored)."""

    def __init__(self, firms: Iterable[Record]) -> None:
        records = [r for r in firms if r.kind in FIRM_KINDS]
        # firms carry no personal identity, so the resident-ID key plays no part here
        self.resolution: Resolution = resolve(records, secret="")
        self.records = {(r.kind, r.key): r for r in records}
        # how each firm record joined its entity (uscc, reference, name, brand, record)
        self.methods = {(m.kind, m.key): m.method for m in self.resolution.members}
        self._by_code: dict[str, str] = {}
        self._members: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for ref, entity_id in self.resolution.entity_of.items():
            self._members[entity_id].append(ref)
            code = str(self.records[ref].attrs.get("uscc") or "").strip().upper()
            if code:
                # a code that fails its checksum still names the firm that files it
                self._by_code.setdefault(code, entity_id)

    def entity_of(self, kind: str, key: str) -> str | None:
        return self.resolution.entity_of.get((kind, key))

    def coded(self, uscc: object) -> str | None:
        """The firm entity a credit code names, or None."""
        code = uscc.strip().upper() if isinstance(uscc, str) else ""
        return self._by_code.get(code) if code else None

    def named(self, name: object) -> tuple[str, str] | None:
        """(entity id, "name" | "brand") of the one firm a name can mean, or None."""
        if not isinstance(name, str) or not name.strip():
            return None
        return self.resolution.firm_named(name)

    def link(
        self,
        *,
        kind: str,
        key: object = None,
        uscc: object = None,
        name: object = None,
        by_brand: bool = True,
    ) -> FirmLink | None:
        """The firm a row means — by the key of a ``kind`` record, its credit code, else its
        name (and trade name unless ``by_brand`` is False) — with its ``kind`` record's key."""
        found: tuple[str, str] | None = None
        if isinstance(key, str) and (kind, key) in self.records:
            found = self.resolution.entity_of[(kind, key)], "key"
        elif entity_id := self.coded(uscc):
            found = entity_id, "uscc"
        elif (named := self.named(name)) and (by_brand or named[1] == "name"):
            found = named
        if found is None:
            return None
        entity_id, how = found
        return FirmLink(entity_id, self.record_of(entity_id, kind), how, _confidence(how))

    def record_of(self, entity_id: str, kind: str) -> str | None:
        """The key of the firm's ``kind`` record (the lowest, should it have two)."""
        keys = sorted(k for rk, k in self._members.get(entity_id, ()) if rk == kind)
        return keys[0] if keys else None


def _confidence(how: str) -> float:
    return 1.0 if how == "key" else CONFIDENCE[how]
