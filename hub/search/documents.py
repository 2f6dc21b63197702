"""What the search index holds: one document per searchable record, personal data left out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from schema.record import Record


@dataclass(frozen=True)
class SearchDoc:
    kind: str
    key: str
    title: str
    body: str


@dataclass(frozen=True)
class SearchHit:
    kind: str
    key: str
    title: str
    snippet: str
    score: float


@dataclass(frozen=True)
class SearchPage:
    hits: list[SearchHit]
    total: int


def _join(*parts: Any) -> str:
    return " ".join(str(p) for p in parts if p)


def _firm(a: dict[str, Any]) -> str:
    return _join(
        a.get("uscc"),
        a.get("address"),
        a.get("industry"),
        a.get("business_scope"),
        a.get("firm_type_name"),
        a.get("category_name"),
        a.get("street"),
        " ".join(sub.get("name", "") for sub in a.get("substances") or []),
    )


# Only fields that are not personal: names of people, phones and ID numbers never get in.
_BODIES: dict[str, Callable[[dict[str, Any]], str]] = {
    "Enterprise": _firm,
    "FinanceFirm": _firm,
    "HazchemFirm": _firm,
    "NewsItem": lambda a: _join(a.get("body"), a.get("category"), a.get("source")),
    "ServiceItem": lambda a: _join(
        a.get("item_code"),
        a.get("department"),
        a.get("item_type"),
        " ".join(m.get("name", "") for m in a.get("materials") or []),
    ),
    "ServiceCase": lambda a: _join(
        a.get("content"),  # what the citizen reported, as every channel files it
        a.get("description"),
        a.get("category_name"),
        a.get("address"),
        a.get("channel"),
    ),
}

SEARCHABLE_KINDS = frozenset(_BODIES)


def document(record: Record) -> SearchDoc | None:
    """The search document of a record, or None when its kind is not searched."""
    body = _BODIES.get(record.kind)
    if body is None:
        return None
    attrs = record.attrs
    title = str(attrs.get("name") or attrs.get("title") or attrs.get("summary") or record.key)
    return SearchDoc(kind=record.kind, key=record.key, title=title, body=body(attrs))
