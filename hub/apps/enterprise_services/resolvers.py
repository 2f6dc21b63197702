"""Enterprise-service resolvers: requests filed and moved through the citizen-service
centre's closed loop (reached through the hub's service registry), each step published to
``caseUpdates``; rows read through the request's policy (requests are ServiceCase rows)."""

from __future__ import annotations

from typing import Any, TypeVar

import strawberry
from starlette.concurrency import run_in_threadpool

from hub.apps import kit
from hub.apps.enterprise_services.figures import published
from hub.apps.enterprise_services.services import (
    CASE_KIND,
    STEPS,
    EnterpriseServices,
    is_request,
    status_of,
)
from hub.apps.enterprise_services.types import (
    EnterpriseDepartmentStats,
    EnterpriseRequest,
    EnterpriseRequestStats,
    EnterpriseRequestTypeCount,
    FileEnterpriseRequestInput,
)
from hub.apps.expected_version import ExpectedVersion
from hub.apps.kit import off_loop
from schema.connection import CountedConnection, from_rows
from schema.context import records
from schema.reads import scan_servable
from schema.record import Record

APP_NAME = "enterprise_services"
T = TypeVar("T")


def desk(info: strawberry.Info) -> EnterpriseServices:
    return kit.service(info, EnterpriseServices)


async def _publish(info: strawberry.Info, updates: list[dict[str, Any]]) -> None:
    for update in updates:
        await info.context.hub.live.publish_case(update)


async def _requests(info: strawberry.Info) -> tuple[list[Record], bool]:
    """The enterprise requests the policy lets this request count, and whether rows may be
    served (not to a counts-only principal)."""
    rows, servable = await scan_servable(info, CASE_KIND)
    return [r for r in rows if is_request(r)], servable


async def _step(
    info: strawberry.Info, key: str, step: str, expected_version: int | None, **options: Any
) -> EnterpriseRequest:
    actor, roles = kit.caller(info, "a request's step")
    service = desk(info)
    guard = await kit.acting_on(info, CASE_KIND, key, STEPS.get(step, step))  # hidden: missing
    record, updates = await off_loop(
        lambda: service.step(
            key, step, actor, roles, expected_version=expected_version, guard=guard, **options
        )
    )
    await _publish(info, updates)
    return EnterpriseRequest.of(kit.answered(info, record), service)


@strawberry.type
class EnterpriseServiceQueries:
    @strawberry.field(description="One enterprise request by its key")
    async def enterprise_request(self, info: strawberry.Info, key: str) -> EnterpriseRequest | None:
        record = await records(info).load(CASE_KIND, key)
        return EnterpriseRequest.of(record, desk(info)) if record and is_request(record) else None

    @strawberry.field(description="Enterprise requests by firm, department, status; key order")
    async def enterprise_requests(
        self,
        info: strawberry.Info,
        firm: str | None = None,
        department: str | None = None,
        status: str | None = None,
        overdue: bool | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> CountedConnection[EnterpriseRequest]:
        rows, servable = await _requests(info)
        service = desk(info)
        found = [
            r
            for r in rows
            if (firm is None or r.attrs.get("firm") == firm)
            and (department is None or r.attrs.get("handling_department") == department)
            and (status is None or status_of(r) == status)
            and (overdue is None or service.overdue(r) == overdue)
        ]
        (await kit.figure_rule(info, CASE_KIND)).require(len(found), "requests")
        return from_rows(
            found,
            lambda r: r.key,
            lambda r: EnterpriseRequest.of(r, service),
            first=first,
            after=after,
            servable=servable,
        )

    @strawberry.field(description="Requests by department (open, resolved, overdue, rating)")
    async def enterprise_request_stats(self, info: strawberry.Info) -> EnterpriseRequestStats:
        rows, _ = await _requests(info)
        rule = await kit.figure_rule(info, CASE_KIND)
        figures = await run_in_threadpool(lambda: desk(info).stats(rows))
        totals, lines, types, withheld = published(*figures, rule)
        return EnterpriseRequestStats(
            totals=EnterpriseDepartmentStats.of(totals),
            by_department=[EnterpriseDepartmentStats.of(x) for x in lines],
            by_type=[EnterpriseRequestTypeCount(request_type=t, requests=n) for t, n in types],
            suppressed_groups=withheld,
        )


@strawberry.type
class EnterpriseServiceMutations:
    @strawberry.mutation(description="File a firm's request (operators of the service platform)")
    async def file_enterprise_request(
        self, info: strawberry.Info, input: FileEnterpriseRequestInput
    ) -> EnterpriseRequest:
        actor, roles = kit.caller(info, "a request's step")
        service = desk(info)
        guard = await kit.filing(info, CASE_KIND)
        record, updates = await off_loop(
            lambda: service.file(
                input.firm,
                input.request_type,
                input.description,
                actor,
                roles,
                title=input.title,
                contact_name=input.contact_name,
                contact_phone=input.contact_phone,
                guard=guard,
            )
        )
        await _publish(info, updates)
        return EnterpriseRequest.of(kit.answered(info, record), service)

    @strawberry.mutation(description="Assign to its department (or another one named)")
    async def assign_enterprise_request(
        self,
        info: strawberry.Info,
        key: str,
        department: str | None = None,
        note: str | None = None,
        expected_version: ExpectedVersion = None,
    ) -> EnterpriseRequest:
        return await _step(info, key, "assign", expected_version, department=department, note=note)

    @strawberry.mutation(description="Transfer to another department")
    async def transfer_enterprise_request(
        self,
        info: strawberry.Info,
        key: str,
        department: str,
        note: str | None = None,
        expected_version: ExpectedVersion = None,
    ) -> EnterpriseRequest:
        return await _step(
            info, key, "transfer", expected_version, department=department, note=note
        )

    @strawberry.mutation(description="The department starts handling it")
    async def start_enterprise_request(
        self,
        info: strawberry.Info,
        key: str,
        note: str | None = None,
        expected_version: ExpectedVersion = None,
    ) -> EnterpriseRequest:
        return await _step(info, key, "start", expected_version, note=note)

    @strawberry.mutation(description="The department reports what was done")
    async def resolve_enterprise_request(
        self,
        info: strawberry.Info,
        key: str,
        result: str,
        expected_version: ExpectedVersion = None,
    ) -> EnterpriseRequest:
        return await _step(info, key, "resolve", expected_version, result=result)

    @strawberry.mutation(description="The platform calls the firm back; reopen if not solved")
    async def return_visit_enterprise_request(
        self,
        info: strawberry.Info,
        key: str,
        reopen: bool = False,
        note: str | None = None,
        expected_version: ExpectedVersion = None,
    ) -> EnterpriseRequest:
        return await _step(info, key, "return_visit", expected_version, reopen=reopen, note=note)

    @strawberry.mutation(description="The firm's rating, 1 to 5")
    async def rate_enterprise_request(
        self,
        info: strawberry.Info,
        key: str,
        rating: int,
        note: str | None = None,
        expected_version: ExpectedVersion = None,
    ) -> EnterpriseRequest:
        return await _step(info, key, "rate", expected_version, rating=rating, note=note)

    @strawberry.mutation(description="Close the request")
    async def close_enterprise_request(
        self,
        info: strawberry.Info,
        key: str,
        note: str | None = None,
        expected_version: ExpectedVersion = None,
    ) -> EnterpriseRequest:
        return await _step(info, key, "close", expected_version, note=note)
