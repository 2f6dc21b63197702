"""The stewards' workflow: draft → validate → dry-run → publish → roll back, with four eyes.

Every version is kept (author, time, reason); at most one version of a policy is published,
the one before it becomes ``retired``; a rollback publishes a copy of the previous published
version as a new version. Each step is appended to the audit log as ``policy.change``, and a
publish reloads the engine here and, through the fan-out, in every other worker.

Four eyes: a version that widens anyone's access over the published one it replaces
(``hub.policy.widening``; a rollback to a wider version too) is not published but set
``pending`` (awaiting approval); ``approve`` by another steward — never the version's author
— publishes it, keeping who approved and when. A version that keeps or narrows access is
published at once. The seeds loaded into an empty store are not a change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from hub.audit.log import AuditLog
from hub.auth.tables import ClientRow, UserRow
from hub.policy.engine import ActivePolicy, Decision, PolicyEngine, decide_with, subjects_of
from hub.policy.model import (
    ALL,
    MASK_KINDS,
    PolicyDocument,
    PolicyError,
    document_of,
    parse_document,
)
from hub.policy.tables import PolicyVersionRow
from hub.policy.widening import widening as widening_of
from hub.store import RecordStore
from hub.store.tables import RecordRow

SEED_DIR = Path(__file__).resolve().parents[2] / "policies"
RELOAD_CHANNEL = "cityhub.policy.reload"
SAMPLE_ROWS = 200
PENDING = "pending"  # a widening version awaiting a second steward's approval


class WorkflowError(ValueError):
    """A refused workflow step; the message fits on one line."""


@dataclass(frozen=True)
class PolicyVersion:
    id: int
    name: str
    version: int
    status: str
    subject: str
    document: dict[str, Any]
    source: str
    author: str
    created_at: datetime
    reason: str
    published_at: datetime | None
    approved_by: str | None = None
    approved_at: datetime | None = None

    @classmethod
    def of(cls, row: Any) -> PolicyVersion:
        return cls(
            id=row.id,
            name=row.name,
            version=row.version,
            status=row.status,
            subject=row.subject,
            document=dict(row.document),
            source=row.source,
            author=row.author,
            created_at=_utc(row.created_at),
            reason=row.reason,
            published_at=_utc(row.published_at) if row.published_at else None,
            approved_by=row.approved_by,
            approved_at=_utc(row.approved_at) if row.approved_at else None,
        )


@dataclass(frozen=True)
class Subject:
    """A principal as the dry-run imagines it (no token needed)."""

    subject: str
    client_id: str
    kind: str
    roles: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{'user' if self.kind == 'person' else 'client'}:{self.subject}"


@dataclass
class Change:
    principal: str
    type: str
    access_before: str
    access_after: str
    fields_gained: list[str] = field(default_factory=list)
    fields_lost: list[str] = field(default_factory=list)
    masked_before: list[str] = field(default_factory=list)
    masked_after: list[str] = field(default_factory=list)
    rows_before: int = 0
    rows_after: int = 0


@dataclass
class DryRun:
    name: str
    version: int
    principals: list[str]
    changes: list[Change]


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


class PolicyWorkflow:
    def __init__(
        self,
        store: RecordStore,
        engine: PolicyEngine,
        audit: AuditLog,
        *,
        known_fields: Callable[[], dict[str, dict[str, tuple[str, str | None]]]] | None = None,
        on_publish: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.db: Engine = store.engine
        self.engine = engine
        self.audit = audit
        self.known_fields = known_fields or (lambda: {})
        self.on_publish = on_publish

    # -- reading -----------------------------------------------------------------------

    def versions(self, name: str | None = None) -> list[PolicyVersion]:
        query = select(PolicyVersionRow).order_by(PolicyVersionRow.name, PolicyVersionRow.version)
        if name is not None:
            query = query.where(PolicyVersionRow.name == name)
        with self.db.connect() as conn:
            return [PolicyVersion.of(r) for r in conn.execute(query).all()]

    def get(self, name: str, version: int | None = None) -> PolicyVersion:
        found = self.versions(name)
        if not found:
            raise WorkflowError(f"no policy {name!r}")
        if version is None:
            published = [v for v in found if v.status == "published"]
            return published[-1] if published else found[-1]
        for v in found:
            if v.version == version:
                return v
        raise WorkflowError(f"policy {name!r} has no version {version}")

    def published(self) -> list[PolicyVersion]:
        return [v for v in self.versions() if v.status == "published"]

    # -- draft and validate ------------------------------------------------------------

    def draft(self, source: str, *, author: str, reason: str) -> PolicyVersion:
        if not reason.strip():
            raise WorkflowError("a reason is required")
        try:
            document = parse_document(source)
        except PolicyError as exc:
            raise WorkflowError(f"invalid policy: {exc}") from None
        with self.db.begin() as conn:
            latest = conn.execute(
                select(func.max(PolicyVersionRow.version)).where(
                    PolicyVersionRow.name == document.name
                )
            ).scalar_one()
            version = int(latest or 0) + 1
            conn.execute(
                PolicyVersionRow.__table__.insert().values(
                    name=document.name,
                    version=version,
                    status="draft",
                    subject=document.subject,
                    document=document.model_dump(mode="json"),
                    source=source,
                    author=author,
                    created_at=datetime.now(UTC),
                    reason=reason.strip()[:2000],
                    published_at=None,
                )
            )
        self._audit("draft", author, document.name, version, reason)
        return self.get(document.name, version)

    def validate(self, name: str, version: int | None = None) -> list[str]:
        """Problems that would stop a publish (empty: none)."""
        target = self.get(name, version)
        try:
            document = parse_document(target.source)
        except PolicyError as exc:
            return [str(exc)]
        problems: list[str] = []
        for other in self.published():
            if other.subject == document.subject and other.name != document.name:
                problems.append(
                    f"subject {document.subject} is governed by policy {other.name!r} already"
                )
        schema_fields = self.known_fields()
        kinds = self._kinds()
        for type_name, rule in document.types.items():
            if type_name == ALL:
                continue
            if type_name not in kinds and type_name not in schema_fields:
                problems.append(f"types.{type_name}: no such type in the schema or the store")
                continue
            names = self._field_names(type_name, schema_fields)
            for listed, what in (
                (rule.fields, "fields"),
                (rule.reveal, "reveal"),
                (tuple(rule.masks), "masks"),
            ):
                for field_name in listed:
                    if field_name != ALL and names and field_name not in names:
                        problems.append(f"types.{type_name}.{what}: no field {field_name!r}")
            for kind in rule.masks.values():
                if kind not in MASK_KINDS:  # pragma: no cover - the model refuses these
                    problems.append(f"types.{type_name}.masks: unknown mask {kind!r}")
        return problems

    def _kinds(self) -> set[str]:
        with self.db.connect() as conn:
            return {k for (k,) in conn.execute(select(RecordRow.kind).distinct())}

    def _field_names(
        self, type_name: str, schema_fields: dict[str, dict[str, tuple[str, str | None]]]
    ) -> set[str]:
        names: set[str] = set(schema_fields.get(type_name, {}))
        for record in self.store.page(type_name, limit=SAMPLE_ROWS):
            names.update(record.attrs)
        if names:
            names.update({"id", "geometry", "datum", "source", "key"})
        return names

    # -- dry run -----------------------------------------------------------------------

    def dry_run(
        self, name: str, version: int | None = None, *, author: str | None = None
    ) -> DryRun:
        """For each principal the version would govern: types, fields and rows gained or
        lost against what it sees now, computed on the stored records."""
        target = self.get(name, version)
        document = parse_document(target.source)
        after_policy = ActivePolicy(document, target.version)
        active = self.engine.active()
        before_subjects = {
            s for s, p in active.items() if p.document.name == name and s != document.subject
        }
        affected = self._principals({document.subject, *before_subjects})
        after_map = {s: p for s, p in active.items() if p.document.name != name}
        after_map[document.subject] = after_policy
        types = sorted((self._kinds() | set(self.known_fields()) | set(document.types)) - {ALL})
        schema_fields = self.known_fields()
        counter = _RowCounter(self.store)
        changes: list[Change] = []
        for principal in affected:
            before = _resolve(active, principal)
            after = _resolve(after_map, principal)
            for type_name in types:
                d0 = decide_with(before, principal, type_name)
                d1 = decide_with(after, principal, type_name)
                change = self._compare(principal, type_name, d0, d1, schema_fields, counter)
                if change is not None:
                    changes.append(change)
        self._audit("dry-run", author, name, target.version, "")
        return DryRun(name, target.version, [p.label for p in affected], changes)

    def _principals(self, subjects: Iterable[str]) -> list[Subject]:
        wanted = set(subjects)
        found: dict[str, Subject] = {}
        with self.db.connect() as conn:
            for row in conn.execute(select(ClientRow).where(ClientRow.revoked_at.is_(None))):
                p = Subject(row.client_id, row.client_id, "client", (row.role,))
                if wanted & set(subjects_of(p)):
                    found[p.label] = p
            for user in conn.execute(select(UserRow).where(UserRow.disabled.is_(False))):
                p = Subject(user.username, "", "person", (user.role,))
                if wanted & set(subjects_of(p)):
                    found[p.label] = p
        return [found[k] for k in sorted(found)]

    def _compare(
        self,
        principal: Subject,
        type_name: str,
        d0: Decision,
        d1: Decision,
        schema_fields: dict[str, dict[str, tuple[str, str | None]]],
        counter: _RowCounter,
    ) -> Change | None:
        access0, access1 = _access(d0), _access(d1)
        fields = schema_fields.get(type_name)
        if fields is None:
            sample = self.store.page(type_name, limit=1)
            from schema.classification import personal_masks

            attrs = sample[0].attrs if sample else {}
            personal = personal_masks(type_name, attrs)
            fields = {
                n: ("personal", personal[n]) if n in personal else ("internal", None) for n in attrs
            }
        seen0, masked0 = _fields(d0, fields)
        seen1, masked1 = _fields(d1, fields)
        rows0 = counter.count(type_name, d0) if access0 == "rows" else 0
        rows1 = counter.count(type_name, d1) if access1 == "rows" else 0
        if (access0, seen0, masked0, rows0) == (access1, seen1, masked1, rows1):
            return None
        return Change(
            principal=principal.label,
            type=type_name,
            access_before=access0,
            access_after=access1,
            fields_gained=sorted(seen1 - seen0),
            fields_lost=sorted(seen0 - seen1),
            masked_before=sorted(masked0),
            masked_after=sorted(masked1),
            rows_before=rows0,
            rows_after=rows1,
        )

    # -- publish, approve and roll back (four eyes) -------------------------------------

    def widening(self, name: str, version: int) -> list[str]:
        """Why a version would widen access over the published version of its policy
        (empty: it keeps or narrows access). See ``hub.policy.widening``."""
        target = self.get(name, version)
        current = [v for v in self.versions(name) if v.status == "published"]
        before = document_of(current[-1].document) if current else None
        try:
            after = parse_document(target.source)
        except PolicyError as exc:
            raise WorkflowError(f"invalid policy: {exc}") from None
        return widening_of(before, after)

    def publish(self, name: str, version: int, *, author: str, reason: str) -> PolicyVersion:
        """Put a version in force, or, when it widens anyone's access, set it pending: it
        waits for another steward's ``approve``."""
        if not reason.strip():
            raise WorkflowError("a reason is required")
        target = self.get(name, version)
        if target.status == "published":
            raise WorkflowError(f"{name} v{version} is published already")
        problems = self.validate(name, version)
        if problems:
            raise WorkflowError(f"{name} v{version} does not validate: {problems[0]}")
        widens = self.widening(name, version)
        if widens:
            self._submit(target, author, reason, widens)
            return self.get(name, version)
        self._activate(target.id, name)
        self._audit("publish", author, name, version, reason, widens=[])
        self._reloaded()
        return self.get(name, version)

    def approve(self, name: str, version: int, *, approver: str, reason: str) -> PolicyVersion:
        """A second steward publishes a pending version; its author cannot."""
        if not reason.strip():
            raise WorkflowError("a reason is required")
        target = self.get(name, version)
        if target.status != PENDING:
            raise WorkflowError(f"{name} v{version} is not awaiting approval ({target.status})")
        if approver == target.author:
            self._audit("approve-refused", approver, name, version, reason, author=target.author)
            raise WorkflowError(
                f"{name} v{version} is your own change: another steward must approve it"
            )
        problems = self.validate(name, version)
        if problems:
            raise WorkflowError(f"{name} v{version} does not validate: {problems[0]}")
        widens = self.widening(name, version)
        self._activate(target.id, name, approved_by=approver, pending=True)
        self._audit(
            "approve",
            approver,
            name,
            version,
            reason,
            author=target.author,
            approved_by=approver,
            widens=widens,
        )
        self._reloaded()
        return self.get(name, version)

    def pending(self) -> list[PolicyVersion]:
        """Versions awaiting a second steward's approval, oldest first."""
        return [v for v in self.versions() if v.status == PENDING]

    def rollback(self, name: str, *, author: str, reason: str) -> PolicyVersion:
        """Publish again the version that was in force before the current one (as a new
        version, so history only grows); pending instead when that version was wider."""
        if not reason.strip():
            raise WorkflowError("a reason is required")
        versions = self.versions(name)
        current = [v for v in versions if v.status == "published"]
        previous = [v for v in versions if v.status == "retired" and v.published_at]
        if not current or not previous:
            raise WorkflowError(f"policy {name!r} has no earlier published version")
        earlier = max(previous, key=lambda v: (v.published_at or v.created_at, v.version))
        copy = self.draft(
            earlier.source,
            author=author,
            reason=f"rollback of v{current[-1].version} to v{earlier.version}: {reason.strip()}",
        )
        widens = self.widening(name, copy.version)
        if widens:
            self._submit(copy, author, reason, widens, step="rollback", restored=earlier.version)
            return self.get(name, copy.version)
        self._activate(copy.id, name)
        self._audit(
            "rollback", author, name, copy.version, reason, restored=earlier.version, widens=[]
        )
        self._reloaded()
        return self.get(name, copy.version)

    def _submit(
        self,
        target: PolicyVersion,
        author: str,
        reason: str,
        widens: list[str],
        *,
        step: str = "submit",
        **extra: Any,
    ) -> None:
        """Set a widening version pending (awaiting approval) and say why in the audit."""
        table = PolicyVersionRow.__table__
        with self.db.begin() as conn:
            conn.execute(
                table.update()
                .where(PolicyVersionRow.id == target.id, PolicyVersionRow.status != "published")
                .values(status=PENDING)
            )
        self._audit(
            step,
            author,
            target.name,
            target.version,
            reason,
            author=target.author,
            widens=widens,
            awaiting_approval=True,
            **extra,
        )

    def _activate(
        self, row_id: int, name: str, *, approved_by: str | None = None, pending: bool = False
    ) -> None:
        """Publish a version and retire the one in force, in one transaction; with
        ``pending`` only while the version still awaits approval (two approvals racing:
        one wins, the other is refused)."""
        now = datetime.now(UTC)
        table = PolicyVersionRow.__table__
        values: dict[str, Any] = {"status": "published", "published_at": now}
        if approved_by is not None:
            values |= {"approved_by": approved_by, "approved_at": now}
        target = table.update().where(PolicyVersionRow.id == row_id)
        if pending:
            target = target.where(PolicyVersionRow.status == PENDING)
        with self.db.begin() as conn:
            conn.execute(
                table.update()
                .where(PolicyVersionRow.name == name, PolicyVersionRow.status == "published")
                .values(status="retired")
            )
            if conn.execute(target.values(**values)).rowcount != 1:
                raise WorkflowError("the version changed meanwhile; look again")

    def _reloaded(self) -> None:
        self.engine.reload()
        if self.on_publish is not None:
            self.on_publish()

    def _audit(
        self, step: str, who: str | None, name: str, version: int, reason: str, **extra: Any
    ) -> None:
        self.audit.append(
            "policy.change",
            principal=who,
            detail={"step": step, "policy": name, "version": version, "reason": reason[:500]}
            | extra,
        )

    # -- seeds -------------------------------------------------------------------------

    def load_seeds(self, folder: Path = SEED_DIR, *, author: str = "seed") -> list[PolicyVersion]:
        """Draft and publish each seed document whose policy has no version yet. On an empty
        store that is the hub's starting point, not a change; on a store with policies each
        new one is a change by ``author`` (a steward) and awaits another's approval."""
        loaded: list[PolicyVersion] = []
        existing = {v.name for v in self.versions()}
        documents: list[tuple[str, str, PolicyDocument]] = []
        for path in sorted(folder.glob("*.toml")):
            source = path.read_text(encoding="utf-8")
            try:
                documents.append((path.name, source, parse_document(source)))
            except PolicyError as exc:
                raise WorkflowError(f"{path.name}: {exc}") from None
        fresh = [d for d in documents if d[2].name not in existing]
        if existing and fresh and not author.startswith("user:"):
            raise WorkflowError(
                "the store has policies already: new ones are a change, loaded by a steward"
            )
        for file_name, source, document in fresh:
            reason = f"seed from policies/{file_name}"
            draft = self.draft(source, author=author, reason=reason)
            if existing:
                self._submit(draft, author, reason, widening_of(None, document))
            else:
                self._activate(draft.id, document.name)
                self._audit("publish", author, document.name, draft.version, "seed")
            loaded.append(self.get(document.name, draft.version))
        if loaded and not existing:
            self._reloaded()
        return loaded

    def seed_if_empty(self) -> list[str]:
        with self.db.connect() as conn:
            count = conn.execute(select(func.count()).select_from(PolicyVersionRow)).scalar_one()
        return [] if count else [v.name for v in self.load_seeds()]


