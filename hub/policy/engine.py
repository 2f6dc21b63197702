"""The decision: for a principal and a type — readable at all? which rows, which fields, which
masks, counts only, which purpose, how often.

The policy in force for a principal is the most specific published document: ``client:ID``
(for a client) or ``user:NAME`` (for a person) first, then ``role:R`` for each of its roles.
Inside a document, the type's own rule applies, else the ``*`` rule, else the type is not
readable. A principal no document names reads nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Engine, select
from sqlalchemy.exc import OperationalError, ProgrammingError

from hub.policy.expr import RowFilter
from hub.policy.model import LEVELS, PolicyDocument, TypeRule, document_of
from hub.policy.tables import PolicyVersionRow

DEFAULT_MASK = "redact"


class PrincipalLike(Protocol):
    # read-only: principals and dry-run subjects are frozen
    @property
    def subject(self) -> str: ...
    @property
    def client_id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def roles(self) -> tuple[str, ...]: ...
    @property
    def label(self) -> str: ...


class PolicyDenied(PermissionError):
    """Access refused by policy; the message is safe to show to the caller."""


class PolicyRateLimited(PolicyDenied):
    """Over a type's ``rate_limit`` for now (paths outside GraphQL answer 429, not 403)."""


@dataclass(frozen=True)
class ActivePolicy:
    document: PolicyDocument
    version: int

    @property
    def ref(self) -> str:
        return f"{self.document.name}@v{self.version}"


@dataclass(frozen=True)
class FieldView:
    """How one field is served: refused, whole, or masked with ``mask``."""

    allowed: bool
    mask: str | None = None


REFUSED = FieldView(False)
WHOLE = FieldView(True)


@dataclass
class Decision:
    type_name: str
    allowed: bool
    policy: str | None
    reason: str = ""
    rule: TypeRule | None = None
    clearance: int = LEVELS["internal"]
    row_filter: RowFilter | None = None
    principal_attrs: Mapping[str, Any] = field(default_factory=dict)
    legacy: bool = False  # no principal at all (the schema outside the hub): mask personal

    @property
    def aggregate_only(self) -> bool:
        return bool(self.rule and self.rule.aggregate_only)

    @property
    def purpose(self) -> tuple[str, ...]:
        return self.rule.purpose if self.rule else ()

    @property
    def rate_limit(self) -> int | None:
        return self.rule.rate_limit if self.rule else None

    @property
    def reads_rows(self) -> bool:
        return self.allowed and not self.aggregate_only

    def row_visible(self, key: str, kind: str, attrs: Mapping[str, Any]) -> bool:
        if self.row_filter is None:
            return True
        return self.row_filter.matches(self.principal_attrs, RecordView(key, kind, attrs))

    def field_view(
        self, field_name: str, classification: str, default_mask: str | None, *aliases: str
    ) -> FieldView:
        if self.legacy:
            return (
                FieldView(True, default_mask or DEFAULT_MASK)
                if classification == ("personal")
                else WHOLE
            )
        rule = self.rule
        if not self.allowed or rule is None or not rule.allows_field(field_name, *aliases):
            return REFUSED
        explicit = next((rule.masks[n] for n in (field_name, *aliases) if n in rule.masks), None)
        if classification == "personal":
            revealed = any(n in rule.reveal for n in (field_name, *aliases))
            if self.clearance >= LEVELS["personal"] or revealed:
                return FieldView(True, explicit) if explicit else WHOLE
            return FieldView(True, explicit or default_mask or DEFAULT_MASK)
        if LEVELS.get(classification, LEVELS["internal"]) > self.clearance:
            return REFUSED
        return FieldView(True, explicit) if explicit else WHOLE


class RecordView(Mapping[str, Any]):
    """``record.<attr>`` in a filter: the attributes, plus ``key`` and ``kind``."""

    __slots__ = ("_attrs", "_key", "_kind")

    def __init__(self, key: str, kind: str, attrs: Mapping[str, Any]) -> None:
        self._key, self._kind, self._attrs = key, kind, attrs

    def __getitem__(self, name: str) -> Any:
        if name == "key":
            return self._key
        if name == "kind":
            return self._kind
        return self._attrs[name]

    def get(self, name: str, default: Any = None) -> Any:
        try:
            return self[name]
        except KeyError:
            return default

    def __iter__(self) -> Iterator[str]:
        return iter(self._attrs)

    def __len__(self) -> int:
        return len(self._attrs)


