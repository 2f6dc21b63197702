"""The city's case desk as a hub service: the one input shape for filing a service case
(:class:`CaseIntake`), the receipt of a filing (:class:`FiledCase`), the closed loop every case
goes through (:data:`CASE`, a workflow of ``hub.workflow``: filed → verifying → dispatched →
handling → resolved → visited → rated → closed) and the contract (:class:`CaseDesk`) the
citizen-service centre implements and every other app files through —
law enforcement's and Sharp Eyes' findings, the muck trucks' violations, the citizen app's
随手拍 reports, the firms' requests — reached by :func:`case_desk`, typed on the contract.

A filing names an idempotency key when its caller may retry it: the desk keeps the key and
the receipt in the filing's own transaction, so a retry gets the first receipt and files
nothing, and a filing that never committed leaves no key behind.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from hub.apps.kit import BadInput, Forbidden, NotFound
from hub.workflow import Guard, Step, Workflow
from schema.record import Record

if TYPE_CHECKING:
    from hub.services import HubServices

# The idempotency scope of a filing through the desk's own door (others name theirs)
FILE_SCOPE = "case.file"


class NoCaseDesk(LookupError):
    """A case was to be filed in a hub that runs without the citizen-service centre."""


# -- the closed loop every case goes through --------------------------------------------------

STATUS_LABELS: dict[str, str] = {
    "filed": "已立案",
    "verifying": "核查中",
    "dispatched": "已批转",
    "returned": "已退回",
    "handling": "处置中",
    "resolved": "已办结",
    "visited": "已回访",
    "rated": "已评价",
    "closed": "已结案",
    "merged": "已合并",
}
SOURCE_STATUS = {label: status for status, label in STATUS_LABELS.items()}
OPEN = frozenset({"filed", "verifying", "dispatched", "returned", "handling"})
DONE = frozenset({"resolved", "visited", "rated", "closed"})

OPERATOR = "operator"
DEPARTMENT = "department"
# Who may take each step: the centre's operators everywhere; departments their own steps.
OPERATORS = frozenset({OPERATOR})
STAFF = frozenset({OPERATOR, DEPARTMENT})
# Open311's citizen apps file on the citizen's behalf with any hub token (graph:read)
CITIZEN_DOORS = frozenset({OPERATOR, DEPARTMENT, "partner", "partner-viewer", "steward"})


class CaseError(BadInput):
    """Bad input or a step the case cannot take now; the message says which and why."""


class CaseNotFound(NotFound):
    pass


class NotPermitted(Forbidden):
    pass


# The closed loop (see the module's docstring): a case's clock starts when it is reported
# (the duty's time limit) and stops when it is resolved; a merged case follows the one it
# joined. A source system's case takes the same steps here as one filed here.
CASE = Workflow(
    kind="ServiceCase",
    noun="case",
    key_prefix="CASE-CH",
    labels=STATUS_LABELS,
    steps=(
        Step(
            "file",
            frozenset(),
            "filed",
            OPERATORS,
            deadline="start",
            also=frozenset({"merged"}),
            public={"*": "已受理"},
        ),
        Step(
            "verify",
            frozenset({"filed", "returned"}),
            "verifying",
            OPERATORS,
            public={"*": "网格员正在现场核查"},
        ),
        Step(
            "dispatch",
            frozenset({"filed", "verifying", "returned"}),
            "dispatched",
            OPERATORS,
            also=frozenset({"closed"}),
            public={"dispatched": "已派至责任部门", "closed": "经核查未发现问题"},
        ),
        Step(
            "transfer",
            frozenset({"dispatched", "handling"}),
            "dispatched",
            OPERATORS,
            public={"*": "已转至其他责任部门"},
        ),
        Step(
            "return_misrouted",
            frozenset({"dispatched"}),
            "returned",
            STAFF,
            public={"*": "正在重新分派"},
        ),
        Step(
            "start_handling",
            frozenset({"dispatched"}),
            "handling",
            STAFF,
            public={"*": "责任部门正在处置"},
        ),
        Step("resolve", frozenset({"handling"}), "resolved", STAFF, public={"*": "已处置完毕"}),
        Step(
            "return_visit",
            frozenset({"resolved"}),
            "visited",
            OPERATORS,
            also=frozenset({"handling"}),
            public={"*": "已回访"},
        ),
        Step("rate", frozenset({"visited"}), "rated", OPERATORS, public={"*": "已评价"}),
        Step("close", frozenset({"visited", "rated"}), "closed", OPERATORS, public={"*": "已结案"}),
        # a duplicate filed later joins the case, whatever its state
        Step(
            "merge",
            OPEN | DONE,
            None,
            CITIZEN_DOORS,
            on_request=False,
            public={"*": "同一问题的其他反映已并入"},
        ),
        # a source system's new case that repeats an open one joins it (the centre's
        # duplicate watch over synced cases): the source's later facts still reach it
        Step(
            "join",
            frozenset({"filed"}),
            "merged",
            OPERATORS,
            on_request=False,
            public={"*": "已并入同一问题的案件"},
        ),
    ),
    state_attr="loop_status",
    topic="case.step",
    refused=CaseError,
    forbidden=NotPermitted,
    done=DONE,
    paused=frozenset({"merged"}),
    acts={"file_open311": CITIZEN_DOORS, "move_inspector": OPERATORS},
    # the enterprise-service platform's words for a request accepted and one being handled
    source_states={"已受理": "filed", "办理中": "handling"},
)


@dataclass(frozen=True)
class Caller:
    """Who files: the actor kept in the case's history, the roles the desk checks and the
    policy's guard of the request it came by (None: an app filing on its own account)."""

    actor: str
    roles: tuple[str, ...]
    guard: Guard | None = None


