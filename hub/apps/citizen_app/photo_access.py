"""Who may read a photo: the policy decides, through the rows the photo is attached to.

A photo is served to a principal when the request's policy lets it read one row the photo is
attached to — a ``ServiceCase`` (its ``mediaUrls``) or a ``ServiceApplication`` (its
``materials``): that type's gate, row filter and field view, exactly as a GraphQL read of
that field — or when the principal uploaded it (its own picture, filed or not yet). Anything
else is "no photo", the answer for a hash nobody uploaded: a 404 never says a photo exists.
The same check stands before a photo is attached to a report or an application, so knowing
a hash is not a way to attach someone else's photo to a row one can see.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool

from hub.apps.citizen_app.photos import UPLOADER, PhotoStore
from hub.policy.enforce import Classified, PolicedRecordSource

# owning type -> (its GraphQL field that shows the photo, that field's Python name)
OWNER_FIELDS: dict[str, tuple[str, str]] = {
    "ServiceCase": ("mediaUrls", "media_urls"),
    "ServiceApplication": ("materials", "materials"),
}


async def read_right(
    photos: PhotoStore,
    sha256: str,
    reader: str,
    records: PolicedRecordSource | Any,
    classified: Classified,
) -> tuple[str, str] | None:
    """What lets ``reader`` (a principal's label) read the photo: (type, key) of an owning
    row the policy serves with its photo field, else (``UPLOADER``, reader) for its own
    upload; None when nothing does (or there is no such photo)."""
    links = await run_in_threadpool(photos.links, sha256)
    for kind, key in links:
        field = OWNER_FIELDS.get(kind)
        if field is None:
            continue
        if not isinstance(records, PolicedRecordSource):  # enforcement off (benchmarks)
            return kind, key
        name, python_name = field
        if await records.load_field(kind, key, name, classified.get(kind, {}), python_name):
            return kind, key
    if (UPLOADER, reader) in links:
        return UPLOADER, reader
    return None
