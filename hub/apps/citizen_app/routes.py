"""The app's HTTP routes, for what a phone sends as a file rather than as GraphQL:

* ``POST /citizen-app/v1/photos`` — one photo, as ``multipart/form-data`` (field ``photo``) or
  as the raw body with an ``image/*`` content type. At most 5 MiB (413 beyond, before the body
  is read further); JPEG, PNG or WebP by its bytes (415 otherwise, whatever the file name or
  declared type). 201 with ``{"id", "sha256", "contentType", "bytes", "width", "height",
  "url"}``; name the ``id`` in ``snapReport(input: {photoIds: [...]})``.
* ``GET /citizen-app/v1/photos/{sha256}`` — the photo's bytes, with its checked type, to a
  principal the policy lets read a case or application the photo is attached to (or who
  uploaded it); to anyone else 404, as for a photo that does not exist. Every read and every
  refusal is audited (``photo.read`` names the photo and the row it was read through; an
  upload over the rate, too large or not a photo is a ``request.refused`` entry).

Both need a bearer token with ``graph:read``. Errors are ``{"error", "description"}``.
Uploads are limited per principal (``CITYHUB_AUTH_PHOTO_UPLOAD_RATE``, e.g. ``20/hour``): over
it 429 with ``Retry-After``, before the body is read; answers carry the ``RateLimit-*`` headers.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Message

from hub.apps import kit
from hub.apps.citizen_app.photo_access import read_right
from hub.apps.citizen_app.photos import (
    MAX_PHOTO_BYTES,
    PHOTO_KIND,
    UPLOADER,
    PhotoRefused,
    is_hash,
)
from hub.apps.citizen_app.services import PHOTO_ROUTE, CitizenApp
from hub.audit.refusals import Detail, Refusal, record_refusal
from hub.auth.ratelimit import PHOTO_UPLOAD
from hub.auth.request import BearerRefused, bearer_principal
from hub.auth.scopes import GRAPH_READ
from hub.policy.enforce import PURPOSE_HEADER, PolicedRecordSource, RequestPolicy
from hub.record_source import StoreRecordSource
from hub.services import HubServices

# room for the multipart boundaries and part headers around one photo
MULTIPART_OVERHEAD = 64 * 1024


def _error(status: int, error: str, description: str, headers: Any = None) -> JSONResponse:
    return JSONResponse({"error": error, "description": description}, status, headers)


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PhotoRefused(f"the upload is {declared} bytes; a photo is at most {MAX_PHOTO_BYTES}",
                           413)  # fmt: skip
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PhotoRefused(f"the upload is over {MAX_PHOTO_BYTES} bytes (5 MiB)", 413)
    return bytes(body)


async def _photo_bytes(request: Request) -> bytes:
    kind = request.headers.get("content-type", "").lower()
    if kind.startswith("multipart/form-data"):
        body = await _body(request, MAX_PHOTO_BYTES + MULTIPART_OVERHEAD)

        async def replay() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        form = await Request(request.scope, replay).form(max_files=1, max_fields=10)
        try:
            upload = form.get("photo")
            if upload is None or isinstance(upload, str):
                raise PhotoRefused("the multipart form has no file field 'photo'")
            data = await upload.read()
        finally:
            await form.close()
        if len(data) > MAX_PHOTO_BYTES:
            raise PhotoRefused(f"the photo is over {MAX_PHOTO_BYTES} bytes (5 MiB)", 413)
        return data
    if kind.startswith(("image/", "application/octet-stream")):
        return await _body(request, MAX_PHOTO_BYTES)
    raise PhotoRefused(
        "send the photo as multipart/form-data (field 'photo') or as an image/* body", 415
    )


def routes(hub: HubServices) -> list[BaseRoute]:
    def citizen_app() -> CitizenApp:
        return kit.service(hub, CitizenApp)

    async def upload(request: Request) -> Response:
        try:
            who = await bearer_principal(request, hub.tokens, GRAPH_READ)
            rate = await hub.limiter.hit_action(PHOTO_UPLOAD, who.label)
            if not rate.allowed:
                limit: dict[str, Detail] = {"limit": rate.limit, "action": PHOTO_UPLOAD}
                refusal = Refusal(429, "rate_limited", request.url.path, limit)
                await record_refusal(hub.audit, refusal, who)
                message = f"at most {rate.limit} photos in a row; retry in {rate.reset_s} s"
                return _error(429, "rate_limited", message, dict(rate.headers()))
            data = await _photo_bytes(request)
            app = citizen_app()
            photo = await run_in_threadpool(lambda: app.photos.put(data, who.label))
        except BearerRefused as exc:
            return _error(exc.status_code, "unauthorized", str(exc.detail), exc.headers)
        except PhotoRefused as exc:  # only after the token was accepted
            refusal = Refusal(exc.status, "photo_refused", request.url.path)
            await record_refusal(hub.audit, refusal, who)
            return _error(exc.status, "photo_refused", str(exc))
        url = app.photo_url(photo)  # the configured issuer's address, never the Host header
        body = {
            "id": photo.sha256,
            "sha256": photo.sha256,
            "contentType": photo.content_type,
            "bytes": photo.bytes,
            "width": photo.width,
            "height": photo.height,
            "url": url,
        }
        return JSONResponse(body, 201, {"Location": url, **dict(rate.headers())})

    async def download(request: Request) -> Response:
        try:
            who = await bearer_principal(request, hub.tokens, GRAPH_READ)
        except BearerRefused as exc:
            return _error(exc.status_code, "unauthorized", str(exc.detail), exc.headers)
        sha = str(request.path_params["sha256"]).lower()
        app = citizen_app()
        purpose = request.headers.get(PURPOSE_HEADER)
        # the request's policy, as a GraphQL read of the owning row would have it
        policy = RequestPolicy(hub.policies, who, purpose, None)
        records = PolicedRecordSource(StoreRecordSource(hub.store), policy)
        right = await read_right(app.photos, sha, who.label, records, hub.classified)
        found = await run_in_threadpool(lambda: app.photos.read(sha)) if right else None
        ids = {PHOTO_KIND: [sha]} if is_hash(sha) else {}
        if right is not None and right[0] != UPLOADER:
            ids[right[0]] = [right[1]]
        await run_in_threadpool(
            lambda: hub.audit.append(
                "photo.read" if found else "photo.refused",
                principal=who.label,
                client_id=who.client_id,
                purpose=(purpose or "")[:128] or None,
                types=sorted(ids),
                ids=ids,
                detail={"via": right[0]} if found and right else {"status": 404},
            )
        )
        if found is None:  # the same answer whether it exists or not
            return _error(404, "not_found", f"no photo {sha[:80]!r}")
        info, data = found
        headers = {
            "X-Content-Type-Options": "nosniff",
            # each read is checked and audited: a browser asks again rather than reusing it
            "Cache-Control": "private, no-cache",
            "ETag": f'"{info.sha256}"',
        }
        return Response(data, 200, headers, media_type=info.content_type)

    return [
        Route(PHOTO_ROUTE, upload, methods=["POST"]),
        Route(f"{PHOTO_ROUTE}/{{sha256}}", download, methods=["GET"]),
    ]
