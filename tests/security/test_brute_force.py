"""Guessing passwords on the sign-in form and client secrets on the token endpoint (issue 13
item 8): failures are throttled per account, per client and per source address (growing waits,
then a lock; 429 with Retry-After, the secret not even checked meanwhile), an unknown client
and a wrong secret get the same answer, and failed sign-ins are audited without passwords.

This module's hub has short waits and locks (environment settings), so a lock ends in seconds;
waits start at 0.1 s and double, so from the 8th failure on a wait (0.8 s) is long enough that
a try sent right after a refused guess lands inside it on a loaded machine, and the longest
wait (1.6 s) stays well inside the window after which failures are forgotten (the lock, 3 s).
Each test tries from its own address (TestClient's ``client``), so address counts do not mix.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from hub.app import create_app
from hub.audit.log import AuditLog
from hub.auth.accounts import AccountStore
from hub.config import load_settings
from hub.store import RecordStore
from tests.auth.conftest import Hub
from tests.auth_helpers import PEOPLE_CLIENT, PEOPLE_REDIRECT, register_client
from tests.hub.city import small_city

LOCK_S = 3
FAST = {
    "CITYHUB_AUTH_LOGIN_DELAY_AFTER": "5",
    "CITYHUB_AUTH_LOGIN_LOCK_AFTER": "10",
    "CITYHUB_AUTH_LOGIN_DELAY_S": "0.1",
    "CITYHUB_AUTH_LOGIN_LOCK_S": str(LOCK_S),
    "CITYHUB_AUTH_LOGIN_ADDRESS_DELAY_AFTER": "15",
    "CITYHUB_AUTH_LOGIN_ADDRESS_LOCK_AFTER": "20",
}


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    folder: Path = tmp_path_factory.mktemp("brute")
    store = RecordStore.from_url(f"sqlite:///{folder / 'hub.db'}")
    store.migrate()
    store.upsert(small_city())
    with pytest.MonkeyPatch.context() as env:
        for name, value in FAST.items():
            env.setenv(name, value)
        app = create_app(load_settings(data_dir=folder, graphql_max_depth=6), store=store)
    with TestClient(app) as http:
        yield Hub(app, http, AccountStore(store.engine))


def browser(hub: Hub, address: str) -> TestClient:
    """A client at ``address`` (no lifespan of its own: the hub's keeps running)."""
    return TestClient(hub.app, client=(address, 40000))


def person(hub: Hub, username: str) -> str:
    """A user (and the people's public client); returns the password."""
    if hub.accounts.client(PEOPLE_CLIENT) is None:
        hub.accounts.create_client(
            PEOPLE_CLIENT,
            client_id=PEOPLE_CLIENT,
            public=True,
            redirect_uris=[PEOPLE_REDIRECT],
            scopes=["graph:read"],
            role="department",
        )
    password = f"{username}-pw-123"
    if hub.accounts.user(username) is None:
        hub.accounts.create_user(username, password, "operator")
    return password


def sign_in_form(http: TestClient) -> dict[str, str]:
    """The hidden fields of the real sign-in page (with its anti-CSRF token)."""
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(secrets.token_urlsafe(48).encode()).digest()
    )
    params = {
        "response_type": "code",
        "client_id": PEOPLE_CLIENT,
        "redirect_uri": PEOPLE_REDIRECT,
        "scope": "graph:read",
        "state": "s",
        "code_challenge": challenge.rstrip(b"=").decode(),
        "code_challenge_method": "S256",
    }
    page = http.get("/oauth/authorize", params=params)
    assert page.status_code == 200, page.text
    return dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', page.text))


def sign_in(http: TestClient, form: dict[str, str], username: str, password: str) -> Any:
    login = {"username": username, "password": password, "decision": "allow"}
    return http.post("/oauth/authorize", data=form | login, follow_redirects=False)


def guess(http: TestClient, form: dict[str, str], username: str, failures: int) -> list[int]:
    """Wrong passwords until ``failures`` were checked (and refused 401); tries refused 429
    while the account waits are not counted, so this keeps trying a little later."""
    statuses: list[int] = []
    while statuses.count(401) < failures:
        answer = sign_in(http, form, username, "wrong-" + secrets.token_hex(4))
        statuses.append(answer.status_code)
        assert answer.status_code in (401, 429), answer.text
        if answer.status_code == 429:
            time.sleep(0.02)
    return statuses


def test_thirty_wrong_passwords_then_the_right_one_is_refused_until_the_lock_ends(
    hub: Hub,
) -> None:
    """Attack: guess a person's password on the sign-in page — 30 wrong passwords, then the
    right one (it worked before step 9). Now the account waits after 5 failures and is
    locked after 10: the 31st try, with the right password, is refused with 429 and
    Retry-After; once the lock ends the right password works and the count starts over."""
    password = person(hub, "victim")
    http = browser(hub, "10.8.0.1")
    form = sign_in_form(http)
    statuses = [sign_in(http, form, "victim", f"guess-{i}").status_code for i in range(30)]
    assert statuses[:5] == [401] * 5 and 429 in statuses[5:], statuses
    # the 31st try comes right after a guess the hub checked, so it lands inside the wait that
    # failure started (0.8 s or more from the 8th failure on), however slow the machine
    # (on a very slow machine the 30 tries may already have reached the lock: no more then)
    extra = 0 if statuses.count(401) >= 10 else max(1, 8 - statuses.count(401))
    guess(http, form, "victim", extra)
    right = sign_in(http, form, "victim", password)
    assert right.status_code == 429 and "Too many failed sign-ins" in right.text
    assert 1 <= int(right.headers["retry-after"]) <= LOCK_S
    assert "location" not in right.headers

    # an attacker who waits out each delay reaches the lock: even the right password waits
    guess(http, form, "victim", max(0, 10 - statuses.count(401) - extra))
    locked = sign_in(http, form, "victim", password)
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) == LOCK_S
    time.sleep(LOCK_S + 0.1)
    done = sign_in(http, form, "victim", password)
    assert done.status_code == 302 and "code=" in done.headers["location"]
    # a successful sign-in forgets the account's failures: the next wrong one is a plain 401
    assert [sign_in(http, form, "victim", "nope").status_code for _ in range(4)] == [401] * 4


