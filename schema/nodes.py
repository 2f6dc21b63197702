"""Types backed by one record each, their fields declared once.

A Relay node type derives from :class:`RecordNode` and names its record ``KIND``: its plain
fields are read from the record's attributes of the same name (``id`` and ``key`` from the
record's key; ``geometry``, ``datum`` and a ``source: Provenance`` from the record itself),
converted by their declared type; ``computed`` gives only what is renamed or derived
(``tank_count`` from ``tanks``, a list of objects, a private link). ``resolve_nodes`` (Relay)
and ``resolve_reference`` (federation) are written here once, both reading through the
request's policed record source. A type built from a domain object rather than one record
(a case with its centre's rules, a smoke index) keeps its own constructor.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, ClassVar, Self

import strawberry
from strawberry import relay
from strawberry.types.base import StrawberryList, StrawberryOptional, get_object_definition

from schema.federation import reference_record, representation_key
from schema.interfaces import Provenance
from schema.reads import nodes
from schema.record import Record

Reader = Callable[[Record], object]
SCALARS = (str, int, float, bool)


def provenance(record: Record) -> Provenance:
    return Provenance(
        system=record.source_system,
        source_id=record.source_id,
        fetched_at=record.fetched_at,
        ingested_at=record.ingested_at or record.fetched_at,
    )


def day(value: object) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) and value else None


def moment(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


# what the record itself carries, whatever the type
_FROM_RECORD: dict[str, Reader] = {
    "id": lambda r: r.key,
    "key": lambda r: r.key,
    "geometry": lambda r: r.geometry,
    "datum": lambda r: r.datum,
}


def _attribute(name: str, declared: object) -> Reader | None:
    """How a field of this declared type is read from the attribute ``name``; None: the type
    must compute it."""
    optional = isinstance(declared, StrawberryOptional)
    inner = declared.of_type if isinstance(declared, StrawberryOptional) else declared
    if isinstance(inner, StrawberryList):
        if inner.of_type not in SCALARS:
            return None
        return lambda r: list(r.attrs.get(name) or [])
    if inner is date:
        return lambda r: day(r.attrs.get(name))
    if inner is datetime:
        return lambda r: moment(r.attrs.get(name))
    if optional:
        return lambda r: r.attrs.get(name)
    if inner in SCALARS:
        convert: Callable[[Any], object] = inner
        empty = inner()
        return lambda r: convert(r.attrs.get(name) or empty)
    return None


class RecordNode(relay.Node):
    """A Relay node (and federation entity) built from one record of ``KIND``."""

    KIND: ClassVar[str]
    # the representation fields a gateway may name the record by, besides the global id
    REFERENCE_FIELDS: ClassVar[tuple[str, ...]] = ("key",)
    _readers: ClassVar[dict[str, Reader]]

    if TYPE_CHECKING:

        def __init__(self, **values: object) -> None: ...

    @classmethod
    def computed(cls, record: Record) -> Mapping[str, object]:
        """The fields read any other way than by their name (and the private ones)."""
        return {}

    @classmethod
    def from_record(cls, record: Record) -> Self:
        values = dict(cls.computed(record))
        for name, read in cls._field_readers().items():
            if name not in values:
                values[name] = read(record)
        return cls(**values)

    @classmethod
    def _field_readers(cls) -> dict[str, Reader]:
        if "_readers" not in cls.__dict__:  # once per class, not per record
            readers: dict[str, Reader] = {}
            definition = get_object_definition(cls, strict=True)
            for field in definition.fields:
                if field.base_resolver is not None:
                    continue  # a resolver computes it when asked
                name = field.python_name
                read = _FROM_RECORD.get(name) if name != "source" else None
                if name == "source" and field.type is Provenance:
                    read = provenance
                read = read or _attribute(name, field.type)
                if read is not None:  # else ``computed`` gives it
                    readers[name] = read
            cls._readers = readers
        return cls._readers

    @classmethod
    # relay.Node's is overloaded on `required`; one signature serves both here
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        return await nodes(cls.KIND, cls.from_record, info, node_ids, required)

    @classmethod
    async def resolve_reference(cls, info: strawberry.Info, **representation: Any) -> Self:
        key = representation_key(representation, cls.KIND, *cls.REFERENCE_FIELDS)
        return cls.from_record(await reference_record(info, cls.KIND, key))
