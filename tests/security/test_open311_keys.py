"""Issue 13 item 9: no bearer token in a URL. Open311's ``api_key`` is a key of its own,
hashed at rest; a JWT given there is refused; credentials never reach the access log."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from hub.cli import app as cli
from tests.auth.conftest import Hub
from tests.auth_helpers import bearer, fetch_token, register_client
from tests.live_server import served
from tests.security.small_hub import LAT, LON, access_log, small_app, small_hub

SERVICES = "/open311/v2/services.json"
REQUESTS = "/open311/v2/requests.json"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("open311")


@pytest.fixture(scope="module")
def hub(folder: Path) -> Iterator[Hub]:
    with small_hub(folder) as h:
        yield h


def _issue_key(folder: Path, client_id: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """``cityhub auth open311-key CLIENT`` against the hub's store: the key, printed once."""
    monkeypatch.setenv("CITYHUB_DATA_DIR", str(folder))
    monkeypatch.setenv("CITYHUB_DATABASE_URL", f"sqlite:///{folder / 'hub.db'}")
    issued = CliRunner().invoke(cli, ["auth", "open311-key", client_id])
    assert issued.exit_code == 0, issued.output
    return issued.stdout.strip().splitlines()[-1]


def test_a_jwt_as_api_key_is_refused_and_never_logged(tmp_path: Path) -> None:
    """Attack: an access token sent as ``?api_key=`` was accepted, and uvicorn's access log
    printed it (anyone reading the logs could replay it). A JWT there is refused with a 400
    saying where tokens go, and neither it nor any other credential parameter reaches the
    access log of a real uvicorn."""
    app = small_app(tmp_path)
    with served(app) as base, httpx.Client(base_url=base) as http, access_log() as logged:
        client_id, secret = register_client(app, "leaky-app")
        token = fetch_token(http, client_id, secret)
        in_url = http.get(SERVICES, params={"api_key": token})
        assert in_url.status_code == 400
        assert "Authorization: Bearer" in in_url.json()[0]["description"]
        as_form = http.post(REQUESTS, data={"api_key": token, "service_code": "C08-02"})
        assert as_form.status_code == 400
        graphql = http.get("/graphql", params={"query": "{ __typename }", "access_token": token})
        assert graphql.status_code == 401
        redirect = http.get("/oauth/authorize", params={"code": "secret-code-1234", "x": "1"})
        assert redirect.status_code in (200, 400)
    lines = logged.getvalue()
    assert SERVICES in lines and "/graphql" in lines  # the requests were logged...
    assert token not in lines and token.split(".")[2] not in lines  # ...their tokens not
    assert "secret-code-1234" not in lines and "api_key=[redacted]" in lines
    assert "access_token=[redacted]" in lines and "x=1" in lines


def test_an_open311_key_files_and_reads_and_is_stored_hashed(
    hub: Hub, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Attack surface: the key in the spec's ``api_key`` (a URL parameter by design) must not
    be a bearer token, and must be useless to whoever reads the database. The CLI prints a
    key once; the hub keeps only its SHA-256; the key reads and files as its client."""
    client_id, _ = register_client(hub.app, "georeport-app")
    key = _issue_key(folder, client_id, monkeypatch)
    assert key.startswith("o311_") and len(key) > 40
    with hub.app.state.store.engine.connect() as conn:
        stored = conn.execute(
            text("SELECT open311_key_hash FROM oauth_clients WHERE client_id = :c"),
            {"c": client_id},
        ).scalar_one()
    assert stored == hashlib.sha256(key.encode()).hexdigest()
    assert key.encode() not in (folder / "hub.db").read_bytes()
    listed = hub.http.get(SERVICES, params={"api_key": key})
    assert listed.status_code == 200 and len(listed.json()) == 124
    form = {"api_key": key, "service_code": "C08-02", "lat": str(LAT), "long": str(LON)}
    filed = hub.http.post(REQUESTS, data=form | {"description": "井盖缺失"})
    assert filed.status_code == 201, filed.text
    case = filed.json()[0]["service_request_id"]
    audited, _, _ = hub.app.state.audit.page(action="open311.file", principal=f"client:{client_id}")
    assert audited and audited[0].entry["ids"] == {"ServiceCase": [case]}
    assert key not in str([e.entry for e in audited])
    got = hub.http.get(f"/open311/v2/requests/{case}.json", params={"api_key": key})
    assert got.status_code == 200 and got.json()[0]["service_request_id"] == case


def test_wrong_replaced_and_revoked_keys_are_refused(
    hub: Hub, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Attack: guessing a key, or using one after it was replaced or its client revoked.
    All get the same 401, which does not say which."""
    client_id, _ = register_client(hub.app, "rotating-app")
    old = _issue_key(folder, client_id, monkeypatch)
    new = _issue_key(folder, client_id, monkeypatch)
    assert old != new
    assert hub.http.get(SERVICES, params={"api_key": new}).status_code == 200
    for wrong in (old, "o311_" + "A" * 43, "guess"):
        refused = hub.http.get(SERVICES, params={"api_key": wrong})
        assert refused.status_code == 401
        assert refused.json()[0]["description"] == "the api_key is not a valid Open311 key"
    hub.accounts.revoke_client(client_id)
    assert hub.http.get(SERVICES, params={"api_key": new}).status_code == 401


def test_bearer_tokens_still_work_in_the_header(hub: Hub) -> None:
    """The header is where a token belongs: Open311 keeps serving it there."""
    client_id, secret = register_client(hub.app, "header-app")
    answer = hub.http.get(SERVICES, headers=bearer(fetch_token(hub.http, client_id, secret)))
    assert answer.status_code == 200 and answer.headers["ratelimit-limit"]
