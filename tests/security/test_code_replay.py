"""Replayed authorization codes (issue 13 item 11, RFC 6749 4.1.2): a code presented again is
refused with invalid_grant and the token already issued from it is revoked, audited."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import threading
from typing import Any
from urllib.parse import parse_qs, urlsplit

from hub.audit.log import AuditLog
from hub.auth.accounts import sha256
from tests.auth.conftest import Hub
from tests.auth_helpers import PEOPLE_CLIENT, PEOPLE_REDIRECT, bearer, person_token

CELLS = {"query": "{ gridCells(first: 1) { totalCount } }"}


def fresh_code(hub: Hub, username: str) -> tuple[str, str]:
    """An authorization code from the real sign-in page, and its PKCE verifier."""
    person_token(hub.http, hub.app, username, "operator", "graph:read")  # user and client
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    params = {
        "response_type": "code",
        "client_id": PEOPLE_CLIENT,
        "redirect_uri": PEOPLE_REDIRECT,
        "scope": "graph:read",
        "state": "s",
        "code_challenge": challenge.rstrip(b"=").decode(),
        "code_challenge_method": "S256",
    }
    page = hub.http.get("/oauth/authorize", params=params)
    hidden = dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', page.text))
    login = {"username": username, "password": f"{username}-pw-123", "decision": "allow"}
    done = hub.http.post("/oauth/authorize", data=hidden | login, follow_redirects=False)
    assert done.status_code == 302, done.text
    return parse_qs(urlsplit(done.headers["location"]).query)["code"][0], verifier


def exchange(http: Any, code: str, verifier: str) -> Any:
    return http.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "client_id": PEOPLE_CLIENT,
            "code": code,
            "redirect_uri": PEOPLE_REDIRECT,
            "code_verifier": verifier,
        },
    )


def test_a_replayed_code_revokes_the_token_issued_from_it(hub: Hub) -> None:
    """Attack: a code intercepted on its way back (a log, a referrer, a redirect) is
    presented after the rightful client exchanged it. The replay is refused with
    invalid_grant and the rightful token is revoked (it may be the attacker's): it then
    gets 401 on /graphql; the replay is audited with the revoked token id."""
    code, verifier = fresh_code(hub, "replayed")
    first = exchange(hub.http, code, verifier)
    assert first.status_code == 200, first.text
    token = first.json()["access_token"]
    assert hub.http.post("/graphql", json=CELLS, headers=bearer(token)).status_code == 200

    replay = exchange(hub.http, code, verifier)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert "access_token" not in replay.text
    refused = hub.http.post("/graphql", json=CELLS, headers=bearer(token))
    assert refused.status_code == 401 and "revoked" in refused.headers["www-authenticate"]

    jti = hub.app.state.auth.verifier.decode(token, check_expiry=False)["jti"]
    entries, _, _ = AuditLog(hub.app.state.store.engine).page(action="auth.code_replayed")
    assert any(e.entry["detail"]["revoked"] == [jti] for e in entries)
    # the used code is kept (until it expires) with the token it gave, not deleted
    kept = hub.accounts.code_by_hash(sha256(code))
    assert kept is not None and kept.used_at is not None and kept.issued_jtis == [jti]


def test_a_replay_without_the_verifier_still_revokes(hub: Hub) -> None:
    """Attack: the thief of a code has no PKCE verifier, so its replay fails anyway — but
    the code leaked, so the token issued from it is revoked all the same (RFC 6749 4.1.2
    asks for it on any second use)."""
    code, verifier = fresh_code(hub, "leaked")
    token = exchange(hub.http, code, verifier).json()["access_token"]
    replay = exchange(hub.http, code, secrets.token_urlsafe(48))
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert hub.http.post("/graphql", json=CELLS, headers=bearer(token)).status_code == 401


def test_a_code_raced_twice_at_once_leaves_no_live_token(hub: Hub) -> None:
    """Attack: present a stolen code at the same moment as the rightful client, hoping both
    exchanges pass the single-use check. At most one gets a token, and that token is
    revoked whichever request came second (its id is recorded before it is issued)."""
    code, verifier = fresh_code(hub, "raced")
    answers: list[Any] = []
    start = threading.Barrier(2)

    def exchange_at_once() -> None:
        start.wait()
        answers.append(exchange(hub.http, code, verifier))

    racers = [threading.Thread(target=exchange_at_once) for _ in range(2)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()
    statuses = sorted(a.status_code for a in answers)
    assert statuses in ([200, 400], [400, 400]), statuses
    for answer in answers:
        if answer.status_code == 200:
            token = answer.json()["access_token"]
            gone = hub.http.post("/graphql", json=CELLS, headers=bearer(token))
            assert gone.status_code == 401
