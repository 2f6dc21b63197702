"""The 滨海掌上行 app's API end to end on a copy of the Binhai demo city: photos over HTTP
(multipart and raw) and GraphQL (base64) with real PNG and JPEG bytes, 随手拍 filed with the
citizen-service centre and followed to its result, 指尖办 through the government-services
app, 微资讯 paged and searched — all with real signed tokens."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import sqlite3
import struct
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from starlette.applications import Starlette
from starlette.testclient import TestClient

import hub.apps.citizen_app as citizen_app
import hub.apps.citizen_service as citizen_service
import hub.apps.gov_services as gov_services
import hub.apps.live as live
from hub.app import create_app
from hub.apps.citizen_app.photos import MAX_PHOTO_BYTES, PhotoRefused
from hub.apps.citizen_app.resolvers import decode_photo
from hub.config import load_settings
from hub.search import document, open_search
from hub.store import RecordStore
from schema.record import Record
from tests.auth_helpers import bearer, fetch_token, person_token, register_client
from tests.policy_helpers import department_policy, publish_approved, publish_source

PHOTOS = "/citizen-app/v1/photos"
ID_NUMBER = "120116199412149288"


def png(width: int = 4, height: int = 3, rgb: tuple[int, int, int] = (200, 30, 30),
        pad: int = 0) -> bytes:  # fmt: skip
    """A real PNG (truecolour, one colour), with a comment chunk of ``pad`` bytes."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    comment = chunk(b"tEXt", b"Comment\x00" + b"x" * pad) if pad else b""
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + comment
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def same_pixels(a: bytes, b: bytes) -> bool:
    with Image.open(io.BytesIO(a)) as x, Image.open(io.BytesIO(b)) as y:
        return x.size == y.size and x.convert("RGB").tobytes() == y.convert("RGB").tobytes()


def jpeg() -> bytes:
    """A real baseline JPEG: 8×8 grey, one block whose DC difference and AC run are both
    coded by one-symbol Huffman tables (decodes to mid-grey)."""
    app0 = b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    dqt = b"\xff\xdb\x00\x43\x00" + b"\x01" * 64
    sof = b"\xff\xc0\x00\x0b\x08\x00\x08\x00\x08\x01\x01\x11\x00"
    one_symbol = b"\x01" + b"\x00" * 15 + b"\x00"
    dht = b"\xff\xc4\x00\x14\x00" + one_symbol + b"\xff\xc4\x00\x14\x10" + one_symbol
    sos = b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00"
    return b"\xff\xd8" + app0 + dqt + sof + dht + sos + b"\x3f" + b"\xff\xd9"


@dataclass
class Hub:
    app: Starlette
    http: TestClient
    store: RecordStore
    photos: Path

    def gql(self, token: str, query: str, **variables: Any) -> dict[str, Any]:
        answer = self.http.post(
            "/graphql", json={"query": query, "variables": variables}, headers=bearer(token)
        )
        return dict(answer.json())

    def ok(self, token: str, query: str, **variables: Any) -> dict[str, Any]:
        body = self.gql(token, query, **variables)
        assert "errors" not in body, body
        return dict(body["data"])

    def error(self, token: str, query: str, **variables: Any) -> str:
        body = self.gql(token, query, **variables)
        assert body.get("errors"), body
        return str(body["errors"][0]["message"])

    def stored_photos(self) -> tuple[int, int]:
        files = [p for p in self.photos.rglob("*") if p.is_file()] if self.photos.exists() else []
        return len(files), self.store.count("SnapPhoto")


