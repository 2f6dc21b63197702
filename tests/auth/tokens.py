"""Hand-made tokens for hostile tests: real keys, wrong claims."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey, OctKey

from hub.auth.keys import KeyRing


def claims(hub: Any, client_id: str, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "iss": hub.app.state.auth.issuer,
        "aud": hub.app.state.auth.settings.audience,
        "iat": now,
        "exp": now + 300,
        "jti": f"hand-{now}-{id(changes)}",
        "client_id": client_id,
        "sub": client_id,
        "kind": "client",
        "scope": "graph:read",
    }
    return base | changes


def sign(ring: KeyRing, payload: dict[str, Any], **header: Any) -> str:
    key = ring.signing_key()
    return jwt.encode({"alg": "ES256", "kid": key.kid, "typ": "at+jwt", **header}, payload, key)


def sign_with_stranger(ring: KeyRing, payload: dict[str, Any]) -> str:
    """Signed by a key the hub never issued, under the hub's own kid."""
    stranger = ECKey.generate_key("P-256")
    kid = ring.signing_key().kid
    return jwt.encode({"alg": "ES256", "kid": kid}, payload, stranger)


def unsigned(ring: KeyRing, payload: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        raw = json.dumps(value).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    header = {"alg": "none", "kid": ring.signing_key().kid}
    return f"{part(header)}.{part(payload)}."


def hmac_with_public_key(ring: KeyRing, payload: dict[str, Any]) -> str:
    """The classic key-confusion attack: HS256 keyed with the published public key."""
    public = json.dumps(ring.jwks()["keys"][0]).encode()
    key = OctKey.import_key(public)
    kid = ring.signing_key().kid
    return jwt.encode({"alg": "HS256", "kid": kid}, payload, key, algorithms=["HS256"])
