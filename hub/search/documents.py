"""What the search index holds: one document per searchable record, personal data left out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hub.policy.free_text import scrub
from schema.classification import FREE_TEXT_FIELDS
from schema.record import Record

# Attributes a document keeps beside its text so row filters can be checked on the index's
# hits without reading each row (``hub.policy.search``): places and owners, never personal.
FACETS = ("street", "grid_cell", "department", "handling_department", "routed_to", "park",
          "district", "category", "subcategory", "status", "channel")  # fmt: skip


@dataclass(frozen=True)
class SearchDoc:
    kind: str
    key: str
    title: str
    body: str
    facets: Mapping[str, Any] | None = None  # None: not known (a document moved in)


@dataclass(frozen=True)
class SearchHit:
    kind: str
    key: str
    title: str
    snippet: str
    score: float
    facets: Mapping[str, Any] | None = None  # None: indexed before facets were kept


@dataclass(frozen=True)
class SearchPage:
    hits: list[SearchHit]
    total: int
    every_word: bool = True  # False: no document had every word; these have any of them


@dataclass(frozen=True)
class Part:
    """One piece of a document's text: the record attribute it comes from (``item``: of each
    object in a list attribute) and the GraphQL field of its kind that shows it — whose policy
    decides whether a reader's title or snippet may show it (``hub.policy.search``)."""

    field: str
    attr: str
    item: str | None = None
    free_text: bool = False  # typed by people: indexed scrubbed of personal data

    def text(self, attrs: Mapping[str, Any]) -> str:
        value = attrs.get(self.attr)
        if self.item is None:
            return str(value) if value else ""
        items = value if isinstance(value, list) else []
        return " ".join(str(v.get(self.item) or "") for v in items if isinstance(v, dict))


_FIRM = (
    Part("uscc", "uscc"),
    Part("address", "address"),
    Part("industry", "industry"),
    Part("businessScope", "business_scope"),
    Part("firmTypeName", "firm_type_name"),
    Part("categoryName", "category_name"),
    Part("street", "street"),
    Part("substances", "substances", "name"),
)

# Only fields that are not personal: names of people, phones and ID numbers never get in.
BODIES: dict[str, tuple[Part, ...]] = {
    "Enterprise": _FIRM,
    "FinanceFirm": _FIRM,
    "HazchemFirm": _FIRM,
    "NewsItem": (
        Part("body", "body", free_text=True),
        Part("category", "category"),
        Part("source", "source"),
    ),
    "ServiceItem": (
        Part("itemCode", "item_code"),
        Part("department", "department"),
        Part("itemType", "item_type"),
        Part("materials", "materials", "name"),
    ),
    "ServiceCase": (
        # what the citizen reported, as every channel files it
        Part("description", "content", free_text=True),
        Part("description", "description", free_text=True),
        Part("categoryName", "category_name"),
        Part("address", "address"),
        Part("channel", "channel"),
    ),
}
# A document's title: the first of these its record has, else the record's key.
TITLES = (Part("name", "name"), Part("title", "title"), Part("summary", "summary"))


def title_part(attrs: Mapping[str, Any]) -> Part | None:
    return next((p for p in TITLES if attrs.get(p.attr)), None)


def _indexed(kind: str, part: Part, attrs: Mapping[str, Any]) -> str:
    text = part.text(attrs)
    free = part.free_text or part.field in FREE_TEXT_FIELDS.get(kind, ())
    return scrub(text) if free and text else text


SEARCHABLE_KINDS = frozenset(BODIES)


def document(record: Record) -> SearchDoc | None:
    """The search document of a record, or None when its kind is not searched. Free text is
    indexed scrubbed, so no search matches (or shows) personal data typed into it."""
    parts = BODIES.get(record.kind)
    if parts is None:
        return None
    attrs = record.attrs
    title = title_part(attrs)
    body = " ".join(t for t in (_indexed(record.kind, p, attrs) for p in parts) if t)
    return SearchDoc(
        kind=record.kind,
        key=record.key,
        title=_indexed(record.kind, title, attrs) if title else record.key,
        body=body,
        facets={
            name: attrs[name]
            for name in FACETS
            if isinstance(attrs.get(name), str | int | float | bool)
        },
    )
