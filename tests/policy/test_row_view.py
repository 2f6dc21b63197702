"""The policy's name for the rows a decision lets through (``RequestPolicy.row_view``), which
results shared between requests are keyed by, and its per-row check (``row_check``): equal
views only where the rows seen are the same, and the check equal to ``visible``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import cast

from hub.policy.enforce import RequestPolicy
from hub.policy.engine import ActivePolicy, PolicyEngine, decide_with
from hub.policy.model import parse_document
from schema.record import Record
from tests.hub.city import WHEN

POLICIES = Path(__file__).resolve().parents[2] / "policies"


@dataclass(frozen=True)
class Who:
    subject: str
    client_id: str
    kind: str
    roles: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.subject}"


def _policy(file: str, principals: str = "") -> ActivePolicy:
    source = (POLICIES / file).read_text(encoding="utf-8") + principals
    return ActivePolicy(parse_document(source), 1)


def _request(who: Who) -> RequestPolicy:
    return RequestPolicy(cast(PolicyEngine, SimpleNamespace(generation=1)), who, None, None)


def _cell(key: str, street: str) -> Record:
    return Record(
        kind="GridCell",
        key=key,
        source_system="t",
        source_id=key,
        fetched_at=WHEN,
        attrs={"street": street},
    )


def test_rows_without_a_filter_are_one_view_for_everyone() -> None:
    operator = _policy("operator.toml")
    views = set()
    for name in ("ops1", "ops2"):
        who = Who(name, "desk", "person", ("operator",))
        decision = decide_with(operator, who, "ServiceCase")
        assert decision.row_filter is None
        policy = _request(who)
        views.add(policy.row_view(decision))
        assert policy.row_check(decision)(_cell("A", "x"))
    assert len(views) == 1


def test_principals_a_row_filter_tells_apart_have_views_of_their_own() -> None:
    extra = '\n[principals."client:east-app"]\nstreet = "东区街道"\n'
    department = _policy("department.toml", extra)
    east = Who("east-app", "east-app", "client", ("department",))
    west = Who("west-app", "west-app", "client", ("department",))
    cells = [_cell("A", "东区街道"), _cell("B", "西区街道")]
    seen = {}
    for who in (east, west):
        policy = _request(who)
        decision = decide_with(department, who, "GridCell")
        assert decision.row_filter is not None
        check = policy.row_check(decision)
        assert [check(r) for r in cells] == [policy.visible(decision, r) for r in cells]
        seen[who.subject] = (policy.row_view(decision), [r.key for r in cells if check(r)])
    assert seen["east-app"][1] == ["A"]
    assert seen["west-app"][1] == ["A", "B"]
    assert seen["east-app"][0] != seen["west-app"][0]
    # the same principal asking again names the same view
    again = decide_with(department, east, "GridCell")
    assert _request(east).row_view(again) == seen["east-app"][0]
