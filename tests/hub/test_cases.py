"""The city's case desk (hub.cases) in a real hub over the small test city: apps reach it typed
on its contract, a CaseIntake files a case, and a filing's idempotency key is kept in the
filing's own transaction — a key that cannot be kept rolls the filing back (no case, no feed
entry, the claim given up, so the retry files once), and a worker that dies right after its
filing committed leaves the receipt for the retry (before: the key's answer was a second
commit, so the retry filed a second case once the claim went stale)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import ColumnElement, func, select

from hub.apps.citizen_service.services import CitizenServiceCentre
from hub.cases import Caller, CaseDesk, CaseIntake, NoCaseDesk, case_desk
from hub.idempotency import Idempotency, InProgress, Ticket
from hub.services import HubServices
from hub.store.tables import Base, FeedRow, IdempotencyRow, RecordRow
from tests.auth.conftest import Hub
from tests.security.small_hub import LAT, LON, small_hub

OPERATOR = Caller("app:test", ("operator",))


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    with small_hub(tmp_path_factory.mktemp("cases")) as h:
        yield h


def _services(hub: Hub) -> HubServices:
    services: HubServices = hub.app.state.hub
    return services


def _count(hub: Hub, table: type[Base], *where: ColumnElement[bool]) -> int:
    with hub.app.state.store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def _cases(hub: Hub) -> int:
    return _count(hub, RecordRow, RecordRow.kind == "ServiceCase")


def _intake(key: str | None, text: str = "井盖缺失，行人易跌落") -> CaseIntake:
    return CaseIntake(
        channel="grid",
        description=text,
        lon=LON,
        lat=LAT,
        category="C08",
        door="test",
        idempotency_key=key,
    )


def test_apps_reach_the_desk_typed_on_its_contract(hub: Hub) -> None:
    desk = case_desk(_services(hub))
    assert isinstance(desk, CitizenServiceCentre) and isinstance(desk, CaseDesk)
    empty = HubServices.__new__(HubServices)
    empty.apps = {}
    with pytest.raises(NoCaseDesk):
        case_desk(empty)
    assert issubclass(NoCaseDesk, LookupError)  # what the apps that file on their own catch


def test_an_intake_files_a_case_with_its_receipt(hub: Hub) -> None:
    desk = case_desk(_services(hub))
    before = _cases(hub)
    filed = desk.file(_intake(None, "路灯不亮已经三天了"), OPERATOR)
    assert not filed.replayed and _cases(hub) == before + 1
    record = filed.record
    assert record.attrs["loop_status"] == "filed" and record.attrs["intake"] == "test"
    assert record.attrs["history"][0]["actor"] == "app:test"
    assert record.attrs["due_at"]  # the clock started at the report
    assert filed.updates[0]["case_id"] == record.key
    progress = desk.progress(filed.tracking_number)
    assert progress["status"] == "filed" and progress["tracking_number"] == filed.tracking_number


def test_a_key_that_cannot_be_kept_rolls_the_filing_back(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    desk = case_desk(_services(hub))
    key = str(uuid.uuid4())
    cases, entries = _cases(hub), _count(hub, FeedRow)

    def disk_full(*_: object) -> bool:
        raise OSError("disk full")

    with monkeypatch.context() as m:
        m.setattr(Idempotency, "keep_in", disk_full)
        with pytest.raises(OSError):
            desk.file(_intake(key, "井盖缺失 回滚"), OPERATOR)
    # neither the case nor its feed entries were written, and the claim was given up
    assert _cases(hub) == cases and _count(hub, FeedRow) == entries
    assert (
        _count(hub, IdempotencyRow, IdempotencyRow.key == Idempotency._id(OPERATOR.actor, key)) == 0
    )
    # the retry files, once; the next retry gets its receipt
    first = desk.file(_intake(key, "井盖缺失 回滚"), OPERATOR)
    assert not first.replayed and _cases(hub) == cases + 1
    again = desk.file(_intake(key, "井盖缺失 回滚"), OPERATOR)
    assert again.replayed and again.updates == ()
    assert (again.key, again.tracking_number) == (first.key, first.tracking_number)
    assert _cases(hub) == cases + 1


def test_a_worker_dying_after_its_filing_committed_leaves_the_receipt(hub: Hub) -> None:
    centre = case_desk(_services(hub))
    assert isinstance(centre, CitizenServiceCentre) and centre.keys is not None
    keys, key = centre.keys, str(uuid.uuid4())
    cases = _cases(hub)
    # the first worker claims the key and files; it dies before it answers (no give-up, no
    # keeping after: nothing after the filing's own commit runs)
    assert keys.claim("case.file", OPERATOR.actor, key) is None
    ticket = Ticket(keys, "case.file", OPERATOR.actor, key)
    filed = centre._file(_intake(key, "井盖缺失 崩溃"), OPERATOR, ticket)
    assert _cases(hub) == cases + 1
    # the client retries: the first receipt, no second case (before: IDEMPOTENCY_IN_PROGRESS
    # for a minute, then a second case)
    retry = centre.file(_intake(key, "井盖缺失 崩溃"), OPERATOR)
    assert retry.replayed and (retry.key, retry.tracking_number) == (
        filed.key,
        filed.tracking_number,
    )
    assert _cases(hub) == cases + 1
    # and a filing whose worker died before its commit left an open claim: the retry is
    # told the first is still running, not filed twice
    other = str(uuid.uuid4())
    assert keys.claim("case.file", OPERATOR.actor, other) is None
    with pytest.raises(InProgress):
        centre.file(_intake(other), OPERATOR)
    assert _cases(hub) == cases + 1


def test_the_same_key_from_another_door_is_its_own(hub: Hub) -> None:
    desk = case_desk(_services(hub))
    key = str(uuid.uuid4())
    cases = _cases(hub)
    one = desk.file(_intake(key, "路面塌陷 甲"), OPERATOR)
    scoped = CaseIntake(
        channel="grid",
        description="路面塌陷 乙",
        lon=LON,
        lat=LAT,
        category="C08",
        idempotency_key=key,
        idempotency_scope="test.door",
    )
    two = desk.file(scoped, OPERATOR)
    assert one.key != two.key and _cases(hub) == cases + 2
    assert desk.filed_before(key, OPERATOR, "test.door") is not None
    assert desk.filed_before(str(uuid.uuid4()), OPERATOR) is None
