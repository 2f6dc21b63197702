"""The workflow engine on its own (hub.workflow), over a real SQLite store: a small declared
workflow (a permit: filed → accepted → decided, returned and back), steps allowed and refused by
role and by state, the deadline a step starts and stops, the history every step leaves, a
stale version refused as a conflict, tracking numbers, and the step's feed entry written in the
step's own transaction, with a filing's idempotency answer — on SQLite and PostgreSQL (the
shared ``store`` fixture)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from hub import feed
from hub.idempotency import Idempotency, InProgress, Ticket
from hub.store import RecordStore
from hub.store.errors import VersionConflict
from hub.store.tables import FeedRow
from hub.workflow import Step, Workflow
from schema.record import Record

CLERK, CHIEF, APPLICANT = "clerk", "chief", "applicant"
T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


class Refused(ValueError):
    pass


class Forbidden(PermissionError):
    pass


PERMIT = Workflow(
    kind="Permit",
    noun="permit",
    key_prefix="PERMIT",
    labels={"filed": "已提交", "accepted": "已受理", "returned": "退回", "decided": "已决定"},
    steps=(
        Step("file", frozenset(), "filed", frozenset({APPLICANT})),
        Step("accept", frozenset({"filed"}), "accepted", frozenset({CLERK}), deadline="start"),
        Step(
            "return",
            frozenset({"filed", "accepted"}),
            "returned",
            frozenset({CLERK}),
            deadline="stop",
        ),
        Step("resubmit", frozenset({"returned"}), "filed", frozenset({APPLICANT})),
        Step(
            "decide",
            frozenset({"accepted"}),
            "decided",
            frozenset({CHIEF}),
            also=frozenset({"returned"}),
        ),
        Step("note", frozenset({"filed", "accepted"}), None, frozenset({CLERK, CHIEF})),
    ),
    state_attr="permit_state",
    topic="permit.step",
    refused=Refused,
    forbidden=Forbidden,
    done=frozenset({"decided"}),
    paused=frozenset({"returned"}),
    acts={"file_by_post": frozenset({CLERK})},
    source_states={"不予受理": "decided"},
    owner="cityhub",
)


def _filed(store: RecordStore) -> tuple[Record, str]:
    attrs: dict[str, object] = {"what": "a kiosk on Haibin Road"}
    key = PERMIT.new_key(T0)
    number = PERMIT.file(attrs, "file", "citizen-1", T0, key=key, note="by app")
    record = Record(
        kind="Permit", key=key, source_system="cityhub", source_id=key, fetched_at=T0, attrs=attrs
    )
    (stored,) = PERMIT.write(store, [record])
    return stored, number


def _step(
    store: RecordStore,
    key: str,
    name: str,
    actor: str,
    roles: tuple[str, ...],
    at: datetime,
    *,
    expected: int | None = None,
    due_in: timedelta | None = None,
    to: str | None = None,
) -> Record:
    step = PERMIT.allowed(name, roles)
    record = store.get("Permit", key)
    assert record is not None
    move = PERMIT.move(record, step, expected, note=f"{name} by {actor}")
    if to is not None:
        move.to = to
    PERMIT.apply(move, actor, at, due_in=due_in)
    entry = PERMIT.feed_entry(move, {"permit": key, "from": move.current})
    (stored,) = PERMIT.write(store, [PERMIT.changed(move, at)], events=[entry])
    return stored


def test_a_declaration_naming_an_undeclared_state_is_refused() -> None:
    with pytest.raises(ValueError, match="names 'lost'"):
        Workflow(
            kind="X",
            noun="x",
            key_prefix="X",
            labels={"a": "A"},
            steps=(Step("file", frozenset(), "lost", frozenset({CLERK})),),
            state_attr="s",
            topic="x.step",
            refused=Refused,
            forbidden=Forbidden,
        )


def test_a_filing_that_starts_the_clock_needs_its_deadline() -> None:
    timed = Workflow(
        kind="X",
        noun="x",
        key_prefix="X",
        labels={"open": "办理中"},
        steps=(Step("file", frozenset(), "open", frozenset({CLERK}), deadline="start"),),
        state_attr="s",
        topic="x.step",
        refused=Refused,
        forbidden=Forbidden,
    )
    attrs: dict[str, object] = {}
    with pytest.raises(ValueError, match="starts the clock"):
        timed.file(attrs, "file", "clerk-1", T0, key="X-1")
    timed.file(attrs, "file", "clerk-1", T0, key="X-1", due=T0 + timedelta(hours=72))
    assert attrs["due_at"] == (T0 + timedelta(hours=72)).isoformat() and attrs["s"] == "open"


def test_filing_starts_the_history_and_issues_a_tracking_number(store: RecordStore) -> None:
    record, number = _filed(store)
    assert record.version == 1
    assert record.key.startswith("PERMIT-20260504-")
    assert PERMIT.state_of(record.attrs) == "filed" and record.attrs["status"] == "已提交"
    assert record.attrs["history"] == [
        {
            "at": T0.isoformat(),
            "actor": "citizen-1",
            "action": "file",
            "from": None,
            "to": "filed",
            "note": "by app",
        }
    ]
    # only the number's hash is kept; the number finds the permit, a wrong one nothing
    assert number not in str(record.attrs)
    found = PERMIT.find_tracked(store, number)
    assert found is not None and found.key == record.key
    assert PERMIT.find_tracked(store, number[:-1] + ("A" if number[-1] != "A" else "B")) is None
    assert PERMIT.find_tracked(store, "nonsense") is None


def test_steps_are_allowed_by_role_and_refused_otherwise() -> None:
    assert PERMIT.allowed("accept", [CLERK]).to == "accepted"
    with pytest.raises(Forbidden, match="accept needs the clerk role"):
        PERMIT.allowed("accept", [APPLICANT, CHIEF])
    with pytest.raises(Forbidden, match="decide needs the chief role"):
        PERMIT.allowed("decide", [CLERK])
    PERMIT.permit("file_by_post", [CLERK])  # an act beside the steps
    with pytest.raises(Forbidden, match="file by post needs the clerk role"):
        PERMIT.permit("file_by_post", [APPLICANT])
    with pytest.raises(Refused, match="unknown step 'approve'"):
        PERMIT.allowed("approve", [CHIEF])
    with pytest.raises(Refused, match="unknown step 'file'"):  # filing is no step of a permit
        PERMIT.allowed("file", [APPLICANT])
    with pytest.raises(Refused, match="a note is at most 2000"):
        PERMIT.allowed("note", [CLERK], note="x" * 2001)


def test_steps_are_refused_from_states_they_do_not_start_from(store: RecordStore) -> None:
    record, _ = _filed(store)
    with pytest.raises(Refused, match=r"permit .* is filed \(已提交\); decide needs it accepted"):
        _step(store, record.key, "decide", "chief-1", (CHIEF,), T0)
    with pytest.raises(Refused, match="resubmit needs it returned"):
        _step(store, record.key, "resubmit", "citizen-1", (APPLICANT,), T0)
    # nothing was written by the refusals
    again = store.get("Permit", record.key)
    assert again is not None and again.version == 1 and len(again.attrs["history"]) == 1


def test_the_deadline_starts_stops_and_stands_still_while_paused(store: RecordStore) -> None:
    record, _ = _filed(store)
    assert "due_at" not in record.attrs
    with pytest.raises(ValueError, match="starts the clock"):
        _step(store, record.key, "accept", "clerk-1", (CLERK,), T0)
    at = T0 + timedelta(hours=1)
    accepted = _step(store, record.key, "accept", "clerk-1", (CLERK,), at, due_in=timedelta(days=5))
    due = at + timedelta(days=5)
    assert accepted.attrs["due_at"] == due.isoformat()
    state = PERMIT.state_of(accepted.attrs)
    assert not PERMIT.overdue(state, due, None, due - timedelta(seconds=1))
    assert PERMIT.overdue(state, due, None, due + timedelta(seconds=1))
    # decided in time, judged later: on time; decided late: late
    assert not PERMIT.overdue("decided", due, due - timedelta(hours=1), due + timedelta(days=9))
    assert PERMIT.overdue("decided", due, due + timedelta(hours=1), due + timedelta(days=9))
    assert not PERMIT.overdue("decided", due, None, due + timedelta(days=9))  # when: unknown
    returned = _step(store, record.key, "return", "clerk-1", (CLERK,), at)
    assert "due_at" not in returned.attrs  # the clock stopped, to start anew
    assert not PERMIT.overdue("returned", due, None, due + timedelta(days=9))  # paused


def test_every_step_is_kept_in_the_history_with_the_outcome_chosen(store: RecordStore) -> None:
    record, _ = _filed(store)
    t = [T0 + timedelta(minutes=m) for m in range(5)]
    _step(store, record.key, "note", "clerk-1", (CLERK,), t[1])
    _step(store, record.key, "accept", "clerk-1", (CLERK,), t[2], due_in=timedelta(days=1))
    with pytest.raises(ValueError, match="cannot lead to 'filed'"):
        _step(store, record.key, "decide", "chief-1", (CHIEF,), t[3], to="filed")
    done = _step(store, record.key, "decide", "chief-1", (CHIEF,), t[3], to="returned")
    history = done.attrs["history"]
    assert [(e["action"], e["from"], e["to"], e["actor"]) for e in history] == [
        ("file", None, "filed", "citizen-1"),
        ("note", "filed", "filed", "clerk-1"),  # a step that leaves the state as it was
        ("accept", "filed", "accepted", "clerk-1"),
        ("decide", "accepted", "returned", "chief-1"),  # the declared other outcome
    ]
    assert [e["at"] for e in history] == [x.isoformat() for x in t[:4]]
    assert done.attrs["permit_state"] == "returned" and done.attrs["status"] == "退回"
    assert done.version == 4


def test_a_stale_version_is_a_conflict_and_changes_nothing(store: RecordStore) -> None:
    record, _ = _filed(store)
    _step(store, record.key, "note", "clerk-1", (CLERK,), T0, expected=1)
    with pytest.raises(VersionConflict) as seen:
        _step(
            store,
            record.key,
            "accept",
            "clerk-2",
            (CLERK,),
            T0,
            expected=1,
            due_in=timedelta(days=1),
        )
    assert seen.value.extensions == {"code": "CONFLICT", "version": 2}
    # a step acting on what it read is written only over that version (another step won)
    step = PERMIT.allowed("accept", [CLERK])
    stale = store.get("Permit", record.key)
    assert stale is not None
    _step(store, record.key, "note", "chief-1", (CHIEF,), T0)
    move = PERMIT.move(stale, step, None)
    PERMIT.apply(move, "clerk-2", T0, due_in=timedelta(days=1))
    with pytest.raises(VersionConflict):
        PERMIT.write(store, [PERMIT.changed(move, T0)])
    now = store.get("Permit", record.key)
    assert now is not None and now.version == 3 and PERMIT.state_of(now.attrs) == "filed"


def test_a_source_systems_object_is_followed_read_only(store: RecordStore) -> None:
    theirs = Record(
        kind="Permit",
        key="P-EXT-1",
        source_system="permits-office",
        source_id="1",
        fetched_at=T0,
        attrs={"status": "不予受理"},
    )
    store.upsert([theirs])
    assert PERMIT.state_of(theirs.attrs) == "decided"  # its own status read as a state
    stored = store.get("Permit", "P-EXT-1")
    assert stored is not None
    with pytest.raises(Refused, match="handled in its own system"):
        PERMIT.move(stored, PERMIT.allowed("accept", [CLERK]), None)


def test_the_step_and_its_feed_entry_commit_together(store: RecordStore) -> None:
    record, _ = _filed(store)
    head = feed.head(store.engine)
    _step(store, record.key, "accept", "clerk-1", (CLERK,), T0, due_in=timedelta(days=1))
    with store.engine.connect() as conn:
        rows = conn.execute(select(FeedRow).where(FeedRow.seq > head)).all()
    topics = [(r.topic, r.key) for r in rows]
    assert topics == [("record", record.key), ("permit.step", record.key)]

    # a write failing inside the transaction leaves neither the step nor its entry
    def failing(_: object) -> None:
        raise RuntimeError("disk full")

    step = PERMIT.allowed("return", [CLERK])
    now = store.get("Permit", record.key)
    assert now is not None
    move = PERMIT.move(now, step, None)
    PERMIT.apply(move, "clerk-1", T0)
    with pytest.raises(RuntimeError):
        PERMIT.write(
            store,
            [PERMIT.changed(move, T0)],
            events=[PERMIT.feed_entry(move, {})],
            within=[failing],
        )
    after = store.get("Permit", record.key)
    assert after is not None and after.version == now.version
    assert feed.head(store.engine) == rows[-1].seq


def test_a_filings_idempotency_answer_commits_with_it_or_not_at_all(store: RecordStore) -> None:
    keys = Idempotency(store.engine, b"k" * 32)

    def file(ticket: Ticket | None) -> dict[str, Any]:
        assert ticket is not None
        attrs: dict[str, object] = {}
        key = PERMIT.new_key(T0)
        number = PERMIT.file(attrs, "file", "citizen-1", T0, key=key)
        answer = {"permit": key, "tracking_number": number}
        record = Record(
            kind="Permit",
            key=key,
            source_system="cityhub",
            source_id=key,
            fetched_at=T0,
            attrs=attrs,
        )
        PERMIT.write(store, [record], within=[ticket.keep(answer)])
        return answer

    first, replayed = keys.filed("permit.file", "citizen-1", "k-1", file)
    assert not replayed and store.get("Permit", str(first["permit"])) is not None
    assert keys.answer("permit.file", "citizen-1", "k-1") == first
    assert keys.filed("permit.file", "citizen-1", "k-1", file) == (first, True)
    # a claim taken over by another request (given up, claimed anew): the filing that lost it
    # is refused whole, nothing of it written
    assert keys.claim("permit.file", "citizen-1", "k-2") is None
    stale = Ticket(keys, "permit.file", "citizen-1", "k-2")
    keys.give_up("permit.file", "citizen-1", "k-2")
    count = store.count("Permit")
    with pytest.raises(InProgress):
        file(stale)
    assert store.count("Permit") == count
