"""Apollo Federation entity references: how an entity type's ``resolve_reference`` turns a
gateway's representation (``{__typename, <key fields>}``) into the record it names.

Every ``@key`` type reads its record through :func:`reference_record`, i.e. through the
request's record source — the policed one in the hub — so a representation is answered exactly
as a ``node`` / field read of the same row would be: a type the principal may not read, or
reads as counts only, is refused with the policy's reason; a row outside its row filter is
"not found" (the same message as a row that does not exist); field masks apply afterwards, by
field, as on every read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from strawberry import relay

from schema.context import records
from schema.record import Record


def representation_key(
    representation: Mapping[str, Any], type_name: str, *fields: str, node: bool = True
) -> str:
    """The record key a representation names: by ``id`` (the type's Relay global id, when
    ``node``) or by the first of ``fields`` it carries (fields whose value is the record key)."""
    if node and "id" in representation:
        global_id = representation["id"]
        try:
            named, key = relay.from_base64(str(global_id))
        except Exception:
            raise ValueError(
                f"{type_name}: id {str(global_id)[:80]!r} is not a global id"
            ) from None
        if named != type_name:
            raise ValueError(f"{type_name}: id {str(global_id)[:80]!r} is not a {type_name} id")
        return key
    for name in fields:
        value = representation.get(name)
        if isinstance(value, str) and value:
            return value
        if value is not None:
            raise ValueError(f"{type_name}: key field {name} must be a non-empty string")
    keys = ", ".join((*(("id",) if node else ()), *fields))
    raise ValueError(f"a {type_name} representation needs one of its key fields: {keys}")


async def reference_record(info: Any, kind: str, key: str) -> Record:
    """The record of ``kind`` with ``key`` as the request may see it, or an error: the
    policy's refusal, or ``LookupError`` when there is no such row visible to the caller."""
    source = records(info)
    refer = getattr(source, "reference", None)
    if refer is not None:
        found: Record = await refer(kind, key)
        return found
    record = await source.load(kind, key)  # enforcement off (benchmarks, schema tests)
    if record is None:
        raise LookupError(f"no {kind} with key {key[:80]!r}")
    return record
