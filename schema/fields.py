"""The pair of Query fields every record-backed type has, declared once: its list (a counted
connection in key order, Relay arguments) and one by its hub key — both read through the
request's policed record source.

    hazchem_firms = record_connection(HazchemFirm, "Hazardous-chemicals firms, in key order")
    hazchem_firm = record_by_key(HazchemFirm, "One hazchem firm by its hub key (HCF-…)")
"""

from __future__ import annotations

from typing import Any, TypeVar

import strawberry

from schema.connection import CountedConnection, paginate
from schema.context import records
from schema.nodes import RecordNode

N = TypeVar("N", bound=RecordNode)


def record_connection(node: type[N], description: str) -> Any:
    """A field listing every ``node`` record, paged by key (first/after, last/before)."""

    async def resolve(
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> CountedConnection[N]:
        return await paginate(
            info, node.KIND, node.from_record, first=first, after=after, last=last, before=before
        )

    # the annotations strawberry reads, with this type in place of N
    resolve.__annotations__ = {
        "info": strawberry.Info,
        "first": int | None,
        "after": str | None,
        "last": int | None,
        "before": str | None,
        "return": CountedConnection[node],  # type: ignore[valid-type]
    }
    return strawberry.field(resolver=resolve, description=description)


def record_by_key(node: type[N], description: str) -> Any:
    """A field reading one ``node`` record by its hub key (null: none the caller may see)."""

    async def resolve(info: strawberry.Info, key: str) -> N | None:
        record = await records(info).load(node.KIND, key)
        return node.from_record(record) if record else None

    resolve.__annotations__ = {"info": strawberry.Info, "key": str, "return": node | None}
    return strawberry.field(resolver=resolve, description=description)
