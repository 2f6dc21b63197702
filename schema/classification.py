"""Which record attributes are personal data, and how each is masked by default.

Every field is public, internal, sensitive or personal (declared with ``classified`` on the
schema's fields; record attributes by the rules below). The access policies (``hub.policy``)
decide who sees what: personal fields are masked unless a policy reveals them.
"""

from __future__ import annotations

from typing import Any

from schema.masking import masked

PERSON_KINDS = frozenset({"Citizen", "Inspector"})
# Attributes naming a person, in any kind.
PERSON_NAME_FIELDS = frozenset(
    {
        "legal_representative",
        "driver",
        "escort",
        "safety_officer",
        "applicant",
        "reporter",
        "contact",
        "contact_person",
        "complainant",
        "handler",
        "officer",
        "owner_name",
    }
)
ID_NUMBER_FIELDS = frozenset({"resident_id", "id_number", "id_no", "driver_id"})
REDACTED_FIELDS = frozenset({"birth_date"})


LEVELS = ("public", "internal", "sensitive", "personal")
FREE_TEXT = "free_text"

# Fields people type what they like into (GraphQL type -> field names): a reporter's phone,
# ID number or flat typed into a description is in no personal field, so these are served
# scrubbed (``hub.policy.free_text``) to whoever may not see personal data. A field can also
# declare it: ``classified(..., free_text=True)``.
FREE_TEXT_FIELDS: dict[str, frozenset[str]] = {
    "ServiceCase": frozenset({"title", "description", "address", "result"}),
    "CaseEvent": frozenset({"note"}),
    "CaseUpdate": frozenset({"note"}),
    "CaseProgress": frozenset({"result"}),
    "ProgressStep": frozenset({"note"}),
    "SnapProgress": frozenset({"result"}),
    "SnapStep": frozenset({"note"}),
    "FingertipStep": frozenset({"note"}),
    "ApplicationEvent": frozenset({"note"}),
    "ApplicationStep": frozenset({"note"}),
    # a decision is the staff's words to the applicant (a rejection's reason)
    "ApplicationProgress": frozenset({"decision"}),
    "FingertipProgress": frozenset({"decision"}),
    "EnterpriseRequest": frozenset({"title", "description", "result"}),
    "EnterpriseRequestEvent": frozenset({"note"}),
    "QuarantinedRecord": frozenset({"raw"}),
}


def classified(
    level: str, mask: str | None = None, *, free_text: bool = False
) -> dict[str, str | bool]:
    """Field metadata declaring a classification (and, for personal data, its default mask;
    ``free_text``: people type into it, see ``FREE_TEXT_FIELDS``); the hub's policy
    enforcement reads it: ``strawberry.field(metadata=classified(...))``."""
    if level not in LEVELS:
        raise ValueError(f"classification {level!r}: one of {', '.join(LEVELS)}")
    return (
        {"classification": level}
        | ({"mask": mask} if mask else {})
        | ({FREE_TEXT: True} if free_text else {})
    )


def personal_masks(kind: str, attrs: dict[str, Any]) -> dict[str, str]:
    """{attribute: mask} for the personal fields present in a record's attributes."""
    masks: dict[str, str] = {}
    for field in attrs:
        if field.endswith("phone") or field == "mobile":
            masks[field] = "phone"
        elif field in ID_NUMBER_FIELDS:
            masks[field] = "id_number"
        elif field in REDACTED_FIELDS:
            masks[field] = "redact"
        elif field in PERSON_NAME_FIELDS or (kind in PERSON_KINDS and field == "name"):
            masks[field] = "name"
    return masks


def mask_personal(kind: str, attrs: dict[str, Any]) -> dict[str, Any]:
    """A copy of the attributes with every personal field masked."""
    masks = {f: m for f, m in personal_masks(kind, attrs).items() if isinstance(attrs[f], str)}
    return masked(attrs, masks) if masks else attrs
