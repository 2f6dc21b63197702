"""The one workflow engine of the hub's casework: a workflow is declared as its states and its
steps (name, the states it may start from, the state it leads to, the roles that may take it,
its deadline rule), and the engine judges and records every step the same way for service
cases, government-service applications and enterprise requests:

* who: a step names the roles that may ever take it (``permit``): the workflow's own
  declaration; whether this principal may take it on this row is the policy's (a ``Guard``
  from ``hub.policy.write``, asked by ``move`` and ``check`` before anything else);
* when: a step starts only from its states, and a stale version is a ``VersionConflict``
  before anything else is judged (``move``);
* what is kept: each step appends ``{at, actor, action, from, to, note}`` to the object's
  ``history`` and sets its state and the state's label (``apply``);
* deadlines: a step may start the clock (``due_at`` = now + the time its rule gives) or stop
  it; the clock stands still in the workflow's paused states (``overdue``);
* versions: the object is written only over the version it was read at, with the step's
  feed entry in the same transaction (``write``);
* tracking numbers: issued when the object is filed, only their hash kept (``hub.tracking``).

What each step *means* (which inspector, which department, which materials) stays with the
app that declares the workflow; the engine never reads an app's attributes but its own.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any, Literal

from sqlalchemy import Connection

from hub import tracking
from hub.store import RecordStore
from hub.store.errors import VersionConflict
from schema.record import Record

MAX_NOTE = 2000

# A step's deadline rule: "start" sets ``due_at`` (the caller gives the time allowed),
# "stop" clears it (the clock starts anew at a later "start"), None leaves it.
Deadline = Literal["start", "stop"] | None
Event = dict[str, Any]
# The extra statements a write runs in its own transaction (an idempotency key's answer)
Within = Callable[[Connection], None]
# The policy's word on a step: (step, the row as read or as filed) -> None, or raise
Guard = Callable[[str, Record], None]


# The attributes the hub's steps wrote on an object (its own from then on: a later sync from
# the source system never rolls them back, hub.ingest.merge), and the digests of the source's
# values of those as the source last had them (so its later changes are told apart from the
# hub's; digests, not the values: a value the hub replaced is never served from here).
HUB_ATTRS = "hub_attrs"
SOURCE_FACTS = "source_facts"


def fact(value: Any) -> str:
    """The digest a source's value is kept as in ``source_facts``."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def claim(before: Mapping[str, Any], after: dict[str, Any]) -> None:
    """Mark in ``after`` the attributes a step changed from ``before`` as the hub's, keeping
    the values they had before the hub first wrote them (the source's)."""
    own = set(after.get(HUB_ATTRS) or ())
    facts = dict(after.get(SOURCE_FACTS) or {})
    missing = object()
    for name in (before.keys() | after.keys()) - {HUB_ATTRS, SOURCE_FACTS}:
        if before.get(name, missing) == after.get(name, missing) or name in own:
            continue
        own.add(name)
        if name in before:
            facts[name] = fact(before[name])
    after[HUB_ATTRS] = sorted(own)
    if facts:
        after[SOURCE_FACTS] = facts


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def parse_time(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Step:
    """One step of a workflow. ``sources`` empty: the step that files the object. ``to``
    None: the object stays in its state (a note on its history). ``also``: the other states
    the step may lead to, as the app decides (a dispatch not confirmed on site closes)."""

    name: str
    sources: frozenset[str]
    to: str | None
    roles: frozenset[str]
    deadline: Deadline = None
    also: frozenset[str] = frozenset()
    # False: taken only as the consequence of another (a duplicate's filing merges it into
    # the case it repeats), never asked for by name
    on_request: bool = True
    # what a tracking number's holder is told of the step, by the state it led to ("*": any);
    # the staff's note is never told (an app marks a public note of its own: ``Move.public``)
    public: Mapping[str, str] = field(default_factory=dict, hash=False)


@dataclass
class Move:
    """A step being taken: the record as read, a copy of its attributes for the app to
    change, the state it is in; ``to`` and ``note`` may be changed before ``apply``."""

    record: Record
    step: Step
    attrs: dict[str, Any]
    current: str
    to: str
    note: str | None
    public: str | None = None  # the note the object's holder is told, if the app says one


@dataclass(frozen=True)
class Workflow:
    """The declaration of one workflow, and the engine that carries its objects."""

    kind: str  # the records' kind
    noun: str  # how messages name one object ("case", "application")
    key_prefix: str  # new keys: <prefix>-<yyyymmdd>-<8 hex>
    labels: Mapping[str, str]  # state -> the label kept in ``status`` (source systems' words)
    steps: Sequence[Step]
    state_attr: str  # the attribute holding the hub's own state
    topic: str  # the feed topic of a step
    refused: type[Exception]  # a step the object cannot take now, bad input
    forbidden: type[Exception]  # a step the caller's roles do not allow
    # states whose objects are done (their clock stops at the time they got there)
    done: frozenset[str] = frozenset()
    # states in which the clock stands still (a merged case, an application returned)
    paused: frozenset[str] = frozenset()
    # other acts by role that are not steps of an object (filing through another door)
    acts: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # a source system's Chinese status read as a state (besides the labels)
    source_states: Mapping[str, str] = field(default_factory=dict)
    # records of other systems are followed read-only (decided in their own system)
    owner: str | None = None

    def __post_init__(self) -> None:
        names = [s.name for s in self.steps]
        if len(set(names)) != len(names):
            raise ValueError(f"workflow {self.kind}: a step is declared twice")
        for s in self.steps:
            for state in (*s.sources, *((s.to,) if s.to else ()), *s.also):
                if state not in self.labels:
                    raise ValueError(f"workflow {self.kind}: step {s.name} names {state!r}")

    # -- the declaration read -------------------------------------------------------------

    @cached_property
    def by_name(self) -> dict[str, Step]:
        return {s.name: s for s in self.steps}

    def step(self, name: str) -> Step:
        found = self.by_name.get(name)
        if found is None or not found.sources or not found.on_request:
            raise self.refused(f"unknown step {name!r}")
        return found

    def roles(self, act: str) -> frozenset[str]:
        found = self.by_name.get(act)
        return found.roles if found is not None else self.acts[act]

    def permit(self, act: str, roles: Iterable[str]) -> None:
        """Refuse ``act`` (a step or another act) unless one of ``roles`` may take it."""
        allowed = self.roles(act)
        if not allowed.intersection(roles):
            who = " or ".join(sorted(allowed))
            raise self.forbidden(f"{act.replace('_', ' ')} needs the {who} role")

    def state_of(self, attrs: Mapping[str, Any]) -> str:
        """The state: the hub's own, else the source system's status read as one, else the
        state the filing step leads to."""
        own = attrs.get(self.state_attr)
        if isinstance(own, str) and own in self.labels:
            return own
        read = {**{label: s for s, label in self.labels.items()}, **self.source_states}
        return read.get(str(attrs.get("status") or ""), self.initial)

    @property
    def initial(self) -> str:
        first = next(s for s in self.steps if not s.sources)
        assert first.to is not None
        return first.to

    def overdue(
        self, state: str, due: datetime | None, done: datetime | None, now: datetime
    ) -> bool:
        """Past its deadline: when done, done late; while open, late now. Never while the
        clock stands still, nor when done at a time nobody said."""
        if due is None or state in self.paused:
            return False
        if done is None and state in self.done:
            return False
        return (done or now) > due

    # -- filing ---------------------------------------------------------------------------

    def new_key(self, day: datetime) -> str:
        return f"{self.key_prefix}-{day:%Y%m%d}-{secrets.token_hex(4).upper()}"

    def file(
        self,
        attrs: dict[str, Any],
        name: str,
        actor: str,
        at: datetime,
        *,
        key: str,
        to: str | None = None,
        note: str | None = None,
        due: datetime | None = None,
    ) -> str:
        """Begin an object's history with its filing step ``name`` (roles checked by the
        caller's ``permit``, which knows the door it came by); its tracking number is
        returned, its hash kept in ``attrs``; ``due``: when the filing starts the clock."""
        step = self.by_name[name]
        if step.sources:
            raise ValueError(f"{name} does not file a {self.noun}")
        if step.deadline == "start" and due is None:
            raise ValueError(f"{name} starts the clock: give the deadline")
        number, number_hash = tracking.issue(key)
        attrs[tracking.TRACKING_HASH] = number_hash
        if due is not None:
            attrs["due_at"] = iso(due)
        self._record(attrs, at, actor, name, None, self._outcome(step, to), note)
        return number

    def find_tracked(self, store: RecordStore, number: str) -> Record | None:
        """The object a tracking number was issued for; None for an unknown object and a
        wrong number alike."""
        key = tracking.key_of(number)
        record = store.get(self.kind, key) if key else None
        if record is None or not tracking.matches(record.attrs, number):
            return None
        return record

    @staticmethod
    def check(guard: Guard | None, step: str, record: Record) -> None:
        """Ask the policy about ``step`` on ``record`` (no guard: enforcement is off, or the
        step is the consequence of another the policy judged, e.g. a filing's merge)."""
        if guard is not None:
            guard(step, record)

    # -- a step ---------------------------------------------------------------------------

    def allowed(self, name: str, roles: Iterable[str], note: str | None = None) -> Step:
        """The step ``name`` if known, allowed to ``roles`` and with a note of fair length:
        judged before the object is read."""
        step = self.step(name)
        self.permit(name, roles)
        if note is not None and len(note) > MAX_NOTE:
            raise self.refused(f"a note is at most {MAX_NOTE} characters")
        return step

    def move(
        self,
        record: Record,
        step: Step,
        expected_version: int | None,
        note: str | None = None,
        guard: Guard | None = None,
    ) -> Move:
        """Start ``step`` on ``record`` (as just read): the policy's ``guard`` first (a row
        the caller may not act on is not found, whatever its version), then the version the
        caller saw, then whose object it is, then whether its state allows the step."""
        self.check(guard, step.name, record)
        if expected_version is not None and record.version != expected_version:
            raise VersionConflict(self.kind, record.key, expected_version, record.version)
        if self.owner is not None and record.source_system != self.owner:
            raise self.refused(
                f"{self.noun} {record.key} is handled in its own system "
                f"({record.source_system}); the hub follows it read-only"
            )
        attrs = dict(record.attrs)
        attrs["history"] = list(attrs.get("history") or [])
        current = self.state_of(attrs)
        if current not in step.sources:
            raise self.refused(
                f"{self.noun} {record.key} is {current} ({self.labels[current]}); "
                f"{step.name.replace('_', ' ')} needs it " + " or ".join(sorted(step.sources))
            )
        return Move(record, step, attrs, current, step.to or current, note)

    def apply(
        self, move: Move, actor: str, at: datetime, *, due_in: timedelta | None = None
    ) -> Event:
        """Record the step in ``move.attrs`` (state, label, history, deadline); the event."""
        step = move.step
        to = self._outcome(step, move.to)
        if step.deadline == "start":
            if due_in is None:
                raise ValueError(f"{step.name} starts the clock: give the time allowed")
            move.attrs["due_at"] = iso(at + due_in)
        elif step.deadline == "stop":
            move.attrs.pop("due_at", None)
        event = self._record(move.attrs, at, actor, step.name, move.current, to, move.note)
        if move.public:
            event["public"] = move.public
        return event

    def changed(self, move: Move, at: datetime) -> Record:
        """The record as the step leaves it (not yet stored); on an object from a source
        system, what the step wrote is the hub's from now on (:func:`claim`). An object the
        hub filed (it holds a tracking number's hash) is the hub's whole: nothing to mark."""
        if tracking.TRACKING_HASH not in move.record.attrs:
            claim(move.record.attrs, move.attrs)
        return move.record.model_copy(update={"attrs": move.attrs, "fetched_at": at})

    @property
    def engine_attrs(self) -> frozenset[str]:
        """The attributes the engine itself writes on every step."""
        return frozenset({self.state_attr, "status", "history", "due_at", tracking.TRACKING_HASH})

    def feed_entry(self, move: Move, payload: dict[str, Any], topic: str | None = None) -> Event:
        """The step's entry on the change feed (written in the step's own transaction)."""
        return {
            "topic": topic or self.topic,
            "kind": self.kind,
            "key": move.record.key,
            "op": move.step.name,
            "payload": payload,
        }

    def write(
        self,
        store: RecordStore,
        records: Sequence[Record],
        *,
        events: Sequence[Event] = (),
        within: Sequence[Within] = (),
    ) -> list[Record]:
        """Write the objects, each only over the version it was read at (a new one only if
        its key is free): one changed meanwhile is a :class:`VersionConflict` and nothing is
        written. ``events`` (feed entries) and ``within`` (e.g. an idempotency key's answer)
        are in the same transaction."""
        fresh = [r.model_copy(update={"ingested_at": None}) for r in records]
        return store.write_versioned(fresh, events=events, within=within)

    # -- what a tracking number shows -----------------------------------------------------

    def told(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """One step of an object's history as its tracking number's holder sees it: when, the
        state it led to and its label, and the public note — the one the app marked for the
        holder when the step was taken, else the step's own words for that state, else none.
        Never the staff's note, the actor or anything of the object's content."""
        to = event.get("to")
        step = self.by_name.get(str(event.get("action")))
        note = event.get("public")
        if not isinstance(note, str) or not note:
            declared = step.public if step is not None else {}
            note = declared.get(str(to)) or declared.get("*")
        label = self.labels.get(str(to), "")
        return {"at": event.get("at"), "status": to, "label": label, "note": note}

    # -- helpers --------------------------------------------------------------------------

    def _outcome(self, step: Step, to: str | None) -> str:
        wanted = to or step.to
        allowed = {*((step.to,) if step.to else ()), *step.also}
        if wanted is None or (step.to is not None and wanted not in allowed):
            raise ValueError(f"{step.name} cannot lead to {wanted!r}")
        return wanted

    def _record(
        self,
        attrs: dict[str, Any],
        at: datetime,
        actor: str,
        action: str,
        before: str | None,
        after: str,
        note: str | None,
    ) -> Event:
        event: Event = {
            "at": iso(at),
            "actor": actor,
            "action": action,
            "from": before,
            "to": after,
            "note": note,
        }
        attrs["history"] = [*(attrs.get("history") or []), event]
        attrs[self.state_attr] = after
        attrs["status"] = self.labels[after]
        return event
