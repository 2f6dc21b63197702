"""Government-services resolvers: thin calls into the rules (``services``); rows read through
the request's policed record source, figures over the rows the policy lets a request count."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import strawberry
from starlette.concurrency import run_in_threadpool

from hub.apps import kit
from hub.apps.expected_version import ExpectedVersion
from hub.apps.gov_services.figures import counted_window, published
from hub.apps.gov_services.services import (
    APPLICATION_KIND,
    ITEM_KIND,
    ApplicationFilter,
    ApplicationNotFound,
    GovernmentServices,
    ItemFilter,
    Material,
    Submission,
)
from hub.apps.gov_services.types import (
    ApplicationFilterInput,
    ApplicationProgress,
    ApplicationReceipt,
    GovServiceStats,
    MaterialInput,
    ServiceApplication,
    ServiceItem,
    ServiceItemFilterInput,
    SubmitApplicationInput,
)
from hub.apps.kit import off_loop
from schema.connection import CountedConnection, from_records
from schema.context import records

APP_NAME = "gov_services"
T = TypeVar("T")


def gov(info: strawberry.Info) -> GovernmentServices:
    return kit.service(info, GovernmentServices)


def _app_filter(f: ApplicationFilterInput | None) -> ApplicationFilter:
    if f is None:
        return ApplicationFilter()
    return ApplicationFilter(
        status=[s.value for s in f.status or []],
        item=f.item,
        department=f.department,
        channel=f.channel,
        applicant_type=f.applicant_type.value if f.applicant_type else None,
        street=f.street,
        overdue=f.overdue,
        source_system=f.source_system,
        submitted_after=f.submitted_after,
        submitted_before=f.submitted_before,
    )


def _materials(given: Sequence[MaterialInput] | None) -> list[Material]:
    return [Material(name=m.name, file_url=m.file_url) for m in given or []]


async def _step(
    info: strawberry.Info,
    key: str,
    action: str,
    note: str | None = None,
    missing: Sequence[str] = (),
    *,
    expected_version: int | None,
) -> ServiceApplication:
    actor, roles = kit.caller(info, "an application")
    g = gov(info)
    guard = await kit.acting_on(info, APPLICATION_KIND, key, action)  # hidden: as a missing one
    record = await off_loop(
        lambda: g.transition(
            key,
            action,
            actor,
            roles,
            note=note,
            missing=list(missing),
            expected_version=expected_version,
            guard=guard,
        )
    )
    return ServiceApplication.build(kit.answered(info, record), g)


def submission(input: SubmitApplicationInput) -> Submission:
    return Submission(
        item=input.item,
        applicant_type=input.applicant_type.value,
        applicant_name=input.applicant_name,
        applicant_phone=input.applicant_phone,
        materials=_materials(input.materials),
        id_number=input.id_number,
        enterprise_name=input.enterprise_name,
        uscc=input.uscc,
        channel=input.channel,
        street=input.street,
    )


@strawberry.type
class GovServicesQueries:
    @strawberry.field(description="The catalogue of service items, filtered, in key order")
    async def service_items(
        self,
        info: strawberry.Info,
        filter: ServiceItemFilterInput | None = None,
        first: int = 100,
        after: str | None = None,
    ) -> CountedConnection[ServiceItem]:
        g = gov(info)
        f = filter or ServiceItemFilterInput()
        wanted = ItemFilter(
            department=f.department,
            item_type=f.item_type,
            serves=f.serves.value if f.serves else None,
            online=f.online,
            text=f.text,
        )
        visible = await kit.readable_rows(info, ITEM_KIND)
        found = await off_loop(lambda: g.find_items(wanted, visible))
        return await from_records(
            info, ITEM_KIND, found, ServiceItem.from_record, first=first, after=after
        )

    @strawberry.field(description="One service item by its key (SI-…) or code (BHXK0001)")
    async def service_item(self, info: strawberry.Info, key: str) -> ServiceItem | None:
        g = gov(info)
        try:
            found = await run_in_threadpool(lambda: g.item(key))
        except ApplicationNotFound:
            return None
        record = await records(info).load(ITEM_KIND, found.key)
        return ServiceItem.from_record(record) if record else None

    @strawberry.field(description="Online applications, filtered, in key order")
    async def service_applications(
        self,
        info: strawberry.Info,
        filter: ApplicationFilterInput | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> CountedConnection[ServiceApplication]:
        g = gov(info)
        wanted = await off_loop(lambda: _app_filter(filter))
        visible = await kit.readable_rows(info, APPLICATION_KIND)
        found = await off_loop(lambda: g.find(wanted, visible))
        # each application's department and due date look its item up: off the event loop
        return await from_records(
            info,
            APPLICATION_KIND,
            found,
            lambda r: ServiceApplication.build(r, g),
            first=first,
            after=after,
            build_off_loop=True,
        )

    @strawberry.field(description="One application by its key")
    async def service_application(
        self, info: strawberry.Info, key: str
    ) -> ServiceApplication | None:
        record = await records(info).load(APPLICATION_KIND, key)
        return ServiceApplication.build(record, gov(info)) if record else None

    @strawberry.field(
        description="An applicant follows their application by its tracking number "
        "(no personal data)"
    )
    async def application_progress(
        self, info: strawberry.Info, tracking_number: str
    ) -> ApplicationProgress:
        g = gov(info)
        return ApplicationProgress.of(await off_loop(lambda: g.progress(tracking_number)))

    @strawberry.field(
        description="Items served online and applications in figures, over the rows you may "
        "count (counts-only access included)"
    )
    async def gov_service_stats(
        self, info: strawberry.Info, filter: ApplicationFilterInput | None = None
    ) -> GovServiceStats:
        g = gov(info)
        apps = await kit.countable_rows(info, APPLICATION_KIND)
        items = await kit.countable_rows(info, ITEM_KIND)
        wanted = await off_loop(lambda: counted_window(_app_filter(filter), apps.figures))

        def figures() -> dict[str, object]:
            catalogue = [r for r in g.items().values() if items.check(r)]
            stats = g.stats(catalogue, g.find(wanted, apps.check))
            return published(stats, apps.figures, items.figures)

        return GovServiceStats.of(await off_loop(figures))


@strawberry.type
class GovServicesMutations:
    @strawberry.mutation(
        description="Submit an online application with its materials; it is validated against "
        "the item, and the materials it lacks are listed in the receipt"
    )
    async def submit_application(
        self, info: strawberry.Info, input: SubmitApplicationInput
    ) -> ApplicationReceipt:
        actor, roles = kit.caller(info, "an application")
        g = gov(info)
        wanted = submission(input)

        # a retry with the same idempotency key gets the first receipt, submits nothing
        key = input.idempotency_key
        guard = await kit.filing(info, APPLICATION_KIND)
        record, number = await off_loop(
            lambda: g.submit_tracked(wanted, actor, roles, idempotency_key=key, guard=guard)
        )
        return ApplicationReceipt.of(kit.answered(info, record), number)

    @strawberry.mutation(
        description="The applicant brings what a return asked for (by tracking number)"
    )
    async def resubmit_application(
        self, info: strawberry.Info, tracking_number: str, materials: list[MaterialInput]
    ) -> ApplicationReceipt:
        actor, roles = kit.caller(info, "an application")
        g = gov(info)
        given = _materials(materials)
        guard = await kit.filing(info, APPLICATION_KIND)  # the number proves the row's own
        record = await off_loop(lambda: g.resubmit(tracking_number, given, actor, roles, guard))
        return ApplicationReceipt.of(kit.answered(info, record), tracking_number.strip())

    @strawberry.mutation(
        description="Accept (受理) an application whose required materials are all there; the "
        "promised time limit starts"
    )
    async def accept_application(
        self,
        info: strawberry.Info,
        key: str,
        note: str | None = None,
        expected_version: ExpectedVersion = None,
    ) -> ServiceApplication:
        return await _step(info, key, "accept", note, expected_version=expected_version)

    @strawberry.mutation(
        description="Return an application for missing or deficient materials (退回补正); the "
        "required ones not given are always listed, `missing` adds deficient ones"
    )
    async def return_application(
        self,
        info: strawberry.Info,
        key: str,
        missing: list[str] | None = None,
        note: str | None = None,
        expected_version: ExpectedVersion = None,
    ) -> ServiceApplication:
        return await _step(
            info, key, "return", note, missing or [], expected_version=expected_version
        )

    @strawberry.mutation(description="Start the review (审核) of an accepted application")
    async def start_review_application(
        self,
        info: strawberry.Info,
        key: str,
        note: str | None = None,
        expected_version: ExpectedVersion = None,
    ) -> ServiceApplication:
        return await _step(info, key, "start_review", note, expected_version=expected_version)

    @strawberry.mutation(description="Approve: the decision (办结), with what was granted")
    async def approve_application(
        self,
        info: strawberry.Info,
        key: str,
        note: str | None = None,
        expected_version: ExpectedVersion = None,
    ) -> ServiceApplication:
        return await _step(info, key, "approve", note, expected_version=expected_version)

    @strawberry.mutation(description="Reject (不予办理), with the reason")
    async def reject_application(
        self,
        info: strawberry.Info,
        key: str,
        reason: str,
        expected_version: ExpectedVersion = None,
    ) -> ServiceApplication:
        return await _step(info, key, "reject", reason, expected_version=expected_version)
