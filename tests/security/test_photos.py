"""Item 15 — photos: read only through the owning case's policy (404 otherwise, audited),
served at the configured issuer's address whatever the Host header says, and kept without
EXIF GPS or device data. Real tokens, real HTTP through starlette's TestClient."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib
from datetime import UTC, datetime
from typing import Any

import pytest
from PIL import Image

from hub.policy.workflow import PolicyWorkflow
from schema.record import Record
from tests.auth_helpers import bearer, fetch_token, register_client
from tests.security.conftest import Hub

PHOTOS = "/citizen-app/v1/photos"
STREET = "测试街道"  # every cell of the small test city
SNAP = """mutation($input: SnapReportInput!) { snapReport(input: $input)
  { trackingNumber photos { id url } } }"""
WHEN = datetime(2026, 6, 1, tzinfo=UTC)


def catalog() -> list[Record]:
    """The one duty the reports below need (manhole covers, the city management board's)."""

    def record(kind: str, key: str, attrs: dict[str, Any]) -> Record:
        return Record(kind=kind, key=key, source_system="grid-management", source_id=key,
                      fetched_at=WHEN, attrs=attrs)  # fmt: skip

    return [
        record("DutyCategory", "C08", {"name": "市政设施", "department": "区城市管理委员会"}),
        record(
            "DutySubCategory",
            "C08-01",
            {"name": "井盖缺失破损", "category": "C08", "time_limit_hours": 24},
        ),
    ]


def publish(workflow: PolicyWorkflow, source: str) -> None:
    """Draft and publish a policy (a second steward approves it where four eyes apply)."""
    draft = workflow.draft(source, author="user:test-steward", reason="photo test")
    done = workflow.publish(draft.name, draft.version, author="user:test-steward", reason="t")
    if done.status != "published":
        workflow.approve(  # type: ignore[attr-defined]
            draft.name, draft.version, approver="user:second-steward", reason="t"
        )


def street_reader(hub: Hub, name: str, street: str) -> str:
    """A partner client whose policy shows it the cases of one street only."""
    client_id, secret = register_client(hub.app, name, role="partner", scopes=["graph:read"])
    publish(
        hub.app.state.policy_workflow,
        f"""name = "{name}"
subject = "client:{client_id}"
clearance = "internal"
principals = {{ "client:{client_id}" = {{ street = "{street}" }} }}

[types."*"]
fields = ["*"]

[types.ServiceCase]
fields = ["*"]
row_filter = "record.street == principal.street"
""",
    )
    return fetch_token(hub.http, client_id, secret)


def exif_jpeg() -> bytes:
    """A phone's photo: GPS position, make and model, a comment, turned by the orientation tag."""
    image = Image.new("RGB", (64, 48), (10, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "Huawei"  # Make
    exif[0x0110] = "P40 Pro SN-7731"  # Model
    exif[0x0112] = 6  # Orientation: turn 90° to show it upright
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (39.0, 0.0, 30.5), 3: "E", 4: (117.0, 42.0, 1.0)})
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, comment=b"home of Wang Xiaoming")
    return out.getvalue()


def png_chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def png(width: int, height: int, idat: bytes | None = None, text: bytes = b"") -> bytes:
    raw = b"".join(b"\x00" + b"\x20\x90\x40" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + (png_chunk(b"tEXt", b"Comment\x00" + text) if text else b"")
        + png_chunk(b"IDAT", zlib.compress(raw) if idat is None else idat)
        + png_chunk(b"IEND", b"")
    )


def upload(hub: Hub, token: str, data: bytes, **headers: str) -> Any:
    return hub.http.post(
        PHOTOS,
        files={"photo": ("IMG_0001.jpg", data, "application/octet-stream")},
        headers=bearer(token) | headers,
    )


@pytest.fixture(scope="module")
def phone_app(hub: Hub) -> str:
    """The citizen app's own client: it uploads and reports for its citizens."""
    hub.app.state.store.upsert(catalog())
    client_id, secret = register_client(hub.app, "phone-app", role="partner", scopes=["graph:read"])
    return fetch_token(hub.http, client_id, secret)


@pytest.fixture(scope="module")
def filed(hub: Hub, phone_app: str) -> dict[str, str]:
    """A snap report with one photo, filed in the test street: (photo id, its URL, case id)."""
    sent = upload(hub, phone_app, exif_jpeg())
    assert sent.status_code == 201, sent.text
    photo = sent.json()
    answer = hub.http.post(
        "/graphql",
        json={
            "query": SNAP,
            "variables": {
                "input": {
                    "description": "小区门口的井盖丢了",
                    "photoIds": [photo["id"]],
                    "lon": 117.705,
                    "lat": 39.005,
                    "category": "C08",
                }
            },
        },
        headers=bearer(phone_app),
    ).json()
    assert "errors" not in answer, answer
    number = answer["data"]["snapReport"]["trackingNumber"]
    case = next(
        r.key
        for r in hub.app.state.store.page("ServiceCase", limit=1000)
        if photo["url"] in (r.attrs.get("photos") or [])
    )
    assert number.startswith(case)
    return {"id": photo["id"], "url": photo["url"], "case": case}


