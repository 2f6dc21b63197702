"""Citizen-service resolvers: thin calls into the centre's rules (``services``), rows read
through the request's policed record source, every step published to ``caseUpdates``."""

from __future__ import annotations

from typing import Any, TypeVar

import strawberry

from hub.apps import kit
from hub.apps.citizen_service.figures import counted_window, published
from hub.apps.citizen_service.services import (
    CASE_KIND,
    CaseFilter,
    CitizenServiceCentre,
)
from hub.apps.citizen_service.types import (
    CaseFilterInput,
    CaseProgress,
    CaseStats,
    FileCaseInput,
    InspectorPosition,
    ServiceCaseType,
    ServiceCircle,
)
from hub.apps.expected_version import ExpectedVersion
from hub.apps.kit import off_loop
from hub.cases import Caller, CaseIntake
from schema.connection import CountedConnection, from_records, page_size
from schema.context import records

APP_NAME = "citizen_service"
T = TypeVar("T")


def centre(info: strawberry.Info) -> CitizenServiceCentre:
    return kit.service(info, CitizenServiceCentre)


def _filter(f: CaseFilterInput | None) -> CaseFilter:
    if f is None:
        return CaseFilter()
    return CaseFilter(
        status=[s.value for s in f.status or []],
        channel=f.channel.value if f.channel else None,
        category=f.category,
        subcategory=f.subcategory,
        department=f.department,
        grid_cell=f.grid_cell,
        street=f.street,
        overdue=f.overdue,
        source_system=f.source_system,
        reported_after=f.reported_after,
        reported_before=f.reported_before,
    )


async def _publish(info: strawberry.Info, updates: list[dict[str, Any]]) -> None:
    for update in updates:
        await info.context.hub.live.publish_case(update)


async def _step(
    info: strawberry.Info,
    case_id: str,
    action: str,
    expected_version: int | None,
    **options: Any,
) -> ServiceCaseType:
    actor, roles = kit.caller(info, "changing a case")
    c = centre(info)
    guard = await kit.acting_on(info, CASE_KIND, str(case_id), action)  # hidden: not found
    record, updates = await off_loop(
        lambda: c.transition(
            str(case_id),
            action,
            actor,
            roles,
            expected_version=expected_version,
            guard=guard,
            **options,
        )
    )
    await _publish(info, updates)
    return ServiceCaseType.build(kit.answered(info, record), c)