@pytest.fixture(scope="module")
def hub(demo_store: RecordStore, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    # A copy of the demo city, so reports and applications filed here stay here.
    folder = tmp_path_factory.mktemp("citizen-app")
    source = sqlite3.connect(demo_store.engine.url.database)
    target = sqlite3.connect(folder / "hub.db")
    source.backup(target)
    source.close()
    target.close()
    store = RecordStore.from_url(f"sqlite:///{folder / 'hub.db'}")
    search = open_search(f"sqlite:///{folder / 'search.db'}")
    news = store.page("NewsItem", after=None, limit=100_000)
    search.index(d for r in news if (d := document(r)) is not None)
    apps = [live.APP, citizen_service.APP, gov_services.APP, citizen_app.APP]
    settings = load_settings(data_dir=folder)
    app = create_app(settings, store=store, search=search, apps=apps)
    with TestClient(app) as http:
        yield Hub(app, http, store, folder / "citizen-app" / "photos")


def client_token(h: Hub, name: str, role: str = "partner") -> str:
    client_id, secret = register_client(h.app, f"{name}-{time.monotonic_ns()}", role=role)
    return fetch_token(h.http, client_id, secret)


@pytest.fixture(scope="module")
def phone_app(hub: Hub) -> str:
    """The 滨海掌上行 app's own client (a partner), acting for its citizens."""
    return client_token(hub, "binhai-app")


@pytest.fixture(scope="module")
def operator(hub: Hub) -> str:
    return person_token(hub.http, hub.app, "olga", "operator", "graph:read")


UPLOAD = """mutation($b: String!) { uploadSnapPhoto(contentBase64: $b)
  { id contentType bytes width height url } }"""
SNAP = """mutation($input: SnapReportInput!) { snapReport(input: $input) { trackingNumber status
  statusLabel categoryName subcategoryName street gridCell dueAt merged
  photos { id contentType url } } }"""
SNAP_PROGRESS = """query($n: String!) { snapProgress(trackingNumber: $n) { trackingNumber status
  statusLabel categoryName handlingDepartment done result steps { status label note } } }"""


def upload(h: Hub, token: str, data: bytes, name: str = "IMG_0001.HEIC",
           kind: str = "application/octet-stream") -> Any:  # fmt: skip
    return h.http.post(PHOTOS, files={"photo": (name, data, kind)}, headers=bearer(token))


def cell_point(h: Hub, cell: str) -> tuple[float, float]:
    record = h.store.get("GridCell", cell)
    assert record is not None
    inspector = h.store.get("Inspector", record.attrs["inspector"])
    assert inspector is not None
    lon, lat = inspector.geometry["coordinates"]  # type: ignore[index]
    return float(lon), float(lat)


def test_a_citizen_snaps_photos_and_follows_the_report_to_its_result(
    hub: Hub, phone_app: str, operator: str
) -> None:
    picture = png(32, 24)
    # multipart, as a phone sends a file: the name and declared type say nothing of its bytes
    sent = upload(hub, phone_app, picture)
    assert sent.status_code == 201, sent.text
    photo = sent.json()
    assert photo["contentType"] == "image/png" and (photo["width"], photo["height"]) == (32, 24)
    # kept re-encoded (metadata stripped: tests/security/test_photos.py), hashed as kept,
    # with the same pixels
    on_disk = hub.photos / photo["id"][:2] / f"{photo['id']}.png"
    kept = on_disk.read_bytes()
    assert photo["id"] == photo["sha256"] == hashlib.sha256(kept).hexdigest()
    assert photo["bytes"] == len(kept)
    assert same_pixels(kept, picture)
    # the same bytes again are the same photo
    assert upload(hub, phone_app, picture, name="again.png").json()["id"] == photo["id"]
    # base64 through GraphQL, for clients without multipart
    grey = jpeg()
    second = hub.ok(phone_app, UPLOAD, b=base64.b64encode(grey).decode())["uploadSnapPhoto"]
    assert second["contentType"] == "image/jpeg" and (second["width"], second["height"]) == (8, 8)
    assert second["id"] != hashlib.sha256(grey).hexdigest()  # re-encoded

    lon, lat = cell_point(hub, "BH-TAIDA-010")
    receipt = hub.ok(
        phone_app,
        SNAP,
        input={
            "description": "小区门口的井盖丢了，晚上很危险",
            "photoIds": [photo["id"], second["id"]],
            "lon": lon + 0.0004,
            "lat": lat,
            "reporterName": "王小明",
            "reporterPhone": "13812345678",
        },
    )["snapReport"]
    assert receipt["status"] == "filed" and receipt["statusLabel"] == "已立案"
    assert receipt["gridCell"] == "BH-TAIDA-010" and receipt["street"] == "泰达街道"
    assert receipt["subcategoryName"] == "井盖缺失破损" and receipt["merged"] is False
    assert [p["contentType"] for p in receipt["photos"]] == ["image/png", "image/jpeg"]
    number = receipt["trackingNumber"]
    case_id = number.rpartition("-")[0]

    # the centre has it as a snap-and-send case with the photos' URLs
    case = hub.ok(
        operator,
        "query($id: ID!) { serviceCase(id: $id) { channel status mediaUrls reporterPhone } }",
        id=case_id,
    )["serviceCase"]
    assert case["channel"] == "随手拍" and case["status"] == "FILED"
    assert case["mediaUrls"] == [p["url"] for p in receipt["photos"]]
    assert case["reporterPhone"] == "138****5678"
    # the photos are served back with their checked type, to a token only
    issuer = hub.app.state.auth.issuer  # photo URLs are the configured issuer's
    assert all(url.startswith(f"{issuer}{PHOTOS}/") for url in case["mediaUrls"])
    path = case["mediaUrls"][0].removeprefix(issuer)
    got = hub.http.get(path, headers=bearer(operator))
    assert got.status_code == 200 and got.content == kept
    assert got.headers["content-type"] == "image/png"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert hub.http.get(path).status_code == 401

    for mutation, extra in (
        ("verifyCase", ""),
        ("dispatchCase", ""),
        ("startHandlingCase", ""),
        ("resolveCase", ', result: "已补装井盖"'),
    ):
        hub.ok(operator, f'mutation {{ {mutation}(caseId: "{case_id}"{extra}) {{ id }} }}')
        progress = hub.ok(phone_app, SNAP_PROGRESS, n=number)["snapProgress"]
    assert progress["status"] == "resolved" and progress["done"] is True
    assert progress["result"] == "已补装井盖"
    assert progress["handlingDepartment"] == "区城市管理委员会"
    assert [s["status"] for s in progress["steps"]] == [
        "filed", "verifying", "dispatched", "handling", "resolved"
    ]  # fmt: skip
    text = json.dumps(progress, ensure_ascii=False)
    assert "王小明" not in text and "13812345678" not in text and "INS-" not in text
    guessed = hub.error(phone_app, SNAP_PROGRESS, n=case_id + "-00000000")
    assert "no case with this tracking number" in guessed


def test_oversized_or_fake_photos_are_refused_and_nothing_is_stored(
    hub: Hub, phone_app: str
) -> None:
    before = hub.stored_photos()
    cases = hub.store.count("ServiceCase")
    fake = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"  # a GIF is no photo of ours
    text = "这不是照片".encode()
    big = png(pad=MAX_PHOTO_BYTES)  # a real PNG, just too large
    assert len(big) > MAX_PHOTO_BYTES

    named_jpeg = upload(hub, phone_app, text, name="photo.jpg", kind="image/jpeg")
    assert named_jpeg.status_code == 415
    assert "not a JPEG, PNG or WebP image" in named_jpeg.json()["description"]
    assert upload(hub, phone_app, fake, name="x.png", kind="image/png").status_code == 415
    truncated = upload(hub, phone_app, png()[:40])
    assert truncated.status_code == 415 and "truncated PNG" in truncated.json()["description"]
    oversized = upload(hub, phone_app, big, name="big.png", kind="image/png")
    assert oversized.status_code == 413 and "5 MiB" in oversized.json()["description"]
    raw = hub.http.post(
        PHOTOS, content=big, headers=bearer(phone_app) | {"Content-Type": "image/png"}
    )
    assert raw.status_code == 413
    no_field = hub.http.post(
        PHOTOS, files={"picture": ("a.png", png(), "image/png")}, headers=bearer(phone_app)
    )
    assert no_field.status_code == 400 and "'photo'" in no_field.json()["description"]
    as_text = hub.http.post(
        PHOTOS, content=b"hello", headers=bearer(phone_app) | {"Content-Type": "text/plain"}
    )
    assert as_text.status_code == 415
    anonymous = hub.http.post(PHOTOS, files={"photo": ("a.png", png(), "image/png")})
    assert anonymous.status_code == 401

    def refused(data: str) -> str:
        return hub.error(phone_app, UPLOAD, b=data)

    assert "not a JPEG, PNG or WebP" in refused(base64.b64encode(fake).decode())
    dressed = "data:image/jpeg;base64," + base64.b64encode(text).decode()
    assert "not a JPEG, PNG or WebP" in refused(dressed)
    # a full-size photo does not fit the /graphql body limit (256 KiB by default) ...
    too_big = hub.http.post(
        "/graphql",
        json={"query": UPLOAD, "variables": {"b": base64.b64encode(big).decode()}},
        headers=bearer(phone_app),
    )
    assert too_big.status_code == 413 and "too large" in too_big.text
    # ... and past it (a hub with a larger limit) the app's own 5 MiB limit holds
    with pytest.raises(PhotoRefused, match="larger than"):
        decode_photo(base64.b64encode(big).decode())
    assert "not base64" in refused("%%%not-base64%%%")
    assert "the photo is empty" in refused("")
    assert hub.stored_photos() == before

    # and a report names photos that were kept, or is not filed
    lon, lat = cell_point(hub, "BH-XINGANG-002")
    snap = {"description": "路灯不亮已经三天了", "lon": lon, "lat": lat}
    unknown = hub.error(phone_app, SNAP, input=snap | {"photoIds": ["ab" * 32]})
    assert "no uploaded photo" in unknown
    assert "at least one photo" in hub.error(phone_app, SNAP, input=snap | {"photoIds": []})
    assert hub.store.count("ServiceCase") == cases


def newest_first(records: list[Record]) -> list[str]:
    def when(r: Record) -> datetime:
        return datetime.fromisoformat(r.attrs["published_at"])

    return [r.key for r in sorted(records, key=lambda r: (when(r), r.key), reverse=True)]


NEWS = """query($first: Int!, $after: String, $category: String) {
  microNews(first: $first, after: $after, category: $category) { totalCount
  pageInfo { hasNextPage endCursor }
  edges { node { key title summary category source publishedAt url } } } }"""


def test_news_newest_first_paged_and_searchable(hub: Hub, phone_app: str) -> None:
    everything = hub.store.page("NewsItem", after=None, limit=100_000)
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        page = hub.ok(phone_app, NEWS, first=70, after=after)["microNews"]
        assert page["totalCount"] == len(everything) == 600
        seen += [e["node"]["key"] for e in page["edges"]]
        pages += 1
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert pages == 9 and seen == newest_first(everything)
    livelihood = [r for r in everything if r.attrs["category"] == "民生"]
    first = hub.ok(phone_app, NEWS, first=5, category="民生")["microNews"]
    assert first["totalCount"] == len(livelihood)
    assert [e["node"]["key"] for e in first["edges"]] == newest_first(livelihood)[:5]
    node = first["edges"][0]["node"]
    raw = hub.store.get("NewsItem", node["key"])
    assert raw is not None and node["title"] == raw.attrs["title"]
    assert raw.attrs["body"].startswith(node["summary"].rstrip("…"))
    assert "invalid cursor" in hub.error(phone_app, NEWS, first=5, after="bm9wZQ==")
    assert "between 0 and 100" in hub.error(phone_app, NEWS, first=500)

    search = """query($q: String!, $after: String) { microNewsSearch(query: $q, first: 5,
      after: $after) { totalCount pageInfo { hasNextPage endCursor }
      edges { node { key title body } } } }"""
    found = hub.ok(phone_app, search, q="文化节")["microNewsSearch"]
    matching = [r for r in everything if "文化节" in r.attrs["title"] + r.attrs["body"]]
    assert found["totalCount"] == len(matching) > 5 and found["pageInfo"]["hasNextPage"]
    more = hub.ok(phone_app, search, q="文化节", after=found["pageInfo"]["endCursor"])[
        "microNewsSearch"
    ]
    keys = [e["node"]["key"] for e in found["edges"] + more["edges"]]
    assert len(set(keys)) == 10 and set(keys) <= {r.key for r in matching}

    # a counts-only partner reads no news
    client_id, secret = register_client(hub.app, f"counts-{time.monotonic_ns()}", role="partner")
    workflow = hub.app.state.policy_workflow
    draft = workflow.draft(
        f'name = "app-counts"\nsubject = "client:{client_id}"\nclearance = "internal"\n'
        '[types."*"]\naggregate_only = true\n',
        author="user:test",
        reason="a counts-only partner",
    )
    publish_approved(workflow, draft.name, draft.version, author="user:test", reason="test")
    counter = fetch_token(hub.http, client_id, secret)
    assert "NewsItem is served to you as counts only" in hub.error(counter, NEWS, first=3)
    assert "counts only" in hub.error(counter, search, q="文化节")


FINGERTIP_PROGRESS = """query($n: String!) { fingertipProgress(trackingNumber: $n) { status
  statusLabel itemName materialsMissing decision steps { status note } } }"""


def test_fingertip_apply_with_scans_and_follow_to_the_decision(hub: Hub, phone_app: str) -> None:
    items = hub.store.page("ServiceItem", after=None, limit=1000)
    in_app = [
        r for r in items
        if r.attrs["online_level"] != "窗口办理" and "滨海掌上行" in r.attrs["channels"]
    ]  # fmt: skip
    listed = hub.ok(
        phone_app, "{ fingertipItems(first: 100) { totalCount edges { node { key } } } }"
    )
    assert listed["fingertipItems"]["totalCount"] == len(in_app)
    item = next(
        r for r in in_app
        if r.attrs["serves"] == "自然人" and sum(m["required"] for m in r.attrs["materials"]) >= 3
    )  # fmt: skip
    needed = [m["name"] for m in item.attrs["materials"] if m["required"]]
    scan = upload(hub, phone_app, png(10, 14, (250, 250, 250))).json()
    apply = """mutation($input: FingertipApplyInput!) { fingertipApply(input: $input)
      { trackingNumber status statusLabel itemName materialsMissing } }"""
    application = {
        "item": item.key,
        "applicantName": "刘丹雪",
        "applicantPhone": "19598321139",
        "idNumber": ID_NUMBER,
        "materials": [{"name": n, "photoId": scan["id"]} for n in needed[:-1]],
    }
    receipt = hub.ok(phone_app, apply, input=application)["fingertipApply"]
    assert receipt["status"] == "submitted" and receipt["materialsMissing"] == [needed[-1]]
    number = receipt["trackingNumber"]
    key = number.rpartition("-")[0]
    stored = hub.store.get("ServiceApplication", key)
    assert stored is not None and stored.attrs["channel"] == "滨海掌上行"
    assert {m["file_url"] for m in stored.attrs["materials"]} == {scan["url"]}
    bad_scan = application | {"materials": [{"name": needed[0], "photoId": "cd" * 32}]}
    assert "no uploaded file" in hub.error(phone_app, apply, input=bad_scan)

    # the department the item belongs to (its policy names it: it acts on its own rows only)
    client_id, secret = register_client(hub.app, f"bureau-{time.monotonic_ns()}", role="department")
    source = department_policy(client_id, str(stored.attrs["department"]))
    publish_source(hub.app.state.policy_workflow, source, "the item's department")
    department = fetch_token(hub.http, client_id, secret)

    def decide(mutation: str) -> None:
        hub.ok(department, f'mutation {{ {mutation}(key: "{key}") {{ key }} }}')

    decide("returnApplication")
    progress = hub.ok(phone_app, FINGERTIP_PROGRESS, n=number)["fingertipProgress"]
    assert progress["status"] == "returned" and progress["materialsMissing"] == [needed[-1]]
    resupplied = hub.ok(
        phone_app,
        """mutation($n: String!, $m: [FingertipMaterialInput!]!) { fingertipResupply(
          trackingNumber: $n, materials: $m) { status materialsMissing } }""",
        n=number,
        m=[{"name": needed[-1], "photoId": scan["id"]}],
    )["fingertipResupply"]
    assert resupplied == {"status": "submitted", "materialsMissing": []}
    decide("acceptApplication")
    decide("startReviewApplication")
    decide("approveApplication")
    done = hub.ok(phone_app, FINGERTIP_PROGRESS, n=number)["fingertipProgress"]
    assert done["status"] == "approved" and done["statusLabel"] == "已办结"
    assert done["decision"] == "准予办理" and done["itemName"] == item.attrs["name"]
    assert [s["status"] for s in done["steps"]] == [
        "submitted", "returned", "submitted", "accepted", "under_review", "approved"
    ]  # fmt: skip
    assert "刘丹雪" not in json.dumps(done, ensure_ascii=False)


def test_a_retried_snap_report_files_once_and_answers_the_same(hub: Hub, phone_app: str) -> None:
    """Issue 14: a retry of a report whose answer was lost filed a second case. The same
    ``idempotencyKey`` from the same app gets the first receipt again and files nothing."""
    photo = upload(hub, phone_app, png(16, 12, (10, 120, 200))).json()
    lon, lat = cell_point(hub, "BH-TAIDA-010")
    report = {
        "description": "路口的井盖丢了，车开过去很危险",
        "photoIds": [photo["id"]],
        "lon": lon + 0.0002,
        "lat": lat,
        "idempotencyKey": f"snap-{time.time_ns()}",
    }
    before = hub.store.count("ServiceCase")
    first = hub.ok(phone_app, SNAP, input=report)["snapReport"]
    again = hub.ok(phone_app, SNAP, input=report)["snapReport"]
    assert again == first and first["trackingNumber"]
    assert hub.store.count("ServiceCase") == before + 1


def test_a_retried_fingertip_application_files_once(hub: Hub, phone_app: str) -> None:
    """The same for 指尖办: a retried application with its key files one application."""
    item = next(
        r
        for r in hub.store.page("ServiceItem", after=None, limit=1000)
        if r.attrs["online_level"] != "窗口办理"
        and "滨海掌上行" in r.attrs["channels"]
        and r.attrs["serves"] == "自然人"
    )
    scan = upload(hub, phone_app, png(10, 14, (240, 240, 240))).json()
    apply = """mutation($input: FingertipApplyInput!) { fingertipApply(input: $input)
      { trackingNumber status itemName materialsMissing } }"""
    application = {
        "item": item.key,
        "applicantName": "刘丹雪",
        "applicantPhone": "19598321139",
        "idNumber": ID_NUMBER,
        "materials": [{"name": m["name"], "photoId": scan["id"]} for m in item.attrs["materials"]],
        "idempotencyKey": f"fingertip-{time.time_ns()}",
    }
    before = hub.store.count("ServiceApplication")
    first = hub.ok(phone_app, apply, input=application)["fingertipApply"]
    again = hub.ok(phone_app, apply, input=application)["fingertipApply"]
    assert again == first and first["trackingNumber"]
    assert hub.store.count("ServiceApplication") == before + 1
