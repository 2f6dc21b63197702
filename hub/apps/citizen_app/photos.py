"""Photos of 随手拍 reports: checked, cleaned, then kept by content hash.

A photo is accepted when it is at most :data:`MAX_PHOTO_BYTES` (5 MiB) and its bytes are a
JPEG, PNG or WebP image — read from the magic bytes and the image header (which must give the
width and height), never from the file name or the declared content type; at most
:data:`MAX_PIXELS` pixels. It is then decoded and encoded again (:mod:`.reencode`): what is
kept is the pixels only, without EXIF GPS position or device data. The clean photo is written
once under ``DATA_DIR/citizen-app/photos/<sha256[:2]>/<sha256>.<ext>`` (atomically: a
temporary file renamed; the hash is the clean bytes') and described by a ``SnapPhoto`` record
(hash, type, size, dimensions, when). The same bytes uploaded twice are the same photo. A
refused photo leaves nothing behind: no file, no record.

Who may read a photo is not decided here: each upload and each row a photo is attached to (a
case, an application) is one ``SnapPhotoLink`` record of its own (keyed under the photo's
hash, so two uploads or attachments never overwrite each other), and the photo route asks the
policy about those rows (:mod:`.photo_access`).
"""

from __future__ import annotations

import hashlib
import os
import struct
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hub.apps.citizen_app.reencode import ReencodeRefused, reencode
from hub.store import RecordStore
from schema.record import Record

PHOTO_KIND = "SnapPhoto"
LINK_KIND = "SnapPhotoLink"
UPLOADER = "uploader"  # a link naming who uploaded the photo (no row)
MAX_LINKS = 500  # links read per photo: uploads and attachments of the same bytes
HUB_SYSTEM = "cityhub"
MAX_PHOTO_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 50_000_000
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}


class PhotoRefused(ValueError):
    """A photo the app does not keep; ``status`` is the HTTP status that says why."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class PhotoInfo:
    sha256: str
    content_type: str
    bytes: int
    width: int
    height: int
    uploaded_at: datetime

    @classmethod
    def of(cls, record: Record) -> PhotoInfo:
        a = record.attrs
        return cls(
            sha256=record.key,
            content_type=str(a["content_type"]),
            bytes=int(a["bytes"]),
            width=int(a["width"]),
            height=int(a["height"]),
            uploaded_at=datetime.fromisoformat(str(a["uploaded_at"])),
        )


def sniff(data: bytes) -> tuple[str, int, int]:
    """(content type, width, height) of a JPEG, PNG or WebP image; PhotoRefused otherwise."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png", *_png_size(data)
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg", *_jpeg_size(data)
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", *_webp_size(data)
    raise PhotoRefused(
        "not a JPEG, PNG or WebP image (its bytes say so, whatever its name)", status=415
    )


def _png_size(data: bytes) -> tuple[int, int]:
    if len(data) < 33 or data[12:16] != b"IHDR":
        raise PhotoRefused("a damaged PNG: no IHDR header", status=415)
    width, height = struct.unpack(">II", data[16:24])
    if b"IEND" not in data[-12:]:
        raise PhotoRefused("a truncated PNG: no IEND chunk at its end", status=415)
    return width, height


_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg_size(data: bytes) -> tuple[int, int]:
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            break
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        if marker in _SOF:
            if i + 9 > len(data):
                break
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return width, height
        if marker == 0xDA or length < 2:  # start of scan before any frame header
            break
        i += 2 + length
    raise PhotoRefused("a damaged JPEG: no frame header with its size", status=415)


def _webp_size(data: bytes) -> tuple[int, int]:
    chunk = data[12:16]
    if chunk == b"VP8X" and len(data) >= 30:
        width = 1 + int.from_bytes(data[24:27], "little")
        height = 1 + int.from_bytes(data[27:30], "little")
        return width, height
    if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    raise PhotoRefused("a damaged WebP: no VP8/VP8L/VP8X header", status=415)