@strawberry.type
class CitizenServiceQueries:
    @strawberry.field(description="Service cases from every channel, filtered, in key order")
    async def service_cases(
        self,
        info: strawberry.Info,
        filter: CaseFilterInput | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> CountedConnection[ServiceCaseType]:
        page_size(first)  # refused before the cases are searched
        c = centre(info)
        wanted = await off_loop(lambda: _filter(filter))
        visible = await kit.readable_rows(info, CASE_KIND)
        found = await off_loop(lambda: c.find(wanted, visible))
        return await from_records(
            info, CASE_KIND, found, lambda r: ServiceCaseType.build(r, c), first=first, after=after
        )

    @strawberry.field(description="One service case by id")
    async def service_case(
        self, info: strawberry.Info, id: strawberry.ID
    ) -> ServiceCaseType | None:
        record = await records(info).load(CASE_KIND, str(id))
        return ServiceCaseType.build(record, centre(info)) if record else None

    @strawberry.field(
        description="A reporter follows their case by its tracking number (no personal data)"
    )
    async def case_progress(self, info: strawberry.Info, tracking_number: str) -> CaseProgress:
        c = centre(info)
        return CaseProgress.of(await off_loop(lambda: c.progress(tracking_number)))

    @strawberry.field(description="Ops-centre statistics over the cases you may see")
    async def service_case_stats(
        self, info: strawberry.Info, filter: CaseFilterInput | None = None
    ) -> CaseStats:
        c = centre(info)
        rows = await kit.countable_rows(info, CASE_KIND)
        wanted = await off_loop(lambda: counted_window(_filter(filter), rows.figures))
        found = await off_loop(lambda: c.shared_stats(wanted, rows.check, rows.view))
        return CaseStats.of(published(found, rows.figures))

    @strawberry.field(
        description="The 15-minute service circle (default: e-bike 15 km/h, detour 1.3)"
    )
    async def service_circle(
        self,
        info: strawberry.Info,
        minutes: float = 15.0,
        speed_kmh: float = 15.0,
        detour_factor: float = 1.3,
        samples: int = 20_000,
    ) -> ServiceCircle:
        c = centre(info)
        return ServiceCircle.of(
            await off_loop(
                lambda: c.service_circle(
                    speed_kmh=speed_kmh, minutes=minutes, detour=detour_factor, samples=samples
                )
            )
        )


@strawberry.type
class CitizenServiceMutations:
    @strawberry.mutation(description="File a case from any channel (operators)")
    async def file_case(self, info: strawberry.Info, input: FileCaseInput) -> ServiceCaseType:
        actor, roles = kit.caller(info, "changing a case")
        c = centre(info)
        intake = CaseIntake(
            channel=input.channel.value,
            description=input.description,
            lon=input.lon,
            lat=input.lat,
            address=input.address,
            title=input.title,
            category=input.category,
            subcategory=input.subcategory,
            reporter_name=input.reporter_name,
            reporter_phone=input.reporter_phone,
            attachments=tuple(input.media_urls or ()),
            reported_at=input.reported_at,
            idempotency_key=input.idempotency_key,
        )
        guard = await kit.filing(info, CASE_KIND)
        # a retry with the same idempotency key gets the first receipt, files nothing
        filed = await off_loop(lambda: c.file(intake, Caller(actor, tuple(roles), guard)))
        await _publish(info, list(filed.updates))
        record = kit.answered(info, filed.record)
        return ServiceCaseType.build(record, c, tracking_number=filed.tracking_number)

    @strawberry.mutation(description="Send the nearest on-duty inspector with the duty to verify")
    async def verify_case(
        self,
        info: strawberry.Info,
        case_id: strawberry.ID,
        note: str | None = None,
        expected_version: ExpectedVersion = None,
    ) -> ServiceCaseType:
        return await _step(info, case_id, "verify", expected_version, note=note)

    @strawberry.mutation(
        description="Dispatch to the responsible department (the catalog's unless named); "
        "confirmed: false closes a case the inspector did not find on site"
    )
    async def dispatch_case(
        self,
        info: strawberry.Info,
        case_id: strawberry.ID,
        department: str | None = None,
        confirmed: bool = True,
        note: str | None = None,
        expected_version: ExpectedVersion = None,
    ) -> ServiceCaseType:
        return await _step(
            info,
            case_id,
            "dispatch",
            expected_version,
            department=department,
            confirmed=confirmed,
            note=note,
        )

    @strawberry.mutation(description="Transfer to another department")
    async def transfer_case(
        self,
        info: strawberry.Info,
        case_id: strawberry.ID,
        department: str,
        note: str | None = None,
        expected_version: ExpectedVersion = None,
    ) -> ServiceCaseType:
        return await _step(
            info, case_id, "transfer", expected_version, department=department, note=note
        )

    @strawberry.mutation(description="A department returns a case that is not its own")
    async def return_misrouted_case(
        self,
        info: strawberry.Info,
        case_id: strawberry.ID,
        note: str,
        expected_version: ExpectedVersion = None,
    ) -> ServiceCaseType:
        return await _step(info, case_id, "return_misrouted", expected_version, note=note)

    @strawberry.mutation(description="The department starts handling (departments, operators)")
    async def start_handling_case(
        self,
        info: strawberry.Info,
        case_id: strawberry.ID,
        note: str | None = None,
        expected_version: ExpectedVersion = None,
    ) -> ServiceCaseType:
        return await _step(info, case_id, "start_handling", expected_version, note=note)

    @strawberry.mutation(description="The department reports what was done")
    async def resolve_case(
        self,
        info: strawberry.Info,
        case_id: strawberry.ID,
        result: str,
        expected_version: ExpectedVersion = None,
    ) -> ServiceCaseType:
        return await _step(info, case_id, "resolve", expected_version, result=result)

    @strawberry.mutation(description="The centre calls the citizen back; reopen if not solved")
    async def return_visit_case(
        self,
        info: strawberry.Info,
        case_id: strawberry.ID,
        note: str | None = None,
        reopen: bool = False,
        expected_version: ExpectedVersion = None,
    ) -> ServiceCaseType:
        return await _step(
            info, case_id, "return_visit", expected_version, note=note, reopen=reopen
        )

    @strawberry.mutation(description="The citizen's rating, 1 to 5")
    async def rate_case(
        self,
        info: strawberry.Info,
        case_id: strawberry.ID,
        rating: int,
        note: str | None = None,
        expected_version: ExpectedVersion = None,
    ) -> ServiceCaseType:
        return await _step(info, case_id, "rate", expected_version, rating=rating, note=note)

    @strawberry.mutation(description="Close the case")
    async def close_case(
        self,
        info: strawberry.Info,
        case_id: strawberry.ID,
        note: str | None = None,
        expected_version: ExpectedVersion = None,
    ) -> ServiceCaseType:
        return await _step(info, case_id, "close", expected_version, note=note)

    @strawberry.mutation(description="An inspector's position (GCJ-02) and on-duty state")
    async def move_inspector(
        self,
        info: strawberry.Info,
        inspector_id: strawberry.ID,
        lon: float,
        lat: float,
        on_duty: bool | None = None,
    ) -> InspectorPosition:
        _, roles = kit.caller(info, "changing a case")
        c = centre(info)
        key = str(inspector_id)
        guard = await kit.acting_on(info, "Inspector", key, "move_inspector")
        moved = kit.answered(
            info, await off_loop(lambda: c.move_inspector(key, lon, lat, on_duty, roles, guard))
        )
        a = moved.attrs
        return InspectorPosition(
            id=strawberry.ID(moved.key),
            lon=lon,
            lat=lat,
            on_duty=bool(a.get("on_duty")),
            duties=list(a.get("duty_categories") or []),
            position_at=moved.fetched_at,
        )
