"""Personal data typed into free text (descriptions, notes, raw records, fact values): when
it is masked and how.

Masks cover declared fields; a reporter's phone typed into a description is in no declared
field. Free-text fields are declared on the schema (``schema.classification.FREE_TEXT_FIELDS``
or ``classified(..., free_text=True)``), and every principal without the personal clearance,
and without a ``reveal`` of the field, is served them scrubbed: phone, ID and bank card
numbers, plates and addresses from the house number down masked by ``core_ext.pii`` (one
pass in Rust). ``PolicyExtension`` applies it to those fields and ``police_attrs`` to every
string a record's attributes carry (``entity360`` facts).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from weakref import WeakKeyDictionary

from graphql import GraphQLObjectType, GraphQLSchema

from core_ext.pii import mask_pii
from hub.policy.engine import Decision
from hub.policy.model import LEVELS
from schema.classification import FREE_TEXT, FREE_TEXT_FIELDS

# {GraphQL type: {free-text field: its Python name}}, worked out once per schema
FreeTextFields = Mapping[str, Mapping[str, str]]
_TABLES: WeakKeyDictionary[GraphQLSchema, FreeTextFields] = WeakKeyDictionary()


def scrub(text: str) -> str:
    """``text`` with the personal data in it masked (see ``core_ext.pii``)."""
    return mask_pii(text)


def scrub_json(value: Any) -> Any:
    """A JSON value with every string in it scrubbed (keys stay: they are the data's names)."""
    if isinstance(value, str):
        return mask_pii(value)
    if isinstance(value, Mapping):
        return {k: scrub_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_json(v) for v in value]
    return value


def scrubs(decision: Decision, field_name: str, *aliases: str) -> bool:
    """Whether the free text of ``field_name`` (or its other ``aliases``) is served scrubbed
    under ``decision``: unless the principal has the personal clearance or the type's rule
    reveals the field. Outside the hub (no principal at all) personal data is always masked,
    so free text is scrubbed too."""
    if decision.legacy:
        return True
    if decision.clearance >= LEVELS["personal"]:
        return False
    rule = decision.rule
    return rule is None or not any(n in rule.reveal for n in (field_name, *aliases))


def scrub_attrs(
    decision: Decision, kind: str, attrs: dict[str, Any], noted: set[str]
) -> dict[str, Any]:
    """A record's attributes (as served) with the strings in them scrubbed, each attribute
    unless ``decision`` lets it through whole; a changed one is noted as ``kind.name``."""
    out = attrs
    for name, value in attrs.items():
        if not isinstance(value, str | list | dict) or not scrubs(decision, name):
            continue
        scrubbed = scrub_json(value)
        if scrubbed != value:
            out = dict(out) if out is attrs else out
            out[name] = scrubbed
            noted.add(f"{kind}.{name}")
    return out


def free_text_fields(schema: GraphQLSchema) -> FreeTextFields:
    """The schema's free-text fields: ``FREE_TEXT_FIELDS`` and fields declaring
    ``free_text`` in their metadata, as {GraphQL type: {field: its Python name}}."""
    found = _TABLES.get(schema)
    if found is not None:
        return found
    table: dict[str, dict[str, str]] = {}
    for type_name, gql_type in schema.type_map.items():
        if not isinstance(gql_type, GraphQLObjectType) or type_name.startswith("__"):
            continue
        listed = FREE_TEXT_FIELDS.get(type_name, frozenset())
        for field_name, gql_field in gql_type.fields.items():
            definition = (gql_field.extensions or {}).get("strawberry-definition")
            metadata = getattr(definition, "metadata", None) or {}
            if field_name in listed or metadata.get(FREE_TEXT):
                python_name = str(getattr(definition, "python_name", field_name))
                table.setdefault(type_name, {})[field_name] = python_name
    _TABLES[schema] = table
    return table