def path_of(url: str) -> str:
    return url[url.index(PHOTOS) :]


def test_a_photo_of_a_case_outside_the_readers_row_filter_is_not_found(
    hub: Hub, filed: dict[str, str]
) -> None:
    """Attack: a partner that learnt a photo's hash (from a shared link, a log, another
    agency) reads a citizen's photo of a case its policy hides from it. It gets the same 404
    as for a photo that does not exist, and the refusal is audited; a reader the policy lets
    see the case gets the photo, and the audit names the case, the photo and the reader."""
    outsider = street_reader(hub, "photo-outsider", "别的街道")
    insider = street_reader(hub, "photo-insider", STREET)
    path = path_of(filed["url"])

    hidden = hub.http.get(path, headers=bearer(outsider))
    missing = hub.http.get(f"{PHOTOS}/{'0' * 64}", headers=bearer(outsider))
    assert hidden.status_code == missing.status_code == 404, hidden.status_code
    assert hidden.json()["error"] == missing.json()["error"] == "not_found"
    assert hidden.json()["description"].replace(filed["id"], "X") == missing.json()[
        "description"
    ].replace("0" * 64, "X")

    shown = hub.http.get(path, headers=bearer(insider))
    assert shown.status_code == 200 and shown.headers["content-type"] == "image/jpeg"
    assert hashlib.sha256(shown.content).hexdigest() == filed["id"]

    audit = hub.app.state.audit
    read = audit.page(action="photo.read", first=5)[0]
    mine = [e for e in read if e.entry["ids"].get("SnapPhoto") == [filed["id"]]]
    assert mine and mine[0].entry["ids"]["ServiceCase"] == [filed["case"]]
    assert mine[0].principal is not None and mine[0].principal.startswith("client:")
    refused = audit.page(action="photo.refused", first=5)[0]
    assert any(e.entry["ids"].get("SnapPhoto") == [filed["id"]] for e in refused)

    # and knowing the hash is no way to attach the photo to a report of one's own
    answer = hub.http.post(
        "/graphql",
        json={
            "query": SNAP,
            "variables": {
                "input": {
                    "description": "井盖",
                    "photoIds": [filed["id"]],
                    "category": "C08",
                    "lon": 117.745,
                    "lat": 39.005,
                }
            },
        },
        headers=bearer(outsider),
    ).json()
    assert "no uploaded photo" in answer["errors"][0]["message"]


def test_photo_urls_come_from_the_configured_issuer_not_the_host_header(
    hub: Hub, phone_app: str, filed: dict[str, str]
) -> None:
    """Attack: Host-header injection. A client uploads with ``Host: evil.example``; the URL
    it is given (and that the hub files with the case for every later reader) must not point
    at the attacker's host — it is built from the hub's configured issuer."""
    issuer = hub.app.state.auth.issuer
    sent = upload(hub, phone_app, png(6, 5), host="evil.example")
    assert sent.status_code == 201, sent.text
    body = sent.json()
    assert body["url"] == f"{issuer}{PHOTOS}/{body['id']}"
    assert sent.headers["location"] == body["url"]
    assert "evil.example" not in sent.text
    assert filed["url"].startswith(f"{issuer}{PHOTOS}/")


def test_photos_are_kept_without_exif_gps_or_device_data(
    hub: Hub, phone_app: str, filed: dict[str, str]
) -> None:
    """Attack: a citizen's photo carries the EXIF GPS position of their home, the phone's make
    and model and a comment; anyone the photo is shown to could read them. The hub keeps the
    pixels only (turned upright as the orientation tag said), as the same type, hashed as
    stored; a PNG's text chunks go too, a file that only looks like an image (valid header,
    garbage pixels) is refused, and a decompression bomb is refused before it is decoded."""
    original = exif_jpeg()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)  # it had a position
    served = hub.http.get(path_of(filed["url"]), headers=bearer(phone_app))
    assert served.status_code == 200
    kept = served.content
    image = Image.open(io.BytesIO(kept))
    assert image.format == "JPEG" and image.size == (48, 64)  # upright
    assert not image.getexif() and not image.getexif().get_ifd(0x8825)
    for trace in (b"Exif", b"Huawei", b"P40", b"Wang Xiaoming"):
        assert trace not in kept
    assert hashlib.sha256(kept).hexdigest() == filed["id"] != hashlib.sha256(original).hexdigest()

    tagged = upload(hub, phone_app, png(8, 6, text=b"GPS 39.0083N 117.7002E"))
    assert tagged.status_code == 201, tagged.text
    png_kept = hub.http.get(path_of(tagged.json()["url"]), headers=bearer(phone_app))
    assert Image.open(io.BytesIO(png_kept.content)).format == "PNG"
    assert b"tEXt" not in png_kept.content and b"GPS" not in png_kept.content

    garbage = upload(hub, phone_app, png(8, 6, idat=b"not deflate data at all"))
    assert garbage.status_code == 415, garbage.text
    bomb = upload(hub, phone_app, png(9000, 9000, idat=zlib.compress(b"\x00" * 1000)))
    assert bomb.status_code == 413, bomb.text
