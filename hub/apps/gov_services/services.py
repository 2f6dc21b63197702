"""The government-services rules (政务服务): the catalogue of service items with their required
materials, and online applications ("指尖办") checked against it and carried through their
states to a decision:

    submitted ──accept──▶ accepted ──start_review──▶ under_review ──approve──▶ approved
        │  ▲                  │                          │        └──reject───▶ rejected
        │  └──resubmit── returned ◀──return (补正)────────┘
        └──return──▶ returned;  reject from submitted / accepted / under_review

Every step is kept in the application's ``history`` with actor, time and note. An application
is *validated* when submitted (the item exists and is served online, the applicant is of the
kind the item serves, the applicant's ID number / credit code and phone are well formed, every
material named is one of the item's); the materials it lacks are listed at once, acceptance is
refused while any required material is missing, and a return names what is missing.

Deadlines: an accepted application is due ``promised_time_limit_days`` calendar days after its
acceptance (承诺时限); a source system's application, whose acceptance time is not sent, counts
from its submission. A return stops nothing: a resubmitted application is accepted anew and its
deadline counts from then.

Applications are ``ServiceApplication`` records, the ones the online-applications system sends
(their Chinese status read as a state, followed read-only: they are decided in that system)
and the ones submitted here (``source_system = "cityhub"``). The service keeps items and
applications in memory for its queries and reads what any worker stored since its last look
(by ``ingested_at``), so several hub workers agree.
"""

from __future__ import annotations

import re
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hub.apps.kit import BadInput, Forbidden, NotFound
from hub.idempotency import Idempotency, Ticket
from hub.store import RecordStore
from hub.workflow import Guard, Step, Within, Workflow, iso, parse_time
from schema.record import Record
from schema.uscc import USCCError, validate_uscc

APPLICATION_KIND = "ServiceApplication"
ITEM_KIND = "ServiceItem"
HUB_SYSTEM = "cityhub"

STATUS_LABELS: dict[str, str] = {
    "submitted": "已提交",
    "accepted": "已受理",
    "returned": "退回补正",
    "under_review": "审核中",
    "approved": "已办结",
    "rejected": "不予办理",
}
# The online-applications system's statuses, read as states.
SOURCE_STATUS: dict[str, str] = {
    **{label: status for status, label in STATUS_LABELS.items()},
    "不予受理": "rejected",
    "不予许可": "rejected",
}
OPEN = frozenset({"submitted", "accepted", "returned", "under_review"})
DECIDED = frozenset({"approved", "rejected"})

NATURAL_PERSON = "自然人"
LEGAL_PERSON = "法人"
WINDOW = "窗口"
WINDOW_ONLY = "窗口办理"
FULLY_ONLINE = "全程网办"
ONLINE_CHANNELS = ("滨海掌上行", "天津网上办事大厅")

OPERATOR = "operator"
DEPARTMENT = "department"
# Applicants reach the hub through an app acting for them (the citizen app, a partner's
# portal), with any hub token; the approving departments and the centre's operators decide.
APPLICANT_ROLES = frozenset({OPERATOR, DEPARTMENT, "partner", "partner-viewer", "steward"})
STAFF_ROLES = frozenset({OPERATOR, DEPARTMENT})
UNDECIDED = frozenset({"submitted", "accepted", "under_review"})
SUBMIT_SCOPE = "application.submit"  # the idempotency scope of a submission

MAX_TEXT = 2000
MAX_NAME = 64
MAX_MATERIALS = 30
MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
URL = re.compile(r"^https?://\S{1,2000}$")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


class ApplicationError(BadInput):
    """Bad input or a step the application cannot take now; the message says which and why."""


class ApplicationNotFound(NotFound):
    pass


class NotPermitted(Forbidden):
    pass