def _resolve(active: dict[str, ActivePolicy], principal: Subject) -> ActivePolicy | None:
    for subject in subjects_of(principal):
        if subject in active:
            return active[subject]
    return None


def _access(decision: Decision) -> str:
    if not decision.allowed:
        return "none"
    return "aggregate" if decision.aggregate_only else "rows"


def _fields(
    decision: Decision, fields: dict[str, tuple[str, str | None]]
) -> tuple[frozenset[str], frozenset[str]]:
    if not decision.reads_rows:
        return frozenset(), frozenset()
    seen: set[str] = set()
    masked: set[str] = set()
    for name, (level, mask) in fields.items():
        view = decision.field_view(name, level, mask)
        if view.allowed:
            seen.add(name)
            if view.mask:
                masked.add(name)
    return frozenset(seen), frozenset(masked)


class _RowCounter:
    """Visible rows of a type under a decision, on the stored records (cached per filter)."""

    def __init__(self, store: RecordStore) -> None:
        self.store = store
        self._totals: dict[str, int] = {}
        self._cache: dict[tuple[str, str, str], int] = {}

    def count(self, kind: str, decision: Decision) -> int:
        if decision.row_filter is None:
            if kind not in self._totals:
                self._totals[kind] = self.store.count(kind)
            return self._totals[kind]
        key = (kind, decision.row_filter.text, repr(sorted(decision.principal_attrs.items())))
        if key not in self._cache:
            total, after = 0, None
            while True:
                chunk = self.store.page(kind, after=after, limit=1000)
                total += sum(1 for r in chunk if decision.row_visible(r.key, r.kind, r.attrs))
                if len(chunk) < 1000:
                    break
                after = chunk[-1].key
            self._cache[key] = total
        return self._cache[key]


__all__ = ["DryRun", "PolicyDocument", "PolicyVersion", "PolicyWorkflow", "WorkflowError"]
