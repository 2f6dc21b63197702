"""The 滨海掌上行 app's API: a thin layer over other apps' services, reached at run time
through the hub's service registry (``HubServices.service``), never imported:

* 指尖办 — the government-services app (``gov_services``): the items a citizen can apply for
  online, applying with materials (files uploaded like photos), following by tracking number;
* 随手拍 — the citizen-service centre (``citizen_service``): a report with photos and a place
  filed as a snap-and-send case, followed to its result by tracking number;
* 微资讯 — the media center's ``NewsItem`` records, newest first.

Photos are kept by :mod:`hub.apps.citizen_app.photos` (size and real-type checks, metadata
stripped) and served at URLs built from the hub's configured issuer, never from a request's
``Host`` header. A photo named in a report or an application must be one the caller may read
(:mod:`hub.apps.citizen_app.photo_access`, checked by the resolvers); once filed, it is
attached to the case or application, whose policy then decides who reads it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from hub.apps.citizen_app.photos import PhotoInfo, PhotoStore
from hub.apps.kit import BadInput
from hub.cases import Caller, CaseIntake, FiledCase, case_desk
from hub.store import RecordStore
from hub.workflow import Guard
from schema.record import Record

if TYPE_CHECKING:
    from hub.services import HubServices

NEWS_KIND = "NewsItem"
GOV_SERVICES = "gov_services"
CITIZEN_SERVICE = "citizen_service"
PHOTO_ROUTE = "/citizen-app/v1/photos"
MAX_PHOTOS = 9  # the centre's limit on a case's media
MAX_DESCRIPTION = 2000
APP_CHANNEL = "滨海掌上行"
NATURAL_PERSON = "自然人"
LEGAL_PERSON = "法人"
WINDOW_ONLY = "窗口办理"


# a 随手拍 report's idempotency scope; its door: the one citizen apps file through on a
# citizen's behalf with any hub token (the centre's Open311 intake)
SNAP_SCOPE = "snap.report"
SNAP_DOOR = "open311"


class AppError(BadInput):
    """Bad input from the app; the message says what."""


@dataclass(frozen=True)
class MaterialGiven:
    """A 指尖办 material in the shape the government-services app's ``submit`` reads."""

    name: str
    file_url: str | None = None


@dataclass
class FingertipApplication:
    """A 指尖办 application in the shape the government-services app's ``submit`` reads
    (its ``Submission``)."""

    item: str
    applicant_type: str
    applicant_name: str
    applicant_phone: str
    materials: list[MaterialGiven] = field(default_factory=list)
    id_number: str | None = None
    enterprise_name: str | None = None
    uscc: str | None = None
    channel: str = APP_CHANNEL
    street: str | None = None
    citizen: str | None = None


def published_at(record: Record) -> datetime:
    value = record.attrs.get("published_at")
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value)
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        except ValueError:
            pass
    return record.fetched_at


