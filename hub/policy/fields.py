"""Values a path outside GraphQL serves on a row's behalf (an Open311 request, a search
snippet), each as a field of the row's GraphQL type, under that field's policy: the same
refusals, masks and free-text scrubbing ``PolicyExtension`` applies to a GraphQL answer."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

from core_ext import mask_rows
from hub.policy.engine import Decision, FieldView
from hub.policy.free_text import scrub, scrubs

# {field: (classification, default mask)} of one GraphQL type (``enforce.Classified``'s rows)
TypeFields = Mapping[str, tuple[str, str | None]]

_UPPER = re.compile(r"(?<!^)(?=[A-Z])")


def python_name(field: str) -> str:
    """A GraphQL field's Python (and, mostly, record attribute) name: ``categoryName`` →
    ``category_name``; a policy may name a field either way."""
    return _UPPER.sub("_", field).lower()


def view_of(decision: Decision, fields: TypeFields, field: str) -> FieldView:
    """How ``field`` of the decision's type is served (as ``RequestPolicy.field_view``)."""
    level, default_mask = fields.get(field, ("internal", None))
    return decision.field_view(field, level, default_mask, python_name(field))


def served_value(decision: Decision, view: FieldView, field: str, value: Any, free: bool) -> Any:
    """One value as ``view`` serves it (the caller has dropped refused fields): a masked
    string masked, a masked value of any other kind withheld (None: a number or a point has
    no masked form), free text scrubbed unless the principal may see personal data whole."""
    if view.mask is not None:
        if isinstance(value, str) and value:
            return mask_rows([{"v": value}], {"v": view.mask})[0]["v"]
        return None
    if free and isinstance(value, str) and value and scrubs(decision, field, python_name(field)):
        return scrub(value)
    return value


def served_fields(
    decision: Decision,
    fields: TypeFields,
    values: Mapping[str, tuple[str, Any]],
    *,
    free_text: Collection[str] = (),
) -> dict[str, Any]:
    """``values`` ({name served: (the type's field it is, value)}) as the decision serves
    them: a refused field's values absent, masked ones masked (or withheld), free text (the
    fields in ``free_text``) scrubbed. ``fields``: the type's classifications."""
    served: dict[str, Any] = {}
    views: dict[str, FieldView] = {}
    for name, (field, value) in values.items():
        view = views.get(field)
        if view is None:
            view = views[field] = view_of(decision, fields, field)
        if view.allowed:
            served[name] = served_value(decision, view, field, value, field in free_text)
    return served