# The application's workflow (see the module's docstring): acceptance starts the promised
# time limit, a return stops it; decided in the source system, followed read-only here.
APPLICATION = Workflow(
    kind=APPLICATION_KIND,
    noun="application",
    key_prefix="APP-GS",
    labels=STATUS_LABELS,
    steps=(
        Step("submit", frozenset(), "submitted", APPLICANT_ROLES, public={"*": "已提交"}),
        Step(
            "accept",
            frozenset({"submitted"}),
            "accepted",
            STAFF_ROLES,
            deadline="start",
            public={"*": "已受理"},
        ),
        Step(
            "return", UNDECIDED, "returned", STAFF_ROLES, deadline="stop", public={"*": "退回补正"}
        ),
        Step(
            "resubmit",
            frozenset({"returned"}),
            "submitted",
            APPLICANT_ROLES,
            public={"*": "已补正材料"},
        ),
        Step(
            "start_review",
            frozenset({"accepted"}),
            "under_review",
            STAFF_ROLES,
            public={"*": "正在审核"},
        ),
        Step(
            "approve",
            frozenset({"under_review"}),
            "approved",
            STAFF_ROLES,
            public={"*": "准予办理"},
        ),
        Step("reject", UNDECIDED, "rejected", STAFF_ROLES, public={"*": "不予办理"}),
    ),
    state_attr="workflow_status",
    topic="application.step",
    refused=ApplicationError,
    forbidden=NotPermitted,
    done=DECIDED,
    paused=frozenset({"returned"}),
    source_states=SOURCE_STATUS,
    owner=HUB_SYSTEM,
)


def utcnow() -> datetime:
    return datetime.now(UTC)


def resident_id_error(number: str) -> str | None:
    """Why an 18-character resident ID number (GB 11643) is not valid, or None."""
    if not re.match(r"^[0-9]{17}[0-9X]$", number):
        return "an ID number is 17 digits and a check digit (0-9 or X)"
    try:
        datetime.strptime(number[6:14], "%Y%m%d")
    except ValueError:
        return f"an ID number's digits 7-14 are the birth date; {number[6:14]} is not a date"
    expected = _ID_CHECK[
        sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True)) % 11
    ]
    if number[17] != expected:
        return f"the ID number's check digit is {number[17]}, its first 17 digits give {expected}"
    return None


# -- reading records ----------------------------------------------------------------------


def status_of(attrs: dict[str, Any]) -> str:
    """The state: the hub's own, else the source system's Chinese status read as one."""
    return APPLICATION.state_of(attrs)


def submitted_at(record: Record) -> datetime:
    return parse_time(record.attrs.get("submitted_at")) or record.fetched_at


def decided_at(record: Record) -> datetime | None:
    a = record.attrs
    if status_of(a) not in DECIDED:
        return None
    return parse_time(a.get("decided_at")) or parse_time(a.get("finished_at"))


def is_online(record: Record) -> bool:
    return str(record.attrs.get("channel") or "") != WINDOW


def required_materials(item: Record) -> list[str]:
    return [
        str(m["name"])
        for m in item.attrs.get("materials") or []
        if isinstance(m, dict) and m.get("name") and m.get("required")
    ]


def offered_online(item: Record) -> bool:
    return str(item.attrs.get("online_level") or "") != WINDOW_ONLY


@dataclass(frozen=True)
class Material:
    """One material as submitted: the item's material name, and where its file is."""

    name: str
    file_url: str | None = None


@dataclass
class Submission:
    """An online application as the applicant's app sends it."""

    item: str  # the item's key (SI-…) or code (BHXK0001)
    applicant_type: str  # 自然人 | 法人
    applicant_name: str  # the person, or a firm's contact person
    applicant_phone: str
    materials: list[Material] = field(default_factory=list)
    id_number: str | None = None  # a natural person's resident ID
    enterprise_name: str | None = None  # a legal person's name and credit code
    uscc: str | None = None
    channel: str = "滨海掌上行"
    street: str | None = None
    citizen: str | None = None  # the population register's key, when the app knows it


@dataclass(frozen=True)
class ApplicationFilter:
    status: Sequence[str] = ()
    item: str | None = None
    department: str | None = None
    channel: str | None = None
    applicant_type: str | None = None
    street: str | None = None
    overdue: bool | None = None
    source_system: str | None = None
    submitted_after: datetime | None = None
    submitted_before: datetime | None = None

    def __post_init__(self) -> None:
        bad = [s for s in self.status if s not in STATUS_LABELS]
        if bad:
            raise ApplicationError(f"status {bad[0]!r}: one of {', '.join(STATUS_LABELS)}")


