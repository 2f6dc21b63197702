"""Step 9, items 6 and 7: the secret key and secrets at rest. Each test names its attack."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import socket
import stat
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, text

from hub.app import create_app
from hub.apps.gov_services.services import (
    _ID_CHECK,
    _ID_WEIGHTS,
    ApplicationNotFound,
    GovernmentServices,
    Submission,
)
from hub.auth.keys import KeyRing
from hub.auth.tables import SigningKeyRow
from hub.config import ConfigError, load_settings
from hub.graph.resolution import id_hash
from hub.secret_key import read_or_create
from hub.store import RecordStore
from schema.record import Record
from tests.auth_helpers import fetch_token, person_token, register_client
from tests.security.conftest import Hub

OLD_DEFAULT = "dev-only-change-me"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def cityhub(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("CITYHUB_")}
    full.update(env)
    return subprocess.run(
        [sys.executable, "-m", "hub", *args],
        capture_output=True,
        text=True,
        env=full,
        timeout=120,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_fresh_data_folder_gets_a_random_private_secret(tmp_path: Path) -> None:
    """Attack: with the built-in secret anyone reverses a person entity id (an HMAC of the
    ID number) to the ID number by trying every number. A fresh data folder now gets its own
    random 0600 secret in a 0700 folder, used by every later start and by every worker."""
    folder = tmp_path / "var"
    settings = load_settings(data_dir=folder)
    assert settings.secret_origin() == "generated"
    secret = settings.effective_secret()
    assert len(secret.encode()) >= 32 and secret != OLD_DEFAULT
    assert mode(folder) == 0o700 and mode(folder / "secret.key") == 0o600
    assert load_settings(data_dir=folder).effective_secret() == secret  # kept across starts
    assert load_settings(data_dir=tmp_path / "other").effective_secret() != secret
    # a person id made with the old default no longer matches the hub's
    person = "120116199001011234"
    assert id_hash(person, secret) != id_hash(person, OLD_DEFAULT)
    # workers starting at once agree on one secret (atomic exclusive creation)
    racing = tmp_path / "race" / "secret.key"
    seen: list[str] = []
    threads = [threading.Thread(target=lambda: seen.append(read_or_create(racing)))]
    threads += [threading.Thread(target=lambda: seen.append(read_or_create(racing)))]
    threads += [threading.Thread(target=lambda: seen.append(read_or_create(racing)))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 3 and len(set(seen)) == 1


@pytest.mark.parametrize("weak", [OLD_DEFAULT, "short-but-not-default"])
def test_a_guessable_secret_refuses_to_serve_beyond_loopback(tmp_path: Path, weak: str) -> None:
    """Attack: a careless deployment serves on a public address with the built-in (or a short)
    secret key, so anyone recomputes person ids. The hub refuses to start: one line, exit 2;
    on loopback it still starts for development."""
    env = {
        "CITYHUB_DATA_DIR": str(tmp_path),
        "CITYHUB_SECRET_KEY": weak,
        "CITYHUB_PORT": str(free_port()),
    }
    served = cityhub("serve", "--host", "0.0.0.0", env=env)
    assert served.returncode == 2, served.stdout + served.stderr
    assert served.stderr.startswith("cityhub: error: CITYHUB_SECRET_KEY is ")
    assert "refusing to serve on 0.0.0.0" in served.stderr
    assert served.stderr.count("\n") == 1 and weak not in served.stderr
    # the app factory (uvicorn workers) refuses too
    with pytest.raises(ConfigError, match="not loopback"):
        create_app(load_settings(data_dir=tmp_path, host="10.1.2.3", secret_key=weak))
    load_settings(data_dir=tmp_path, host="127.0.0.1", secret_key=weak).check_serving()


def test_config_show_names_where_the_key_comes_from(tmp_path: Path) -> None:
    """Attack: an operator cannot tell that the hub runs with a guessable key. `config show`
    says whether the key is generated, configured or the built-in default."""
    shown = {}
    for name, key in (("generated", ""), ("default", OLD_DEFAULT), ("configured", "k" * 40)):
        env = {"CITYHUB_DATA_DIR": str(tmp_path)} | ({"CITYHUB_SECRET_KEY": key} if key else {})
        result = cityhub("config", "show", "--json", env=env)
        assert result.returncode == 0, result.stderr
        shown[name] = json.loads(result.stdout)
        assert shown[name]["secret_key"] == "********"
        assert not key or key not in result.stdout
    assert shown["generated"]["secret_key_origin"].startswith("generated (")
    assert shown["default"]["secret_key_origin"] == "default"
    assert shown["configured"]["secret_key_origin"] == "configured"


def _old_tracking(key: str, secret: str) -> str:
    """The tracking number as the hub used to derive it from the secret key alone."""
    check = hmac.new(secret.encode(), key.encode(), hashlib.sha256).hexdigest()[:8].upper()
    return f"{key}-{check}"


def _add_duty_catalog(store: RecordStore) -> None:
    when = datetime(2024, 1, 1, tzinfo=UTC)
    store.upsert(
        [
            Record(
                kind="DutyCategory",
                key="C01",
                source_system="grid-management",
                source_id="C01",
                fetched_at=when,
                attrs={"name": "市容环境", "department": "城市管理委"},
            ),
            Record(
                kind="DutySubCategory",
                key="C01-01",
                source_system="grid-management",
                source_id="C01-01",
                fetched_at=when,
                attrs={"name": "垃圾满溢", "category": "C01", "time_limit_hours": 24},
            ),
        ]
    )


PROGRESS = "query($n: String!) { caseProgress(trackingNumber: $n) { trackingNumber status } }"


def test_a_case_tracking_number_proves_possession(hub: Hub) -> None:
    """Attack: tracking numbers were the key plus an HMAC of it with the secret key, so
    whoever knew the secret (the old default) computed any citizen's number and followed
    their case. Now a number is random, issued once at filing, and the store keeps only its
    hash: the old derivation and any guess find nothing, and the store does not hold it."""
    store: RecordStore = hub.app.state.store
    _add_duty_catalog(store)
    operator = person_token(hub.http, hub.app, "sec-olga", "operator", "graph:read")
    filed = hub.http.post(
        "/graphql",
        json={
            "query": "mutation($input: FileCaseInput!) { fileCase(input: $input) "
            "{ id trackingNumber } }",
            "variables": {
                "input": {
                    "channel": "SNAP",
                    "description": "垃圾满溢没人清理",
                    "lon": 117.705,
                    "lat": 39.005,
                    "subcategory": "C01-01",
                }
            },
        },
        headers={"Authorization": f"Bearer {operator}"},
    ).json()
    assert "errors" not in filed, filed
    case = filed["data"]["fileCase"]
    number = case["trackingNumber"]
    assert number.startswith(case["id"] + "-")
    client_id, secret = register_client(hub.app, "sec-citizen-app", role="partner")
    app_token = fetch_token(hub.http, client_id, secret)

    def progress(n: str) -> dict[str, object]:
        reply = hub.http.post(
            "/graphql",
            json={"query": PROGRESS, "variables": {"n": n}},
            headers={"Authorization": f"Bearer {app_token}"},
        )
        return dict(reply.json())

    assert progress(number)["data"] == {
        "caseProgress": {"trackingNumber": number, "status": "FILED"}
    }
    assert progress(number.lower())["data"] is not None  # typed in lower case: still found
    hub_secret = hub.app.state.settings.effective_secret()
    for forged in (
        _old_tracking(case["id"], hub_secret),  # the old derivation, with the real secret
        _old_tracking(case["id"], OLD_DEFAULT),
        case["id"] + "-" + "A" * 16,  # a guess of the right shape
        "CASE-CH-20240101-00000000-" + number[-16:],  # the right code on another key
    ):
        refused = progress(forged)
        assert refused["data"] is None
        assert "no case with this tracking number" in str(refused["errors"])
    # the store keeps only the number's hash; operators see no number after filing
    record = store.get("ServiceCase", case["id"])
    assert record is not None and number[-16:] not in json.dumps(record.attrs)
    assert record.attrs["tracking_hash"] == hashlib.sha256(number.encode()).hexdigest()
    read = hub.http.post(
        "/graphql",
        json={"query": f'{{ serviceCase(id: "{case["id"]}") {{ trackingNumber }} }}'},
        headers={"Authorization": f"Bearer {operator}"},
    ).json()
    assert read["data"]["serviceCase"]["trackingNumber"] is None


def _resident_id() -> str:
    first = "12011619900101123"
    return first + _ID_CHECK[sum(int(d) * w for d, w in zip(first, _ID_WEIGHTS, strict=True)) % 11]


def test_an_application_tracking_number_proves_possession(tmp_path: Path) -> None:
    """Attack: as for cases, an application's tracking number was derived from its key and
    the secret key, so anyone with the secret followed (and resubmitted to) any applicant's
    application. Now it is random, issued once, kept as a hash, and looked up by hash."""
    store = RecordStore.from_url(f"sqlite:///{tmp_path / 'hub.db'}")
    store.migrate()
    store.upsert(
        [
            Record(
                kind="ServiceItem",
                key="SI-TEST-1",
                source_system="gov-services",
                source_id="SI-TEST-1",
                fetched_at=datetime(2024, 1, 1, tzinfo=UTC),
                attrs={"name": "测试事项", "item_code": "BHXK9999", "department": "行政审批局"},
            )
        ]
    )
    gov = GovernmentServices(store)
    record, number = gov.submit_tracked(
        Submission(
            item="SI-TEST-1",
            applicant_type="自然人",
            applicant_name="张三",
            applicant_phone="13900001111",
            id_number=_resident_id(),
        ),
        "app:test",
        ["partner"],
    )
    assert number.startswith(record.key + "-")
    assert gov.progress(number)["status"] == "submitted"
    for forged in (
        _old_tracking(record.key, OLD_DEFAULT),
        _old_tracking(record.key, "any secret at all"),
        record.key + "-" + "B" * 16,
    ):
        with pytest.raises(ApplicationNotFound, match="no application with this tracking number"):
            gov.progress(forged)
    stored = store.get("ServiceApplication", record.key)
    assert stored is not None and number[-16:] not in json.dumps(stored.attrs)
    store.close()


def test_the_store_holds_no_private_key_in_clear(hub: Hub) -> None:
    """Attack: cityhub.db was world-readable and held the private signing key in clear
    (private_jwk with "d"): whoever copied the file (or a backup) minted tokens. Keys are now
    sealed with AES-GCM under a key-encryption key (HKDF of the secret, or
    CITYHUB_KEY_ENCRYPTION_KEY), the database file is 0600 in a 0700 folder, and a key an
    older hub stored in clear is sealed on load."""
    settings = hub.app.state.settings
    ring: KeyRing = hub.app.state.auth.keys
    ring.signing_key()
    store: RecordStore = hub.app.state.store
    db = Path(str(store.engine.url.database))
    # an older hub's key, stored in clear
    legacy = KeyRing(store.engine, token_ttl=900)
    legacy_kid = legacy.add_key()
    with store.engine.connect() as conn:
        clear = conn.execute(
            select(SigningKeyRow.private_jwk).where(SigningKeyRow.kid == legacy_kid)
        ).scalar_one()
    assert "d" in clear
    ring.reload()  # the hub loads it: sealed now
    with store.engine.begin() as conn:
        conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        rows = conn.execute(select(SigningKeyRow.kid, SigningKeyRow.private_jwk)).all()
    assert rows and all(set(jwk) == {"enc", "iv", "ct"} for _, jwk in rows)
    raw = b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*") if p.is_file())
    assert b'"d":' not in raw and b'"d": ' not in raw
    assert str(clear["d"]).encode() not in raw  # nor the old clear bytes in a free page
    # still a working key: tokens verify against the JWKS
    token = fetch_token(hub.http, *register_client(hub.app, "sec-after-seal"))
    assert (
        hub.http.post(
            "/graphql",
            json={"query": "{ __typename }"},
            headers={"Authorization": f"Bearer {token}"},
        ).status_code
        == 200
    )
    # and the files around it are private
    assert mode(settings.data_dir) == 0o700
    for path in (settings.secret_file, settings.audit_key_path, db):
        assert mode(path) == 0o600, path


def test_the_data_folder_and_its_files_are_private(tmp_path: Path) -> None:
    """Attack: another local user read the data folder: the store, its WAL, search.db,
    graph.db, the sandbox's endpoints.json with the webhook secrets. The CLI runs with a
    umask of 077, the folder is 0700 and every file 0600, including files an older hub left
    world-readable."""
    folder = tmp_path / "var"
    (folder / "sandbox").mkdir(parents=True)
    folder.chmod(0o755)
    endpoints = folder / "sandbox" / "endpoints.json"
    endpoints.write_text('{"systems": {"x": {"secret": "hmac-secret"}}}')
    endpoints.chmod(0o644)
    made = cityhub("audit", "checkpoint", env={"CITYHUB_DATA_DIR": str(folder)})
    assert made.returncode == 0, made.stderr
    assert mode(folder) == 0o700
    files = [p for p in folder.rglob("*") if p.is_file()]
    names = {p.name for p in files}
    assert {"cityhub.db", "search.db", "graph.db", "secret.key", "audit-key.json"} <= names
    assert {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}


def test_demo_accounts_are_warned_of_at_every_start(
    hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    """Attack: the demo accounts' passwords and the demo partner's secret are public (in the
    README); a hub that still has them is open to anyone. Every `cityhub serve` start names
    them on stderr while they exist, and says nothing once they are gone."""
    from hub.auth.accounts import AccountStore
    from hub.cli import start_up_warnings

    settings = hub.app.state.settings
    store: RecordStore = hub.app.state.store
    start_up_warnings(settings, store)
    assert "demo accounts" not in capsys.readouterr().err
    accounts = AccountStore(store.engine)
    accounts.create_user("demo-operator", "operator-demo-pw", "operator")
    accounts.create_client(
        "demo-partner", client_id="demo-partner", secret="x" * 40, scopes=["graph:read"]
    )
    start_up_warnings(settings, store)
    said = capsys.readouterr().err
    assert "demo accounts with public credentials exist" in said
    assert "demo-operator" in said and "demo-partner" in said
    accounts.revoke_client("demo-partner")
    start_up_warnings(settings, store)
    said = capsys.readouterr().err
    assert "demo-operator" in said and "demo-partner" not in said