def subjects_of(principal: PrincipalLike) -> list[str]:
    """Subjects naming a principal, most specific first."""
    first = (
        f"user:{principal.subject}"
        if principal.kind == "person"
        else f"client:{principal.client_id}"
    )
    return [first, *(f"role:{role}" for role in principal.roles)]


def principal_attrs(principal: PrincipalLike, document: PolicyDocument) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "subject": principal.subject,
        "client_id": principal.client_id,
        "kind": principal.kind,
        "role": principal.roles[0] if principal.roles else None,
        "roles": tuple(principal.roles),
        "label": principal.label,
    }
    for label in (principal.label, f"client:{principal.client_id}"):
        extra = document.principals.get(label)
        if extra:
            attrs.update(extra)
            break
    return attrs


def decide_with(
    policy: ActivePolicy | None, principal: PrincipalLike | None, type_name: str
) -> Decision:
    """The decision under one given policy (None: no policy names the principal)."""
    if principal is None:
        return Decision(type_name, True, None, legacy=True)
    if policy is None:
        return Decision(type_name, False, None, f"no access policy covers {principal.label}")
    document = policy.document
    rule = document.rule(type_name)
    if rule is None:
        return Decision(type_name, False, policy.ref, f"{type_name} is not readable")
    return Decision(
        type_name,
        True,
        policy.ref,
        rule=rule,
        clearance=LEVELS[document.clearance],
        row_filter=rule.compiled_filter(),
        principal_attrs=principal_attrs(principal, document),
    )


class PolicyEngine:
    """The published policies of the store, reloaded on publish (and on a fan-out message)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()
        self._by_subject: dict[str, ActivePolicy] = {}
        self._cache: dict[tuple[Any, ...], Decision] = {}
        self.generation = 0
        self.loaded = False
        self._in_force: tuple[int, ...] = ()  # row ids of the published versions loaded

    def reload(self) -> int:
        """Read the published versions again; returns how many are in force."""
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(
                    select(PolicyVersionRow).where(PolicyVersionRow.status == "published")
                ).all()
        except (OperationalError, ProgrammingError):  # store not migrated yet
            rows = []
        by_subject: dict[str, ActivePolicy] = {}
        in_force = tuple(sorted(int(row.id) for row in rows))
        for row in rows:
            document = document_of(dict(row.document))
            by_subject[document.subject] = ActivePolicy(document, int(row.version))
        with self._lock:
            self._by_subject = by_subject
            self._in_force = in_force
            self._cache = {}
            self.generation += 1
            self.loaded = True
        return len(by_subject)

    def reload_if_changed(self) -> bool:
        """Reload when the published set differs from the one loaded (a publish or rollback
        by another worker or by the CLI, with or without a fan-out between them): one small
        query, so every worker can afford it every few seconds."""
        try:
            with self.engine.connect() as conn:
                ids = conn.execute(
                    select(PolicyVersionRow.id).where(PolicyVersionRow.status == "published")
                ).scalars()
                current = tuple(sorted(int(i) for i in ids))
        except (OperationalError, ProgrammingError):
            return False
        if self.loaded and current == self._in_force:
            return False
        self.reload()
        return True

    def active(self) -> dict[str, ActivePolicy]:
        if not self.loaded:
            self.reload()
        return dict(self._by_subject)

    def policy_for(self, principal: PrincipalLike) -> ActivePolicy | None:
        active = self.active()
        for subject in subjects_of(principal):
            if subject in active:
                return active[subject]
        return None

    def decide(self, principal: PrincipalLike | None, type_name: str) -> Decision:
        if principal is None:
            return decide_with(None, None, type_name)
        key = (self.generation, principal.label, principal.client_id, principal.roles, type_name)
        found = self._cache.get(key)
        if found is None:
            found = decide_with(self.policy_for(principal), principal, type_name)
            if len(self._cache) > 10_000:
                self._cache = {}
            self._cache[key] = found
        return found