def check(data: bytes) -> tuple[str, int, int]:
    """The checks every photo passes before anything is stored."""
    if not data:
        raise PhotoRefused("the photo is empty")
    if len(data) > MAX_PHOTO_BYTES:
        raise PhotoRefused(
            f"the photo is {len(data)} bytes; at most {MAX_PHOTO_BYTES} (5 MiB)", status=413
        )
    content_type, width, height = sniff(data)
    if width <= 0 or height <= 0:
        raise PhotoRefused(f"the image says it is {width}×{height} pixels", status=415)
    if width * height > MAX_PIXELS:
        raise PhotoRefused(f"{width}×{height} pixels; at most {MAX_PIXELS}", status=413)
    return content_type, width, height


class PhotoStore:
    """The photos on disk under the data dir, described in the record store."""

    def __init__(self, store: RecordStore, folder: Path) -> None:
        self.store = store
        self.folder = folder

    def path(self, sha256: str, content_type: str) -> Path:
        return self.folder / sha256[:2] / f"{sha256}.{EXTENSIONS[content_type]}"

    def put(self, data: bytes, uploaded_by: str) -> PhotoInfo:
        content_type, _, _ = check(data)
        try:
            data, width, height = reencode(data, content_type, MAX_PIXELS)
        except ReencodeRefused as exc:
            raise PhotoRefused(str(exc), exc.status) from None
        digest = hashlib.sha256(data).hexdigest()
        known = self.store.get(PHOTO_KIND, digest)
        if known is not None and self.path(digest, content_type).exists():
            self._link(digest, UPLOADER, uploaded_by)
            return PhotoInfo.of(known)
        target = self.path(digest, content_type)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        now = datetime.now(UTC)
        attrs: dict[str, Any] = {
            "sha256": digest,
            "content_type": content_type,
            "bytes": len(data),
            "width": width,
            "height": height,
            "uploaded_at": now.isoformat(),
            "uploaded_by": uploaded_by,
        }
        record = Record(
            kind=PHOTO_KIND,
            key=digest,
            source_system=HUB_SYSTEM,
            source_id=digest,
            fetched_at=now,
            attrs=attrs,
        )
        self.store.upsert([record])
        self._link(digest, UPLOADER, uploaded_by)
        return PhotoInfo.of(record)

    # -- who and what a photo belongs to -----------------------------------------------------

    def attach(self, sha256: str, kind: str, key: str) -> None:
        """Note that row ``kind``/``key`` shows the photo (a case's media, a material's scan)."""
        self._link(sha256, kind, key)

    def _link(self, sha256: str, kind: str, key: str) -> None:
        name = hashlib.sha256(f"{kind}\0{key}".encode()).hexdigest()[:32]
        link = f"{sha256}:{name}"
        record = Record(
            kind=LINK_KIND,
            key=link,
            source_system=HUB_SYSTEM,
            source_id=link,
            fetched_at=datetime.now(UTC),
            attrs={"photo": sha256, "kind": kind, "key": key},
        )
        self.store.upsert([record])

    def links(self, sha256: str) -> list[tuple[str, str]]:
        """(kind, key) of every link of the photo; (``UPLOADER``, principal) for uploads."""
        if not is_hash(sha256):
            return []
        rows = self.store.page(LINK_KIND, after=f"{sha256}:", before=f"{sha256};", limit=MAX_LINKS)
        return [(str(r.attrs["kind"]), str(r.attrs["key"])) for r in rows]

    def info(self, sha256: str) -> PhotoInfo | None:
        if not is_hash(sha256):
            return None
        record = self.store.get(PHOTO_KIND, sha256)
        return PhotoInfo.of(record) if record is not None else None

    def read(self, sha256: str) -> tuple[PhotoInfo, bytes] | None:
        found = self.info(sha256)
        if found is None:
            return None
        path = self.path(found.sha256, found.content_type)
        if not path.exists():
            return None
        return found, path.read_bytes()


def is_hash(value: str) -> bool:
    """A SHA-256 in lower-case hex: the only names a photo has."""
    return len(value) == 64 and all(c in "0123456789abcdef" for c in value)
