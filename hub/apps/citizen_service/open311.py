"""Open311 GeoReport v2 (https://wiki.open311.org/GeoReport_v2) at ``/open311/v2/``: the same
one door as GraphQL's ``fileCase``, for citizen apps that speak the standard.

* ``GET services.{json,xml}``: the 124 duty sub-categories (``service_code`` = ``C08-01``).
* ``GET services/{code}.{fmt}``: a service definition (no extra attributes).
* ``GET requests.{fmt}`` (``service_request_id`` (at most 100), ``service_code``, ``status``
  open|closed, ``start_date``, ``end_date``; the last 90 days by default; ``page_size`` (50 by
  default, at most 100) and ``page`` (from 1), newest first) and ``GET requests/{id}.{fmt}``.
* ``POST requests.{fmt}``, form-encoded: ``service_code``, ``lat``/``long`` or
  ``address_string``, ``description``, optional ``first_name``, ``last_name``, ``phone``,
  ``email``, ``media_url``. Filed as a snap-and-send (随手拍) case.

Authentication: an OAuth access token as ``Authorization: Bearer TOKEN`` (never in a URL), or
the spec's ``api_key`` parameter holding an Open311 API key — a client credential of its own
issued by ``cityhub auth open311-key CLIENT`` and kept hashed (``hub.auth.open311_keys``); an
access token given as ``api_key`` is refused (400). Either needs ``graph:read``.

The access policy for ``ServiceCase`` applies as on GraphQL, decided by ``hub.policy``: rows it
hides are not served (a hidden case is "no service request", as one that does not exist);
counts-only or no access is a 403; the ``Cityhub-Purpose`` header and the type's
``rate_limit`` are checked (403, 429). Each Open311 field is served as the ServiceCase field
it shows (``OPEN311_FIELDS``): a refused field is left out, a masked one masked, the
description scrubbed of personal data; a filter on a field the caller may not see whole is a
403. Errors are the spec's ``[{"code", "description"}]`` / ``<errors>``.

Rates: every request counts in its principal's request bucket (as on /graphql: per person,
or per client for machine traffic); filings also in a filing bucket per principal
(``CITYHUB_AUTH_OPEN311_FILING_RATE``) or per Open311 key (``..._OPEN311_KEY_FILING_RATE``).
Over either: 429 with ``Retry-After``; answers carry the ``RateLimit-*`` headers.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from hub.apps import kit
from hub.apps.citizen_service.services import (
    CASE_KIND,
    CaseFilter,
    CitizenServiceCentre,
    NotPermitted,
    reported_at,
    status_of,
)
from hub.audit.refusals import Refusal, record_refusal
from hub.auth.open311_keys import looks_like_a_token, open311_key_principal
from hub.auth.principal import Principal, TokenError
from hub.auth.ratelimit import OPEN311_FILING, OPEN311_KEY_FILING, RateDecision
from hub.auth.request import BearerRefused, bearer_principal
from hub.auth.scopes import GRAPH_READ
from hub.cases import DONE, STATUS_LABELS, Caller, CaseError, CaseIntake, CaseNotFound
from hub.idempotency import HEADER as IDEMPOTENCY_HEADER
from hub.idempotency import IdempotencyError, InProgress
from hub.policy import write
from hub.policy.enforce import PURPOSE_HEADER, RATE_WINDOW_S, RequestPolicy
from hub.policy.engine import Decision, PolicyDenied, PolicyRateLimited
from hub.policy.fields import served_fields, view_of
from hub.services import HubServices
from schema.classification import FREE_TEXT_FIELDS
from schema.record import Record

PREFIX = "/open311/v2"
DEFAULT_WINDOW = timedelta(days=90)
PAGE_SIZE = 50
MAX_PAGE_SIZE = 100
CASE_TYPE = "ServiceCase"  # the GraphQL type whose field policy Open311's fields follow
# Open311 field -> the ServiceCase field it shows (service_request_id is the id: always served)
OPEN311_FIELDS = {
    "status": "status",
    "status_notes": "statusLabel",
    "merged_into": "mergedInto",  # "，并入 …" in status_notes
    "service_name": "subcategoryName",
    "service_code": "subcategory",
    "description": "description",
    "agency_responsible": "department",
    "requested_datetime": "reportedAt",
    "updated_datetime": "history",  # when its last step was taken
    "expected_datetime": "dueAt",
    "address": "address",
    "lat": "geometry",
    "long": "geometry",
    "media_url": "mediaUrls",
}
# what people type (the description, the address as told): scrubbed of personal data, as on
# GraphQL (the schema's declaration)
FREE_TEXT = FREE_TEXT_FIELDS.get(CASE_TYPE, frozenset())
# query parameter -> the field it filters on
FILTERS = {
    "service_code": "subcategory",
    "status": "status",
    "start_date": "reportedAt",
    "end_date": "reportedAt",
}
MAX_FORM_BYTES = 64 * 1024


class Open311Error(Exception):
    def __init__(
        self,
        status: int,
        description: str,
        headers: dict[str, str] | None = None,
        *,
        reason: str = "open311",
        audited: bool = False,
    ):
        super().__init__(description)
        self.status = status
        self.description = description
        self.headers = headers or {}
        self.reason = reason  # the refusal's code in the audit entry
        self.audited = audited  # already on record (the bearer check keeps its own entry)


def _render(fmt: str, root: str, item: str, rows: list[dict[str, Any]], status: int = 200,
            headers: dict[str, str] | None = None) -> Response:  # fmt: skip
    if fmt == "xml":
        top = ET.Element(root)
        for row in rows:
            el = ET.SubElement(top, item)
            _fill(el, row)
        body = ET.tostring(top, encoding="utf-8", xml_declaration=True)
        return Response(body, status, headers, media_type="text/xml; charset=utf-8")
    text = json.dumps(rows, ensure_ascii=False, default=str)
    return Response(text, status, headers, media_type="application/json; charset=utf-8")


def _fill(el: ET.Element, row: dict[str, Any]) -> None:
    for name, value in row.items():
        child = ET.SubElement(el, name)
        if isinstance(value, list):
            for v in value:
                if isinstance(v, dict):
                    _fill(ET.SubElement(child, "attribute"), v)
                else:
                    ET.SubElement(child, "keyword").text = str(v)
        elif isinstance(value, bool):
            child.text = "true" if value else "false"
        elif value is not None:
            child.text = str(value)


def _error(fmt: str, exc: Open311Error) -> Response:
    row = {"code": exc.status, "description": exc.description}
    return _render(fmt if fmt in ("json", "xml") else "json", "errors", "error", [row],
                   exc.status, exc.headers)  # fmt: skip


def _time(name: str, value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Open311Error(400, f"{name} is not a W3C date-time: {value[:40]!r}") from None
    if parsed.tzinfo is None:
        raise Open311Error(400, f"{name} needs a time zone offset")
    return parsed


def _page(size: str | None, number: str | None) -> tuple[int, int]:
    """(page size, page number from 1) of a listing; a clear 400 outside the bounds."""
    try:
        wanted = int(size) if size else PAGE_SIZE
        page = int(number) if number else 1
    except ValueError:
        raise Open311Error(400, "page_size and page must be whole numbers") from None
    if not 1 <= wanted <= MAX_PAGE_SIZE:
        raise Open311Error(400, f"page_size: from 1 to {MAX_PAGE_SIZE}, got {wanted}")
    if page < 1:
        raise Open311Error(400, f"page: from 1, got {page}")
    return wanted, page


Reader = Callable[[Record], bool]


def routes(hub: HubServices) -> list[BaseRoute]:
    def centre() -> CitizenServiceCentre:
        return kit.service(hub, CitizenServiceCentre)

    async def principal(request: Request, form: dict[str, str]) -> Principal:
        api_key = form.get("api_key") or request.query_params.get("api_key")
        if api_key and "authorization" not in request.headers:
            who = await key_principal(api_key)
        else:
            try:
                who = await bearer_principal(request, hub.tokens, GRAPH_READ)
            except BearerRefused as exc:
                headers = dict(exc.headers or {})
                raise Open311Error(
                    exc.status_code, str(exc.detail), headers, audited=True
                ) from None
        request.state.open311_principal = who  # named in the entry of a later refusal
        rate = await hub.limiter.hit(who)
        request.state.rate = rate
        if not rate.allowed:
            raise Open311Error(
                429,
                f"rate limit: {rate.limit} requests per minute",
                dict(rate.headers()),
                reason="rate_limited",
            )
        return who

    async def key_principal(api_key: str) -> Principal:
        if looks_like_a_token(api_key):
            # an access token in a URL ends up in logs and proxies: never accepted there
            raise Open311Error(
                400,
                "api_key takes an Open311 API key, not an access token: send access tokens "
                "as Authorization: Bearer",
            )
        try:
            who = await run_in_threadpool(open311_key_principal, hub.tokens.accounts, api_key)
        except TokenError as exc:
            raise Open311Error(401, exc.description) from None
        if not who.has_scope(GRAPH_READ):
            raise Open311Error(403, f"the key's client lacks {GRAPH_READ}")
        return who

    async def file_rate(who: Principal) -> RateDecision:
        """One filing counted per Open311 key, or per principal; 429 over it."""
        if who.token_id.startswith("open311-key:"):
            rate = await hub.limiter.hit_action(OPEN311_KEY_FILING, who.client_id)
        else:
            rate = await hub.limiter.hit_action(OPEN311_FILING, who.label)
        if not rate.allowed:
            raise Open311Error(
                429,
                f"too many filings: at most {rate.limit} in a row; retry in {rate.reset_s} s",
                dict(rate.headers()),
            )
        return rate

    async def readable(request: Request, who: Principal) -> tuple[Reader, Decision]:
        """The cases this request may read and how their fields are served: the policy's
        gate (access, counts only, purpose, rate) as GraphQL's, asked of ``hub.policy``."""
        policy = RequestPolicy(hub.policies, who, request.headers.get(PURPOSE_HEADER), hub.rates)
        try:
            visible = await policy.readable(CASE_KIND)
        except PolicyRateLimited as exc:
            raise Open311Error(
                429, str(exc), {"Retry-After": str(int(RATE_WINDOW_S))}, reason="rate_limited"
            ) from None
        except PolicyDenied as exc:
            raise Open311Error(403, str(exc), reason="policy") from None
        return visible, policy.decide(CASE_TYPE)

    def check_filters(decision: Decision, given: dict[str, str | None]) -> None:
        """A filter on a field the caller is not served whole would tell it the field."""
        fields = hub.classified.get(CASE_TYPE, {})
        for param, value in given.items():
            view = view_of(decision, fields, FILTERS[param])
            if value and not (view.allowed and view.mask is None):
                raise Open311Error(
                    403, f"{param} filters on {CASE_TYPE}.{FILTERS[param]}, not served to you"
                )

    def request_row(
        c: CitizenServiceCentre, r: Record, visible: Reader, decision: Decision
    ) -> dict[str, Any]:
        # never the reporter's name, phone or e-mail; each field as the policy serves it
        a = r.attrs
        status = status_of(a)
        followed = status
        if status == "merged" and a.get("merged_into"):
            other = c.cases().get(str(a["merged_into"]))
            # the case it joined, only when the caller may read it
            followed = status_of(other.attrs) if other and visible(other) else status
        pos = r.point()
        due = c.due_at(r)
        photos = a.get("photos") or []
        values: dict[str, Any] = {
            "status": "closed" if followed in DONE else "open",
            "status_notes": STATUS_LABELS[status],
            "merged_into": a.get("merged_into") if status == "merged" else None,
            "service_name": a.get("subcategory_name") or a.get("category_name"),
            "service_code": a.get("subcategory") or a.get("category"),
            "description": a.get("content"),
            "agency_responsible": c.department(r),
            "requested_datetime": reported_at(r).isoformat(),
            "updated_datetime": r.fetched_at.isoformat(),
            "expected_datetime": due.isoformat() if due else None,
            "address": a.get("address") or "",
            "lat": pos[1] if pos else None,
            "long": pos[0] if pos else None,
            "media_url": photos[0] if photos else None,
        }
        served = served_fields(
            decision,
            hub.classified.get(CASE_TYPE, {}),
            {name: (OPEN311_FIELDS[name], value) for name, value in values.items()},
            free_text=FREE_TEXT,
        )
        merged = served.pop("merged_into", None)
        if merged and "status_notes" in served:
            served["status_notes"] += f"，并入 {merged}"
        return {"service_request_id": r.key, **served, "address_id": "", "zipcode": ""}

    async def audit(who: Principal, action: str, keys: list[str]) -> None:
        await run_in_threadpool(
            lambda: hub.audit.append(
                action,
                principal=who.label,
                client_id=who.client_id,
                types=[CASE_KIND],
                ids={CASE_KIND: keys},
            )
        )

    def handler(
        serve: Callable[[Request, str, dict[str, str]], Any],
    ) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            fmt = request.path_params.get("fmt", "json")
            try:
                if fmt not in ("json", "xml"):
                    raise Open311Error(404, f"format {fmt!r}: json or xml")
                form: dict[str, str] = {}
                if request.method == "POST":
                    declared = request.headers.get("content-length", "")
                    if declared.isdigit() and int(declared) > MAX_FORM_BYTES:
                        raise Open311Error(413, "request body too large")
                    kind = request.headers.get("content-type", "")
                    if not kind.startswith(
                        ("application/x-www-form-urlencoded", "multipart/form-data")
                    ):
                        raise Open311Error(
                            415, "POST form-encoded (application/x-www-form-urlencoded)"
                        )
                    parsed = await request.form()
                    form = {k: v for k, v in parsed.items() if isinstance(v, str)}
                answer: Response = await serve(request, fmt, form)
                rate = getattr(request.state, "rate", None)
                if isinstance(rate, RateDecision) and "ratelimit-limit" not in answer.headers:
                    answer.headers.update(dict(rate.headers()))
                return answer
            except Open311Error as exc:
                return await refused(request, fmt, exc)
            except CaseNotFound as exc:
                return _error(fmt, Open311Error(404, str(exc)))
            except NotPermitted as exc:
                return await refused(request, fmt, Open311Error(403, str(exc), reason="policy"))
            except PolicyDenied as exc:  # a filing the policy's write side refuses
                return await refused(request, fmt, Open311Error(403, str(exc), reason="policy"))
            except CaseError as exc:
                return await refused(request, fmt, Open311Error(400, str(exc)))

        return endpoint

    async def refused(request: Request, fmt: str, exc: Open311Error) -> Response:
        """The error's answer, and its audit entry (a refusal, not a missing case: 404s are
        answers); the principal when it was known by then."""
        if exc.status != 404 and not exc.audited:
            who: Principal | None = getattr(request.state, "open311_principal", None)
            why = {"why": exc.description[:200]}
            refusal = Refusal(exc.status, exc.reason, request.url.path, why)
            await record_refusal(hub.audit, refusal, who)
        return _error(fmt, exc)

    async def services(request: Request, fmt: str, form: dict[str, str]) -> Response:
        await principal(request, form)
        catalog = await run_in_threadpool(lambda: centre().catalog)
        rows = [
            {
                "service_code": s.code,
                "service_name": s.name,
                "description": f"{s.category_name} / {s.name}，责任部门 {s.department}，"
                f"时限 {s.time_limit_hours} 小时",
                "metadata": False,
                "type": "realtime",
                "keywords": [s.category_name, s.name],
                "group": s.category_name,
            }
            for s in catalog.subcategories.values()
        ]
        return _render(fmt, "services", "service", rows)

    async def service(request: Request, fmt: str, form: dict[str, str]) -> Response:
        await principal(request, form)
        code = request.path_params["code"]
        catalog = await run_in_threadpool(lambda: centre().catalog)
        if code not in catalog.subcategories:
            raise Open311Error(404, f"no service {code!r}")
        row = {"service_code": code, "attributes": []}
        if fmt == "xml":
            top = ET.Element("service_definition")
            ET.SubElement(top, "service_code").text = code
            ET.SubElement(top, "attributes")
            body = ET.tostring(top, encoding="utf-8", xml_declaration=True)
            return Response(body, media_type="text/xml; charset=utf-8")
        return Response(json.dumps(row), media_type="application/json")

    async def requests(request: Request, fmt: str, form: dict[str, str]) -> Response:
        who = await principal(request, form)
        if request.method == "POST":
            filing = await file_rate(who)
            row = await post(request, who, form)
            answer = _render(fmt, "service_requests", "request", [row], 201)
            answer.headers.update(dict(filing.headers()))  # the tighter bucket
            return answer
        q = request.query_params
        ids = [i.strip() for i in (q.get("service_request_id") or "").split(",") if i.strip()]
        if len(ids) > MAX_PAGE_SIZE:
            raise Open311Error(400, f"service_request_id: at most {MAX_PAGE_SIZE} ids")
        size, number = _page(q.get("page_size"), q.get("page"))
        status = q.get("status")
        if status not in (None, "", "open", "closed"):
            raise Open311Error(400, "status: open or closed")
        code = q.get("service_code")
        start, end = _time("start_date", q.get("start_date")), _time("end_date", q.get("end_date"))
        visible, decision = await readable(request, who)
        check_filters(decision, {p: q.get(p) for p in FILTERS})
        c = centre()
        if ids:
            cases = await run_in_threadpool(c.cases)  # once: each call is a snapshot
            found = await run_in_threadpool(
                lambda: [r for i in ids if (r := cases.get(i)) is not None and visible(r)]
            )
        else:
            if start is None and end is None:
                start = c.clock() - DEFAULT_WINDOW
            wanted = CaseFilter(reported_after=start, reported_before=end)
            found = await run_in_threadpool(lambda: c.find(wanted, visible))
            if code:
                found = [r for r in found if code in (r.attrs.get("subcategory"),
                                                      r.attrs.get("category"))]  # fmt: skip
        rows = [request_row(c, r, visible, decision) for r in found]
        if status:
            rows = [row for row in rows if row["status"] == status]
        found_at = {r.key: reported_at(r) for r in found}
        rows.sort(key=lambda row: found_at[row["service_request_id"]], reverse=True)
        rows = rows[(number - 1) * size : number * size]
        await audit(who, "open311.read", [row["service_request_id"] for row in rows])
        return _render(fmt, "service_requests", "request", rows)

    async def one(request: Request, fmt: str, form: dict[str, str]) -> Response:
        who = await principal(request, form)
        visible, decision = await readable(request, who)
        c = centre()
        key = request.path_params["id"]
        record = await run_in_threadpool(lambda: c.cases().get(key))
        if record is None or not visible(record):
            raise Open311Error(404, f"no service request {key[:80]!r}")
        await audit(who, "open311.read", [key])
        return _render(
            fmt, "service_requests", "request", [request_row(c, record, visible, decision)]
        )

    async def post(request: Request, who: Principal, form: dict[str, str]) -> dict[str, Any]:
        key = request.headers.get(IDEMPOTENCY_HEADER)
        code = (form.get("service_code") or "").strip()
        if not code:
            raise Open311Error(400, "service_code is required")
        lat, lon = form.get("lat"), form.get("long")
        try:
            lat_f = float(lat) if lat else None
            lon_f = float(lon) if lon else None
        except ValueError:
            raise Open311Error(400, "lat and long must be numbers") from None
        if lat_f is None and lon_f is None and not form.get("address_string"):
            raise Open311Error(400, "a location is required: lat and long, or address_string")
        # Chinese order: family name first
        name = (form.get("last_name") or "").strip() + (form.get("first_name") or "").strip()
        intake = CaseIntake(
            channel="snap",
            description=form.get("description") or "",
            lon=lon_f,
            lat=lat_f,
            address=form.get("address_string") or None,
            subcategory=code if "-" in code else None,
            category=code if "-" not in code else None,
            reporter_name=name or None,
            reporter_phone=(form.get("phone") or "").strip() or None,
            reporter_email=(form.get("email") or "").strip() or None,
            attachments=(form["media_url"],) if form.get("media_url") else (),
            door="open311",
            # a retry with the same Idempotency-Key gets the first case, files nothing
            idempotency_key=key,
            idempotency_scope="open311.case",
        )
        c = centre()
        # the policy's write side judges the filing, as it does a fileCase over GraphQL
        policy = RequestPolicy(hub.policies, who, request.headers.get(PURPOSE_HEADER), hub.rates)
        try:
            guard = await write.filing_guard(policy, CASE_KIND, hub.audit)
        except PolicyRateLimited as exc:
            raise Open311Error(
                429, str(exc), {"Retry-After": str(int(RATE_WINDOW_S))}, reason="rate_limited"
            ) from None
        caller = Caller(who.label, tuple(who.roles), guard)
        try:
            filed = await run_in_threadpool(lambda: c.file(intake, caller))
        except InProgress as exc:
            raise Open311Error(409, str(exc)) from None
        except IdempotencyError as exc:
            raise Open311Error(400, str(exc)) from None
        record, number = filed.record, filed.tracking_number
        if not filed.replayed:
            for update in filed.updates:
                await hub.live.publish_case(update)
            await audit(who, "open311.file", [record.key])
        notice = f"跟踪号 {number}"  # issued now, shown this once (the hub keeps its hash)
        if record.attrs.get("merged_into"):
            notice += f"；同一问题已在处理（{record.attrs['merged_into']}），您的反映已并入"
        return {"service_request_id": record.key, "service_notice": notice, "account_id": None}

    return [
        Route(f"{PREFIX}/services.{{fmt}}", handler(services), methods=["GET"]),
        Route(f"{PREFIX}/services/{{code}}.{{fmt}}", handler(service), methods=["GET"]),
        Route(f"{PREFIX}/requests.{{fmt}}", handler(requests), methods=["GET", "POST"]),
        Route(f"{PREFIX}/requests/{{id}}.{{fmt}}", handler(one), methods=["GET"]),
    ]
