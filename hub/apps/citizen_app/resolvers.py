"""The 滨海掌上行 app's resolvers: 指尖办 into the government-services app, 随手拍 into the
citizen-service centre (both through the hub's service registry), 微资讯 over the media
center's records read through the request's policed record source."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from typing import TypeVar

import strawberry
from starlette.concurrency import run_in_threadpool
from strawberry import relay

from hub.apps import kit
from hub.apps.citizen_app.photo_access import read_right
from hub.apps.citizen_app.photos import MAX_PHOTO_BYTES, PhotoRefused
from hub.apps.citizen_app.services import (
    LEGAL_PERSON,
    MAX_PHOTOS,
    NATURAL_PERSON,
    NEWS_KIND,
    SNAP_DOOR,
    SNAP_SCOPE,
    AppError,
    CitizenApp,
    FingertipApplication,
    published_at,
)
from hub.apps.citizen_app.types import (
    FingertipApplyInput,
    FingertipItem,
    FingertipMaterialInput,
    FingertipProgress,
    FingertipReceipt,
    NewsItem,
    SnapPhoto,
    SnapProgress,
    SnapReceipt,
    SnapReportInput,
)
from hub.apps.kit import off_loop
from hub.cases import Caller, CaseIntake, FiledCase
from schema.connection import CountedConnection, Edge, from_rows, page_size
from schema.context import records, search
from schema.record import Record

APP_NAME = "citizen_app"
ITEM_KIND = "ServiceItem"
MAX_NEWS_PAGE = 100
MAX_SCANS = 30  # distinct scans checked for one application (the items' material limit)
T = TypeVar("T")


def app(info: strawberry.Info) -> CitizenApp:
    return kit.service(info, CitizenApp)


async def _readable(info: strawberry.Info, ids: Iterable[str | None], most: int) -> set[str]:
    """Which of the photos named (at most ``most`` distinct ones) the caller may read, as the
    photo route decides (``photo_access``): only those may be attached to a new row."""
    a = app(info)
    reader, _ = kit.caller(info, "the citizen app")
    classified = info.context.hub.classified
    wanted = sorted({i.strip().lower() for i in ids if i})[:most]
    return {
        sha
        for sha in wanted
        if await read_right(a.photos, sha, reader, info.context.records, classified)
    }


def _cursor(kind: str, value: str) -> str:
    return relay.to_base64(kind, value)


def _uncursor(kind: str, cursor: str) -> str:
    try:
        prefix, value = relay.from_base64(cursor)
    except Exception:
        raise ValueError(f"invalid cursor {cursor!r}") from None
    if prefix != kind:
        raise ValueError(f"invalid cursor {cursor!r}")
    return str(value)


def _news_position(r: Record) -> str:
    return f"{published_at(r).isoformat()}|{r.key}"


@strawberry.type
class CitizenAppQueries:
    @strawberry.field(description="指尖办: the items that can be applied for in the app")
    async def fingertip_items(
        self,
        info: strawberry.Info,
        text: str | None = None,
        legal_person: bool | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> CountedConnection[FingertipItem]:
        page_size(first)  # refused before the items are searched
        a = app(info)
        visible = await kit.readable_rows(info, ITEM_KIND)
        serves = None
        if legal_person is not None:
            serves = LEGAL_PERSON if legal_person else NATURAL_PERSON
        found = [r for r in await off_loop(lambda: a.fingertip_items(text, serves)) if visible(r)]
        return from_rows(found, lambda r: r.key, FingertipItem.of, first=first, after=after)

    @strawberry.field(description="指尖办: follow an application by its tracking number")
    async def fingertip_progress(
        self, info: strawberry.Info, tracking_number: str
    ) -> FingertipProgress:
        a = app(info)
        return FingertipProgress.of(await off_loop(lambda: a.gov().progress(tracking_number)))

    @strawberry.field(description="随手拍: follow a report to its result by tracking number")
    async def snap_progress(self, info: strawberry.Info, tracking_number: str) -> SnapProgress:
        a = app(info)
        return SnapProgress.of(await off_loop(lambda: a.centre().progress(tracking_number)))

    @strawberry.field(description="微资讯: the media center's news, newest first")
    async def micro_news(
        self,
        info: strawberry.Info,
        first: int = 20,
        after: str | None = None,
        category: str | None = None,
    ) -> CountedConnection[NewsItem]:
        page_size(first, limit=MAX_NEWS_PAGE)
        a = app(info)
        visible = await kit.readable_rows(info, NEWS_KIND)
        ordered = await run_in_threadpool(a.news)
        found = [r for r in ordered if (category is None or r.attrs.get("category") == category)]
        found = [r for r in found if visible(r)]
        start = _uncursor("news", after) if after else None
        # newest first: a page goes on with what sorts after the cursor's (time, key)
        rest = found
        if start is not None:
            rest = [r for r in found if _news_position(r) < start]
        page = rest[:first]
        rows = await records(info).load_many(NEWS_KIND, [r.key for r in page])
        edges = [
            Edge(cursor=_cursor("news", _news_position(r)), node=NewsItem.from_record(r))
            for r in rows
            if r is not None
        ]
        return CountedConnection.of(
            edges,
            count=len(found),
            has_next=len(rest) > first,
            has_previous=len(rest) < len(found),
        )

    @strawberry.field(description="微资讯: search the news (Chinese words), best match first")
    async def micro_news_search(
        self, info: strawberry.Info, query: str, first: int = 20, after: str | None = None
    ) -> CountedConnection[NewsItem]:
        page_size(first, limit=MAX_NEWS_PAGE)
        if not query.strip():
            raise ValueError("query must not be empty")
        await kit.readable_rows(info, NEWS_KIND)  # counts-only access reads no news
        offset = 0
        if after:
            try:
                offset = int(_uncursor("newssearch", after)) + 1
            except ValueError:
                raise ValueError(f"invalid cursor {after!r}") from None
        page = await search(info).search(query, kinds=[NEWS_KIND], limit=first, offset=offset)
        rows = await records(info).load_many(NEWS_KIND, [h.key for h in page.hits])
        edges = [
            Edge(cursor=_cursor("newssearch", str(offset + i)), node=NewsItem.from_record(r))
            for i, r in enumerate(rows)
            if r is not None
        ]
        return CountedConnection.of(
            edges,
            count=int(page.total),
            has_next=offset + len(page.hits) < int(page.total),
            has_previous=offset > 0,
        )

    @strawberry.field(description="微资讯: one news item")
    async def micro_news_item(self, info: strawberry.Info, key: str) -> NewsItem | None:
        record = await records(info).load(NEWS_KIND, key)
        return NewsItem.from_record(record) if record else None


def decode_photo(content_base64: str) -> bytes:
    text = content_base64.strip()
    if text.startswith("data:") and "," in text:  # a data: URL; its declared type is ignored
        text = text.split(",", 1)[1]
    if len(text) > (MAX_PHOTO_BYTES // 3 + 1) * 4 + 4:
        raise PhotoRefused(f"the photo is larger than {MAX_PHOTO_BYTES} bytes (5 MiB)", 413)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise PhotoRefused("contentBase64 is not base64") from None


@strawberry.type
class CitizenAppMutations:
    @strawberry.mutation(
        description="随手拍: upload a photo as base64 (JPEG, PNG or WebP by its bytes, at most "
        "5 MiB — and within the hub's /graphql body limit, 256 KiB by default, so this suits "
        "small photos; phones send full-size ones as multipart to /citizen-app/v1/photos)"
    )
    async def upload_snap_photo(self, info: strawberry.Info, content_base64: str) -> SnapPhoto:
        actor, _ = kit.caller(info, "the citizen app")
        a = app(info)

        def put() -> SnapPhoto:
            photo = a.photos.put(decode_photo(content_base64), actor)
            return SnapPhoto.of(photo, a.photo_url(photo))

        return await off_loop(put)

    @strawberry.mutation(
        description="随手拍: report a problem with its photos and place; it is filed with the "
        "citizen-service centre as a snap-and-send case"
    )
    async def snap_report(self, info: strawberry.Info, input: SnapReportInput) -> SnapReceipt:
        actor, roles = kit.caller(info, "the citizen app")
        a = app(info)
        ids = [str(i) for i in input.photo_ids]
        readable = await _readable(info, ids, MAX_PHOTOS)

        caller = Caller(actor, tuple(roles), await kit.filing(info, "ServiceCase"))
        key = input.idempotency_key

        def file() -> FiledCase:
            # a retry with the same idempotency key gets the first receipt, files nothing (its
            # photos are now read under the case's policy, which the caller may not pass)
            before = a.snap_filed_before(key, caller)
            if before is not None:
                return before
            photos = a.snap_photos(ids, readable)
            intake = CaseIntake(
                channel="snap",
                description=input.description,
                lon=input.lon,
                lat=input.lat,
                address=input.address,
                title=input.title,
                category=input.category,
                reporter_name=input.reporter_name,
                reporter_phone=input.reporter_phone,
                attachments=tuple(url for _, url in photos),
                door=SNAP_DOOR,
                idempotency_key=key,
                idempotency_scope=SNAP_SCOPE,
            )
            filed = a.file_snap(intake, caller)
            if not filed.replayed:
                a.attach(filed.record, list(intake.attachments))
            return filed

        def receipt(filed: FiledCase) -> SnapReceipt:
            infos = [a.photos.info(sha) for sha in a.snap_photo_shas(filed.record)]
            photos = [(p, a.photo_url(p)) for p in infos if p is not None]
            record = filed.record
            attrs = record.attrs
            status = str(attrs.get("loop_status") or "filed")
            return SnapReceipt(
                tracking_number=filed.tracking_number,
                status=status,
                status_label=str(attrs.get("status") or ""),
                category_name=attrs.get("category_name"),
                subcategory_name=attrs.get("subcategory_name"),
                street=attrs.get("street"),
                grid_cell=attrs.get("grid_cell"),
                due_at=a.centre().due_at(record),
                merged=status == "merged",
                photos=[SnapPhoto.of(p, url) for p, url in photos],
            )

        filed = await off_loop(file)
        for update in filed.updates:
            await info.context.hub.live.publish_case(update)
        return await off_loop(lambda: receipt(filed))

    @strawberry.mutation(
        description="指尖办: apply online with the materials (scans uploaded like photos); a "
        "legal person's application names the enterprise and its credit code"
    )
    async def fingertip_apply(
        self, info: strawberry.Info, input: FingertipApplyInput
    ) -> FingertipReceipt:
        actor, roles = kit.caller(info, "the citizen app")
        a = app(info)
        given = _given(input.materials)
        readable = await _readable(info, (i for _, i in given), MAX_SCANS)
        legal = bool(input.enterprise_name or input.uscc)
        guard = await kit.filing(info, "ServiceApplication")

        def apply() -> tuple[Record, str]:
            materials = a.material_files(given, readable)
            application = FingertipApplication(
                item=input.item,
                applicant_type=LEGAL_PERSON if legal else NATURAL_PERSON,
                applicant_name=input.applicant_name,
                applicant_phone=input.applicant_phone,
                materials=materials,
                id_number=input.id_number,
                enterprise_name=input.enterprise_name,
                uscc=input.uscc,
            )
            # a retry with the same idempotency key gets the first receipt, files nothing
            record, tracking = a.apply(application, actor, roles, input.idempotency_key, guard)
            a.attach(record, [m.file_url for m in materials])
            return record, tracking

        record, tracking = await off_loop(apply)
        return FingertipReceipt.of(record, tracking)

    @strawberry.mutation(description="指尖办: bring the materials a return asked for")
    async def fingertip_resupply(
        self,
        info: strawberry.Info,
        tracking_number: str,
        materials: list[FingertipMaterialInput],
    ) -> FingertipReceipt:
        actor, roles = kit.caller(info, "the citizen app")
        a = app(info)
        named = _given(materials)
        readable = await _readable(info, (i for _, i in named), MAX_SCANS)
        guard = await kit.filing(info, "ServiceApplication")  # the number proves the row

        def resupply() -> FingertipReceipt:
            given = a.material_files(named, readable)
            record = a.gov().resubmit(tracking_number, given, actor, roles, guard)
            a.attach(record, [m.file_url for m in given])
            return FingertipReceipt.of(record, tracking_number.strip())

        return await off_loop(resupply)


def _given(materials: list[FingertipMaterialInput]) -> list[tuple[str, str | None]]:
    return [(m.name, str(m.photo_id) if m.photo_id else None) for m in materials]


__all__ = ["APP_NAME", "AppError", "CitizenAppMutations", "CitizenAppQueries"]