@dataclass(frozen=True)
class ItemFilter:
    department: str | None = None
    item_type: str | None = None
    serves: str | None = None
    online: bool | None = None
    text: str | None = None  # in the name or code


class GovernmentServices:
    """The rules of the government-services app, one per hub process."""

    def __init__(
        self,
        store: RecordStore,
        *,
        clock: Callable[[], datetime] = utcnow,
        keys: Idempotency | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.keys = keys  # the filings' idempotency keys (None: filings name none)
        self._lock = threading.RLock()
        self._records: dict[str, dict[str, Record]] = {APPLICATION_KIND: {}, ITEM_KIND: {}}
        self._seen: dict[str, int | None] = {}  # change-feed position, by kind
        self._codes: dict[str, str] = {}  # item code -> key

    # -- what the service knows, read from the store ---------------------------------------

    def _changed(self, kind: str) -> list[Record]:
        """Records of ``kind`` stored (by any worker) since this process last looked, by
        the change feed's sequence (a catch-up by time skipped rows committed late)."""
        found, self._seen[kind] = self.store.changed_since(kind, self._seen.get(kind))
        return found

    def _fresh(self, kind: str) -> dict[str, Record]:
        with self._lock:
            known = self._records[kind]
            for r in self._changed(kind):
                known[r.key] = r
                if kind == ITEM_KIND and r.attrs.get("item_code"):
                    self._codes[str(r.attrs["item_code"])] = r.key
            return known

    def items(self) -> dict[str, Record]:
        return self._fresh(ITEM_KIND)

    def applications(self) -> dict[str, Record]:
        return self._fresh(APPLICATION_KIND)

    def item(self, key_or_code: str) -> Record:
        items = self.items()
        wanted = key_or_code.strip()
        found = items.get(wanted) or items.get(self._codes.get(wanted, ""))
        if found is None:
            raise ApplicationNotFound(f"no service item {wanted!r} (a key SI-… or a code)")
        return found

    def application(self, key: str) -> Record:
        record = self.store.get(APPLICATION_KIND, key)
        if record is None:
            raise ApplicationNotFound(f"no application {key!r}")
        return record

    # -- derived facts ------------------------------------------------------------------------

    # ``items``: the catalogue as read once by a caller going through many applications (a
    # fresh read per application was a store query each: 6.6 s for the statistics)
    def item_of(self, record: Record, items: Mapping[str, Record] | None = None) -> Record | None:
        return (self.items() if items is None else items).get(str(record.attrs.get("item") or ""))

    def department(self, record: Record, items: Mapping[str, Record] | None = None) -> str | None:
        a = record.attrs
        if a.get("department"):
            return str(a["department"])
        item = self.item_of(record, items)
        return str(item.attrs.get("department")) if item and item.attrs.get("department") else None

    def due_at(self, record: Record, items: Mapping[str, Record] | None = None) -> datetime | None:
        own = parse_time(record.attrs.get("due_at"))
        if own is not None:
            return own
        if record.source_system == HUB_SYSTEM:
            return None  # not accepted yet: the clock starts at acceptance
        item = self.item_of(record, items)
        days = item.attrs.get("promised_time_limit_days") if item else None
        if not isinstance(days, int | float):
            return None
        return submitted_at(record) + timedelta(days=float(days))

    def overdue(
        self,
        record: Record,
        now: datetime | None = None,
        items: Mapping[str, Record] | None = None,
    ) -> bool:
        return APPLICATION.overdue(
            status_of(record.attrs),
            self.due_at(record, items),
            decided_at(record),
            now or self.clock(),
        )

    def missing(self, item: Record, names: Iterable[str]) -> list[str]:
        have = set(names)
        return [m for m in required_materials(item) if m not in have]

    def by_tracking(self, number: str) -> Record:
        """The application a tracking number was issued for (``hub.tracking``): the same
        answer for an unknown application and a wrong number."""
        record = APPLICATION.find_tracked(self.store, number)
        if record is None:
            raise ApplicationNotFound("no application with this tracking number")
        return record

    # -- catalogue ------------------------------------------------------------------------------

    def find_items(self, f: ItemFilter, visible: Callable[[Record], bool]) -> list[Record]:
        out = []
        for r in self.items().values():
            a = r.attrs
            if f.department is not None and a.get("department") != f.department:
                continue
            if f.item_type is not None and a.get("item_type") != f.item_type:
                continue
            if f.serves is not None and a.get("serves") != f.serves:
                continue
            if f.online is not None and offered_online(r) != f.online:
                continue
            if f.text and f.text not in f"{a.get('name', '')} {a.get('item_code', '')}":
                continue
            if visible(r):
                out.append(r)
        out.sort(key=lambda r: r.key)
        return out

    # -- applications ---------------------------------------------------------------------------

    def matches(
        self,
        record: Record,
        f: ApplicationFilter,
        now: datetime,
        items: Mapping[str, Record] | None = None,
    ) -> bool:
        a = record.attrs
        if f.status and status_of(a) not in f.status:
            return False
        if f.item is not None and a.get("item") != f.item:
            return False
        if f.department is not None and self.department(record, items) != f.department:
            return False
        if f.channel is not None and a.get("channel") != f.channel:
            return False
        if f.applicant_type is not None and a.get("applicant_type") != f.applicant_type:
            return False
        if f.street is not None and a.get("street") != f.street:
            return False
        if f.source_system is not None and record.source_system != f.source_system:
            return False
        when = submitted_at(record)
        if f.submitted_after is not None and when < f.submitted_after:
            return False
        if f.submitted_before is not None and when >= f.submitted_before:
            return False
        return f.overdue is None or self.overdue(record, now, items) == f.overdue

    def find(self, f: ApplicationFilter, visible: Callable[[Record], bool]) -> list[Record]:
        now = self.clock()
        items = self.items()
        found = [
            r for r in self.applications().values() if self.matches(r, f, now, items) and visible(r)
        ]
        found.sort(key=lambda r: r.key)
        return found

    def _materials(self, item: Record, materials: Sequence[Material]) -> list[dict[str, Any]]:
        names = [str(m.get("name")) for m in item.attrs.get("materials") or []]
        if len(materials) > MAX_MATERIALS:
            raise ApplicationError(f"at most {MAX_MATERIALS} materials")
        seen: set[str] = set()
        out = []
        for m in materials:
            name = (m.name or "").strip()
            if name not in names:
                raise ApplicationError(
                    f"{name!r} is not a material of {item.attrs.get('name')}; its materials "
                    "are: " + "、".join(names)
                )
            if name in seen:
                raise ApplicationError(f"material {name!r} is given twice")
            seen.add(name)
            if m.file_url is not None and not URL.match(m.file_url):
                raise ApplicationError(f"the file of {name!r}: an http(s) URL")
            out.append({"name": name, "file_url": m.file_url})
        return out

    def _validate(self, s: Submission) -> tuple[Record, dict[str, Any]]:
        item = self.item(s.item)
        ia = item.attrs
        if not offered_online(item):
            raise ApplicationError(
                f"{ia.get('name')} is handled at the window only ({WINDOW_ONLY}); it cannot be "
                "applied for online"
            )
        if s.channel not in ONLINE_CHANNELS:
            raise ApplicationError(f"online applications come by {' or '.join(ONLINE_CHANNELS)}")
        if s.channel not in (ia.get("channels") or ONLINE_CHANNELS):
            raise ApplicationError(f"{ia.get('name')} is not served through {s.channel}")
        if s.applicant_type not in (NATURAL_PERSON, LEGAL_PERSON):
            raise ApplicationError(f"applicant type: {NATURAL_PERSON} or {LEGAL_PERSON}")
        if ia.get("serves") and s.applicant_type != ia.get("serves"):
            raise ApplicationError(
                f"{ia.get('name')} serves {ia.get('serves')} applicants, not {s.applicant_type}"
            )
        name = (s.applicant_name or "").strip()
        if not name or len(name) > MAX_NAME:
            raise ApplicationError(f"the applicant's name: 1 to {MAX_NAME} characters")
        phone = (s.applicant_phone or "").strip()
        if not MOBILE.match(phone):
            raise ApplicationError("the applicant's phone: an 11-digit mobile number (1[3-9]…)")
        attrs: dict[str, Any] = {
            "applicant_type": s.applicant_type,
            "applicant": name,
            "applicant_phone": phone,
        }
        if s.applicant_type == NATURAL_PERSON:
            number = (s.id_number or "").strip().upper()
            why = resident_id_error(number) if number else "a natural person's ID number is needed"
            if why:
                raise ApplicationError(why)
            attrs["id_number"] = number
            if s.citizen:
                attrs["citizen"] = s.citizen
        else:
            firm = (s.enterprise_name or "").strip()
            if not firm or len(firm) > 200:
                raise ApplicationError("a legal person's application names the enterprise")
            try:
                attrs["uscc"] = validate_uscc((s.uscc or "").strip().upper())
            except USCCError as exc:
                raise ApplicationError(f"the enterprise's credit code: {exc}") from None
            attrs["enterprise_name"] = firm
        if s.street is not None:
            if len(s.street) > 64:
                raise ApplicationError("street: at most 64 characters")
            attrs["street"] = s.street
        return item, attrs

    def submit(self, s: Submission, actor: str, roles: Sequence[str]) -> Record:
        """Validate and store an online application; the materials it lacks are listed."""
        return self.submit_tracked(s, actor, roles)[0]

    def submit_tracked(
        self,
        s: Submission,
        actor: str,
        roles: Sequence[str],
        *,
        idempotency_key: str | None = None,
        scope: str = SUBMIT_SCOPE,
        guard: Guard | None = None,
    ) -> tuple[Record, str]:
        """``submit``, and the tracking number issued for the application: shown to the
        applicant in this answer only, since the hub keeps just its hash. A retry naming the
        same ``idempotency_key`` gets the first application and number, and submits nothing
        (the key's answer is kept in the submission's own transaction)."""
        if idempotency_key is None:
            return self._submit(s, actor, roles, None, guard)
        if self.keys is None:
            raise ApplicationError("this hub keeps no idempotency keys")

        def submit(ticket: Ticket | None) -> dict[str, Any]:
            record, number = self._submit(s, actor, roles, ticket, guard)
            return {"application": record.key, "tracking_number": number}

        answer, _ = self.keys.filed(scope, actor, idempotency_key, submit)
        return self.application(str(answer["application"])), str(answer["tracking_number"])

    def _submit(
        self,
        s: Submission,
        actor: str,
        roles: Sequence[str],
        ticket: Ticket | None,
        guard: Guard | None = None,
    ) -> tuple[Record, str]:
        APPLICATION.permit("submit", roles)
        item, applicant = self._validate(s)
        materials = self._materials(item, s.materials)
        now = self.clock()
        key = APPLICATION.new_key(now)
        names = [m["name"] for m in materials]
        missing = self.missing(item, names)
        ia = item.attrs
        attrs: dict[str, Any] = {
            "item": item.key,
            "item_code": ia.get("item_code"),
            "item_name": ia.get("name"),
            "department": ia.get("department"),
            "channel": s.channel,
            "submitted_at": iso(now),
            **applicant,
            "materials": materials,
            "materials_uploaded": names,
            "materials_missing": missing,
            "history": [],
        }
        note = "材料齐全" if not missing else "缺少材料：" + "、".join(missing)
        number = APPLICATION.file(
            attrs, "submit", actor, now, key=key, note=f"via {s.channel}; {note}"
        )
        record = Record(
            kind=APPLICATION_KIND,
            key=key,
            source_system=HUB_SYSTEM,
            source_id=key,
            fetched_at=now,
            attrs=attrs,
        )
        APPLICATION.check(guard, "submit", record)
        kept = [ticket.keep({"application": key, "tracking_number": number})] if ticket else []
        return self._store(record, within=kept), number

    def transition(
        self,
        key: str,
        action: str,
        actor: str,
        roles: Sequence[str],
        *,
        note: str | None = None,
        missing: Sequence[str] = (),
        materials: Sequence[Material] = (),
        expected_version: int | None = None,
        guard: Guard | None = None,
    ) -> Record:
        """Move an application one step; a step it cannot take now is an ApplicationError;
        one the policy's ``guard`` does not let the caller act on is not found.

        ``expected_version`` is the version the caller saw: another version stored is a
        :class:`VersionConflict` before anything else is judged. Without it the step acts on
        the version read here, written only if that is still the stored one, so of two
        steps racing on two workers one is refused and none lost."""
        step = APPLICATION.allowed(action, roles, note)
        now = self.clock()
        with self._lock:
            record = self.application(key)
            move = APPLICATION.move(record, step, expected_version, note, guard)
            a = move.attrs
            due_in: timedelta | None = None
            item = self.item_of(record)
            if item is None:
                raise ApplicationError(f"the item {a.get('item')} of {key} is not in the catalogue")
            if action == "accept":
                lacking = self.missing(item, a.get("materials_uploaded") or [])
                if lacking:
                    raise ApplicationError(
                        f"application {key} lacks required materials: {'、'.join(lacking)}; "
                        "return it for them (returnApplication)"
                    )
                days = float(item.attrs.get("promised_time_limit_days") or 0)
                a["accepted_at"] = iso(now)
                due_in = timedelta(days=days)
                move.note = f"承诺时限 {days:g} 天" + (f": {note}" if note else "")
                move.public = f"已受理，承诺时限 {days:g} 天"
            elif action == "return":
                names = {str(m.get("name")) for m in item.attrs.get("materials") or []}
                unknown = [m for m in missing if m not in names]
                if unknown:
                    raise ApplicationError(
                        f"{unknown[0]!r} is not a material of {item.attrs.get('name')}"
                    )
                lacking = self.missing(item, a.get("materials_uploaded") or [])
                wanted = [*lacking, *(m for m in missing if m not in lacking)]
                if not wanted:
                    raise ApplicationError(
                        "a return names what is missing or deficient (missing: material names)"
                    )
                a["materials_missing"] = wanted
                # materials found deficient are wanted again: no longer counted as given
                a["materials_uploaded"] = [
                    n for n in a.get("materials_uploaded") or [] if n not in wanted
                ]
                a["materials"] = [m for m in a.get("materials") or [] if m["name"] not in wanted]
                a.pop("accepted_at", None)
                move.note = "请补正：" + "、".join(wanted) + (f"（{note}）" if note else "")
                move.public = "请补正：" + "、".join(wanted)  # the staff's words stay theirs
            elif action == "resubmit":
                added = self._materials(item, materials)
                if not added:
                    raise ApplicationError("a resubmission brings the missing materials")
                have = {m["name"]: m for m in a.get("materials") or []}
                for m in added:
                    have[m["name"]] = m
                a["materials"] = list(have.values())
                a["materials_uploaded"] = list(have)
                a["materials_missing"] = self.missing(item, have)
                left = a["materials_missing"]
                move.note = (
                    "补正材料："
                    + "、".join(m["name"] for m in added)
                    + ("；仍缺：" + "、".join(left) if left else "；材料齐全")
                )
                move.public = move.note  # the applicant's own materials, named
            elif action in ("approve", "reject"):
                if action == "reject" and not (note and note.strip()):
                    raise ApplicationError("a rejection gives its reason (note)")
                a["decided_at"] = iso(now)
                a["finished_at"] = iso(now)
                a["decision"] = (note or "准予办理").strip()
                move.public = a["decision"]  # addressed to the applicant
            APPLICATION.apply(move, actor, now, due_in=due_in)
            payload = {"application": key, "from": move.current, "to": move.to, "at": iso(now)}
            entry = APPLICATION.feed_entry(move, payload)
            changed = self._store(APPLICATION.changed(move, now), events=[entry])
        return changed

    def _store(
        self,
        record: Record,
        events: Sequence[dict[str, Any]] = (),
        within: Sequence[Within] = (),
    ) -> Record:
        """Write an application only over the version it was read at (a new one only if its
        key is free): one another worker changed meanwhile is a :class:`VersionConflict`.
        ``events``: feed entries, ``within``: other writes, in the same transaction."""
        (stored,) = APPLICATION.write(self.store, [record], events=events, within=within)
        with self._lock:
            self._records[APPLICATION_KIND][stored.key] = stored
        return stored

    # -- what the applicant sees ---------------------------------------------------------------

    def progress(self, number: str) -> dict[str, Any]:
        """State, steps, what is missing and the decision of the application behind a
        tracking number: no names, phones or ID numbers, no staff ids."""
        record = self.by_tracking(number)
        a = record.attrs
        status = status_of(a)
        due = self.due_at(record)
        return {
            "tracking_number": number.strip(),
            "item_name": a.get("item_name"),
            "department": self.department(record),
            "status": status,
            "status_label": STATUS_LABELS[status],
            "submitted_at": iso(submitted_at(record)),
            "due_at": iso(due) if due else None,
            "materials_missing": list(a.get("materials_missing") or []),
            "steps": [APPLICATION.told(e) for e in a.get("history") or []],
            "decision": a.get("decision") if status in DECIDED else None,
        }

    def resubmit(
        self,
        number: str,
        materials: Sequence[Material],
        actor: str,
        roles: Sequence[str],
        guard: Guard | None = None,
    ) -> Record:
        """The applicant brings what a return asked for, by the tracking number."""
        key = self.by_tracking(number).key
        return self.transition(key, "resubmit", actor, roles, materials=materials, guard=guard)

    # -- statistics -------------------------------------------------------------------------------

    def stats(self, items: Iterable[Record], applications: Iterable[Record]) -> dict[str, Any]:
        """Items served online and applications: by state, channel and department, with the
        average time from submission to decision and deadlines kept."""
        now = self.clock()
        item_list = list(items)
        catalogue = self.items()
        by_status: Counter[str] = Counter()
        by_channel: Counter[str] = Counter()
        depts: dict[str, Counter[str]] = defaultdict(Counter)
        dept_hours: dict[str, list[float]] = defaultdict(list)
        hours: list[float] = []
        served_online: set[str] = set()
        total = online = on_time = late = open_overdue = 0
        for r in applications:
            a = r.attrs
            total += 1
            status = status_of(a)
            by_status[status] += 1
            by_channel[str(a.get("channel") or "unknown")] += 1
            dept = self.department(r, catalogue) or "unknown"
            depts[dept]["applications"] += 1
            if is_online(r):
                online += 1
                served_online.add(str(a.get("item")))
            done = decided_at(r)
            if status in DECIDED:
                depts[dept]["decided"] += 1
            if done is not None:
                spent = (done - submitted_at(r)).total_seconds() / 3600
                hours.append(spent)
                dept_hours[dept].append(spent)
            due = self.due_at(r, catalogue)
            if due is not None and done is not None:
                if done > due:
                    late += 1
                else:
                    on_time += 1
            elif status in OPEN and self.overdue(r, now, catalogue):
                open_overdue += 1
        offered = [r for r in item_list if offered_online(r)]
        decided_on_time = on_time + late
        return {
            "items": len(item_list),
            "items_online": len(offered),
            "items_fully_online": sum(
                1 for r in item_list if r.attrs.get("online_level") == FULLY_ONLINE
            ),
            "online_item_rate": round(len(offered) / len(item_list), 4) if item_list else None,
            "items_served_online": len(served_online),
            "applications": total,
            "online_applications": online,
            "decided": by_status["approved"] + by_status["rejected"],
            "timed": len(hours),
            "average_hours": round(sum(hours) / len(hours), 2) if hours else None,
            "decided_on_time": on_time,
            "decided_late": late,
            "open_overdue": open_overdue,
            "on_time_rate": round(on_time / decided_on_time, 4) if decided_on_time else None,
            "by_status": [
                {"key": s, "label": STATUS_LABELS[s], "count": by_status[s]} for s in STATUS_LABELS
            ],
            "by_channel": [
                {"key": k, "label": k, "count": n}
                for k, n in sorted(by_channel.items(), key=lambda kv: (-kv[1], kv[0]))
            ],
            "by_department": sorted(
                (
                    {
                        "department": d,
                        "applications": c["applications"],
                        "decided": c["decided"],
                        "average_hours": round(sum(dept_hours[d]) / len(dept_hours[d]), 2)
                        if dept_hours[d]
                        else None,
                    }
                    for d, c in depts.items()
                ),
                key=lambda b: (-b["applications"], b["department"]),
            ),
        }