def test_guessing_many_accounts_from_one_address_locks_the_address(hub: Hub) -> None:
    """Attack: spray one guess at each of many accounts from one address (no account
    reaches its own limit). The address waits after 15 failures and is locked after 20:
    then even a right password from there is refused, while other addresses sign in."""
    password = person(hub, "bystander")
    http = browser(hub, "10.8.0.2")
    form = sign_in_form(http)
    checked = 0
    deadline = time.monotonic() + 60  # the address's waits add up to about 3 s
    i = 0
    while checked < 20 and time.monotonic() < deadline:
        answer = sign_in(http, form, f"someone-{i}", "password1")
        i += 1
        assert answer.status_code in (401, 429), answer.text
        checked += answer.status_code == 401
        if answer.status_code == 429:
            time.sleep(0.05)
    assert checked == 20
    refused = sign_in(http, form, "bystander", password)
    assert refused.status_code == 429 and refused.headers["retry-after"]
    elsewhere = browser(hub, "10.8.0.3")
    ok = sign_in(elsewhere, sign_in_form(elsewhere), "bystander", password)
    assert ok.status_code == 302, ok.text


def token_request(http: TestClient, client_id: str, secret: str) -> Any:
    return http.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )


def test_wrong_client_secrets_are_throttled_and_locked(hub: Hub) -> None:
    """Attack: guess a partner client's secret on the token endpoint (wrong secrets were
    never throttled). After 10 failures the client is locked: its right secret gets 429
    with Retry-After until the lock ends, then a token."""
    client_id, secret = register_client(hub.app, "guessed", scopes=["graph:read"])
    http = browser(hub, "10.8.0.4")
    failures = 0
    while failures < 10:
        answer = token_request(http, client_id, "wrong-" + secrets.token_hex(8))
        assert answer.status_code in (401, 429), answer.text
        failures += answer.status_code == 401
        if answer.status_code == 429:
            assert answer.json()["error"] == "temporarily_unavailable"
            time.sleep(0.02)
    locked = token_request(http, client_id, secret)
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) == LOCK_S
    assert "access_token" not in locked.text
    # the lock is the client's, whichever address the right secret comes from
    assert token_request(browser(hub, "10.8.0.5"), client_id, secret).status_code == 429
    time.sleep(LOCK_S + 0.1)
    assert token_request(http, client_id, secret).status_code == 200


def test_unknown_client_and_wrong_secret_get_identical_answers(hub: Hub) -> None:
    """Attack: enumerate client ids by the token endpoint's errors ("The client does not
    exist on this server." vs a failed authentication, and 400 vs 401 by method). Both are
    now the same 401 invalid_client, byte for byte, headers included."""
    client_id, _ = register_client(hub.app, "enumerated", scopes=["graph:read"])
    data = {"grant_type": "client_credentials"}
    answers = []
    for n, who in enumerate((client_id, "no-such-client")):
        http = browser(hub, f"10.8.1.{n}")
        basic = http.post("/oauth/token", data=data, auth=(who, "wrong-secret"))
        posted = http.post(
            "/oauth/token", data=data | {"client_id": who, "client_secret": "wrong-secret"}
        )
        introspect = http.post("/oauth/introspect", data={"token": "x"}, auth=(who, "nope"))
        answers.append(
            [
                (a.status_code, a.content, a.headers.get("www-authenticate"))
                for a in (basic, posted, introspect)
            ]
        )
    assert answers[0] == answers[1]
    status, body, challenge = answers[0][0]
    assert status == 401 and b'"invalid_client"' in body and challenge


def test_failed_sign_ins_are_audited_without_passwords(hub: Hub) -> None:
    """Attack: brute force that leaves no trace, or a trace that leaks what was typed.
    Each failed sign-in and client authentication is an audit entry with the account (the
    user name only when such a user exists: a password typed into the name field stays
    out), the address and whether it locked — never the password or secret."""
    person(hub, "audited")
    http = browser(hub, "10.8.0.6")
    form = sign_in_form(http)
    assert sign_in(http, form, "audited", "Sekret-typed-1").status_code == 401
    assert sign_in(http, form, "Sekret-in-the-name-field", "x").status_code == 401
    client_id, _ = register_client(hub.app, "audited-client", scopes=["graph:read"])
    assert token_request(http, client_id, "Sekret-secret-2").status_code == 401
    entries, _, _ = AuditLog(hub.app.state.store.engine).page(first=500)
    failed = [e.entry for e in entries if e.action == "auth.login_failed"]
    mine = [e for e in failed if e["detail"]["address"] == "10.8.0.6"]
    assert [e["detail"]["user"] for e in mine] == [None, "audited"]  # newest first
    assert all(e["client_id"] == PEOPLE_CLIENT for e in mine)
    clients = [e.entry for e in entries if e.action == "auth.client_failed"]
    assert any(e["client_id"] == client_id for e in clients)
    text = repr([e.entry for e in entries])
    assert "Sekret" not in text
