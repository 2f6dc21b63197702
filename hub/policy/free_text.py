"""Personal data typed into free text (descriptions, notes, raw records, fact values): when
it is masked and how.

Masks cover declared fields; a reporter's phone typed into a description is in no declared
field. Free-text fields are declared on the schema (``classified(..., free_text=True)``) and
every principal without the personal clearance, and without a ``reveal`` of the field, is
served them scrubbed: phone, ID and bank card numbers, plates and addresses from the house
number down masked by ``core_ext.pii`` (one pass in Rust).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core_ext.pii import mask_pii
from hub.policy.engine import Decision
from hub.policy.model import LEVELS


def scrub(text: str) -> str:
    """``text`` with the personal data in it masked (see ``core_ext.pii``)."""
    return mask_pii(text)


def scrub_json(value: Any) -> Any:
    """A JSON value with every string in it scrubbed (keys stay: they are the data's names)."""
    if isinstance(value, str):
        return mask_pii(value) if value else value
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
