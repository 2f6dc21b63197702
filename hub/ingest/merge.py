"""What a sync keeps of an object the hub owns: the one merge rule of a source's record into
a workflow object (a service case, an enterprise request) the hub has acted on.

The hub owns an object once it acts on it: the attributes its steps wrote (``hub_attrs``,
kept by :func:`hub.workflow.claim`: state, status label, history, deadline, assignment,
result, ...) are never rolled back by a later sync from the object's source system. The
source's own news is still taken: content fields it changed replace the stored ones, and its
values of the hub's attributes (its status label) are kept apart (``source_facts``, as
digests); each sync that brings news appends one ``source update`` entry to the history
saying what changed (the source's status label, its update time, the changed fields' names —
never their values: the history is shown where a phone number must not be). A source that
repeats what the hub says (the echo of a write-back) brings no news.

Objects the hub has not acted on are replaced by the source's record, as every other record.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from hub.workflow import HUB_ATTRS, SOURCE_FACTS, Workflow, fact, iso
from schema.record import Record

SOURCE_UPDATE = "source update"
_MISSING = object()


@cache
def workflows() -> dict[str, Workflow]:
    """The workflows whose objects from source systems the hub may act on, by their records'
    kind: the case loop (service cases and enterprise requests). An application from a source
    system is decided there and followed read-only here (``APPLICATION.owner``): the hub never
    owns one, so a sync replaces it as any record."""
    from hub.cases import CASE  # here, not at import: hub.cases imports the apps' kit

    return {w.kind: w for w in (CASE,) if w.owner is None}


def merged_kinds() -> frozenset[str]:
    return frozenset(workflows())


def owned(workflow: Workflow, attrs: dict[str, Any]) -> frozenset[str]:
    """The attributes of ``attrs`` that are the hub's (empty: the hub has not acted on it):
    those its steps wrote, or, on an object acted on before they were kept, the engine's."""
    listed = attrs.get(HUB_ATTRS)
    if isinstance(listed, list) and listed:
        return frozenset(str(name) for name in listed)
    return workflow.engine_attrs if workflow.state_attr in attrs else frozenset()


def merge(stored: Record, incoming: Record, updated_at: datetime | None, now: datetime) -> Record:
    """The record to store when a sync brings ``incoming`` over ``stored`` (same kind, key):
    ``incoming`` itself unless the hub owns the object; else the stored object with the
    source's news taken in and told in its history."""
    workflow = workflows().get(stored.kind)
    own = owned(workflow, stored.attrs) if workflow is not None else frozenset()
    if workflow is None or not own:
        return incoming
    kept = dict(stored.attrs)
    facts = dict(kept.get(SOURCE_FACTS) or {})
    changed: list[str] = []
    theirs = incoming.attrs
    bookkeeping = {HUB_ATTRS, SOURCE_FACTS}
    for name in sorted((theirs.keys() | kept.keys()) - bookkeeping):
        value = theirs.get(name, _MISSING)
        if name in own:
            if value is _MISSING or facts.get(name) == fact(value):
                continue
            facts[name] = fact(value)
            if kept.get(name, _MISSING) != value:  # the same as the hub's: its echo, no news
                changed.append(name)
        elif kept.get(name, _MISSING) != value:
            if value is _MISSING:
                kept.pop(name)
            else:
                kept[name] = value
            changed.append(name)
    if incoming.geometry != stored.geometry:
        changed.append("location")
    if facts:
        kept[SOURCE_FACTS] = facts
    if changed:
        kept["history"] = [
            *(kept.get("history") or []),
            _source_update(
                workflow, kept, incoming, theirs.get("status"), updated_at, changed, now
            ),
        ]
    return incoming.model_copy(update={"attrs": kept})


def _source_update(
    workflow: Workflow,
    attrs: dict[str, Any],
    incoming: Record,
    status: Any,
    updated_at: datetime | None,
    changed: list[str],
    now: datetime,
) -> dict[str, Any]:
    """The history's entry of a source's news: in the history's shape (the object's state
    stays as the hub left it), the facts besides."""
    state = workflow.state_of(attrs)
    when = iso(updated_at) if updated_at is not None else None
    said = f"status {status}" if status else "no status"
    note = f"{incoming.source_system}: {said}" + (f", updated {when}" if when else "")
    return {
        "at": iso(now),
        "actor": f"source:{incoming.source_system}",
        "action": SOURCE_UPDATE,
        "from": state,
        "to": state,
        "note": f"{note}; changed {', '.join(changed)}",
        "source": {"status": status, "updated_at": when, "changed": changed},
    }