class CitizenApp:
    """The citizen app's services, one per hub process."""

    def __init__(self, hub: HubServices) -> None:
        self.hub = hub
        self.store: RecordStore = hub.store
        self.photos = PhotoStore(hub.store, hub.settings.data_dir / "citizen-app" / "photos")
        self._lock = threading.RLock()
        self._news: dict[str, Record] = {}
        self._ordered: list[Record] | None = None
        self._seen: int | None = None  # change-feed position of the news read

    # -- the other apps, at run time ---------------------------------------------------------

    def gov(self) -> Any:
        return self.hub.service(GOV_SERVICES)

    def centre(self) -> Any:
        return self.hub.service(CITIZEN_SERVICE)

    # -- 随手拍 ---------------------------------------------------------------------------------

    @property
    def issuer(self) -> str:
        """The hub's configured public address (the OAuth issuer tokens are checked against)."""
        return str(self.hub.tokens.issuer).rstrip("/")

    def photo_url(self, photo: PhotoInfo) -> str:
        return f"{self.issuer}{PHOTO_ROUTE}/{photo.sha256}"

    def attach(self, record: Record, urls: list[str | None]) -> None:
        """Attach the hub's photos among ``urls`` to the row just filed with them: from now
        on that row's policy decides who reads them."""
        prefix = f"{self.issuer}{PHOTO_ROUTE}/"
        for url in urls:
            if url and url.startswith(prefix):
                self.photos.attach(url.removeprefix(prefix), record.kind, record.key)

    def snap_photos(self, ids: list[str], readable: set[str]) -> list[tuple[PhotoInfo, str]]:
        """The photos of a report; ``readable``: the ids the caller may read (any other is
        "no uploaded photo", as one that does not exist)."""
        if not ids:
            raise AppError("a 随手拍 report needs at least one photo (upload it first)")
        if len(ids) > MAX_PHOTOS:
            raise AppError(f"at most {MAX_PHOTOS} photos")
        if len(set(ids)) != len(ids):
            raise AppError("a photo is named twice")
        out = []
        for i in ids:
            sha = i.strip().lower()
            found = self.photos.info(sha) if sha in readable else None
            if found is None:
                raise AppError(f"no uploaded photo {i[:80]!r}")
            out.append((found, self.photo_url(found)))
        return out

    def file_snap(self, intake: CaseIntake, caller: Caller) -> FiledCase:
        """File a report with the city's case desk as a snap-and-send case."""
        if len(intake.description or "") > MAX_DESCRIPTION:
            raise AppError(f"the description is at most {MAX_DESCRIPTION} characters")
        return case_desk(self.hub).file(intake, caller)

    def snap_filed_before(self, key: str | None, caller: Caller) -> FiledCase | None:
        """The receipt of the caller's report with idempotency key ``key``, if filed."""
        return case_desk(self.hub).filed_before(key, caller, SNAP_SCOPE)

    def snap_photo_shas(self, record: Record) -> list[str]:
        """The hub's photos a report was filed with, by their URLs on the case."""
        prefix = f"{self.issuer}{PHOTO_ROUTE}/"
        urls = record.attrs.get("photos") or []
        return [u.removeprefix(prefix) for u in urls if isinstance(u, str) and u.startswith(prefix)]

    # -- 指尖办 ---------------------------------------------------------------------------------

    def fingertip_items(self, text: str | None, serves: str | None) -> list[Record]:
        """The catalogue's items that can be applied for online through the app."""
        out = []
        for r in self.gov().items().values():
            a = r.attrs
            if a.get("online_level") == WINDOW_ONLY or APP_CHANNEL not in (a.get("channels") or []):
                continue
            if serves is not None and a.get("serves") != serves:
                continue
            if text and text not in f"{a.get('name', '')} {a.get('item_code', '')}":
                continue
            out.append(r)
        out.sort(key=lambda r: r.key)
        return out

    def apply(
        self,
        application: FingertipApplication,
        actor: str,
        roles: tuple[str, ...],
        idempotency_key: str | None = None,
        guard: Guard | None = None,
    ) -> tuple[Record, str]:
        """Submit a 指尖办 application (a retry with the same key gets the first one); the
        policy's ``guard`` judges the filing."""
        record, number = self.gov().submit_tracked(
            application, actor, roles, idempotency_key=idempotency_key, guard=guard
        )
        return record, str(number)

    def material_files(
        self, given: list[tuple[str, str | None]], readable: set[str]
    ) -> list[MaterialGiven]:
        """Materials with their uploaded scans as URLs the hub serves; ``readable``: the
        scans the caller may read (any other is "no uploaded file", as a missing one)."""
        out = []
        for name, photo_id in given:
            url = None
            if photo_id:
                sha = photo_id.strip().lower()
                found = self.photos.info(sha) if sha in readable else None
                if found is None:
                    raise AppError(f"no uploaded file {photo_id[:80]!r} for {name!r}")
                url = self.photo_url(found)
            out.append(MaterialGiven(name=name, file_url=url))
        return out

    # -- 微资讯 ---------------------------------------------------------------------------------

    def news(self) -> list[Record]:
        """Every news item, newest first (then by key), as of what any worker stored."""
        with self._lock:
            fresh = [
                r
                for r in self._changed()
                if (known := self._news.get(r.key)) is None or known.ingested_at != r.ingested_at
            ]
            if fresh or self._ordered is None:
                for r in fresh:
                    self._news[r.key] = r
                self._ordered = sorted(
                    self._news.values(), key=lambda r: (published_at(r), r.key), reverse=True
                )
            return self._ordered

    def _changed(self) -> list[Record]:
        found, self._seen = self.store.changed_since(NEWS_KIND, self._seen)
        return found