@dataclass(frozen=True)
class CaseIntake:
    """A problem as one channel reports it: the one shape every door files a case with."""

    channel: str  # hotline | grid | snap | mailbox | zero_distance, or a request channel
    description: str
    lon: float | None = None  # GCJ-02; or an address naming a street of the district
    lat: float | None = None
    address: str | None = None
    title: str | None = None
    category: str | None = None  # the duty catalog's, else classified from the text
    subcategory: str | None = None
    reporter_name: str | None = None
    reporter_phone: str | None = None
    reporter_email: str | None = None
    attachments: tuple[str, ...] = ()  # photos' and videos' http(s) URLs
    reported_at: datetime | None = None
    door: str = "graphql"  # the door it came by: graphql, open311, or an app's name
    # a request channel's own routing, and attributes it adds to the case
    department: str | None = None
    time_limit_hours: float | None = None
    topic: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    # names the filing so a retry never files twice (per caller and scope)
    idempotency_key: str | None = None
    idempotency_scope: str = FILE_SCOPE


@dataclass(frozen=True)
class FiledCase:
    """A filing's receipt: the case as stored, the tracking number issued for it (shown in
    this answer only), the updates to publish live; ``replayed``: the receipt of an earlier
    filing with the same idempotency key (nothing was filed, nothing is to publish)."""

    record: Record
    tracking_number: str
    updates: tuple[dict[str, Any], ...] = ()
    replayed: bool = False

    @property
    def key(self) -> str:
        return self.record.key

    @property
    def followed(self) -> str:
        """The case that carries the problem: the one a duplicate was merged into."""
        return str(self.record.attrs.get("merged_into") or self.record.key)


@runtime_checkable
class CaseDesk(Protocol):
    """The city's case desk (the citizen-service centre implements it)."""

    def file(self, intake: CaseIntake, caller: Caller) -> FiledCase:
        """Locate, classify, merge a duplicate, start the case's clock; its receipt."""
        ...

    def filed_before(
        self, key: str | None, caller: Caller, scope: str = FILE_SCOPE
    ) -> FiledCase | None:
        """The receipt of the caller's filing with idempotency key ``key``, if it is done
        (for a door that must know before it checks its input again: a retry's photos may
        no longer be the caller's to show)."""
        ...

    def subcategory_code(self, category: str, name: str | None) -> str | None:
        """The duty catalog's code of sub-category ``name`` in ``category``."""
        ...

    def progress(self, number: str) -> dict[str, Any]:
        """What a tracking number's holder may see of the case."""
        ...

    def transition(
        self,
        key: str,
        action: str,
        actor: str,
        roles: Sequence[str],
        *,
        note: str | None = None,
        department: str | None = None,
        confirmed: bool = True,
        result: str | None = None,
        reopen: bool = False,
        rating: int | None = None,
        expected_version: int | None = None,
        guard: Guard | None = None,
    ) -> tuple[Record, list[dict[str, Any]]]:
        """Move a case one step of its closed loop (if the policy's ``guard`` lets this
        caller act on it); the case and the updates to publish."""
        ...

    def overdue(self, record: Record, now: datetime | None = None) -> bool:
        """Whether the case is past its deadline (resolved late, or open and late now)."""
        ...


def case_desk(hub: HubServices) -> CaseDesk:
    """The hub's case desk; :class:`NoCaseDesk` (a LookupError) in a hub without one."""
    for built in hub.apps.values():
        if isinstance(built, CaseDesk):
            return built
    raise NoCaseDesk("no case desk (the citizen_service app) is installed in this hub")
