"""Serves the operations centre (the single-page app in ``hub/web/dist``) at ``/``.

The UI signs people in through the hub's own OAuth server (authorization code + PKCE) as the
public client ``ops-center``. Its redirect URI is the hub's issuer origin plus ``/``, so it is
right for any deployment: set ``CITYHUB_AUTH_ISSUER`` to the public origin (https, or http on
loopback) and the client is created, or given that redirect URI, on the UI's first request.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.auth.accounts import AccountError, AccountStore
from hub.auth.scopes import AUDIT_READ, DEPARTMENT, GRAPH_INTROSPECT, GRAPH_READ, POLICY_WRITE
from hub.auth.tables import ClientRow

log = logging.getLogger(__name__)

DIST = Path(__file__).parent / "dist"
CLIENT_ID = "ops-center"
# What the UI asks for; the login grants only what the person's role holds.
SCOPES = (GRAPH_READ, GRAPH_INTROSPECT, AUDIT_READ, POLICY_WRITE)
# Scripts, styles and data from the hub only: no CDN, no tile server, no inline script.
# Leaflet positions its panes with inline style attributes, hence 'unsafe-inline' for styles.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]


def redirect_uri_of(issuer: str) -> str:
    return issuer.rstrip("/") + "/"


def ensure_ops_client(accounts: AccountStore, issuer: str) -> str:
    """The UI's public client exists and accepts this deployment's redirect URI (idempotent;
    an existing client keeps its other redirect URIs). Returns the redirect URI."""
    redirect = redirect_uri_of(issuer)
    client = accounts.client(CLIENT_ID)
    if client is None:
        try:
            accounts.create_client(
                CLIENT_ID,
                client_id=CLIENT_ID,
                public=True,
                redirect_uris=[redirect],
                scopes=list(SCOPES),
                role=DEPARTMENT,
            )
        except AccountError:
            if accounts.client(CLIENT_ID) is None:  # not a lost race with another worker
                raise
        client = accounts.client(CLIENT_ID)
    if client is not None and redirect not in client.redirect_uris:
        with accounts.engine.begin() as conn:
            current = conn.execute(
                select(ClientRow.redirect_uris).where(ClientRow.client_id == CLIENT_ID)
            ).scalar_one()
            conn.execute(
                ClientRow.__table__.update()
                .where(ClientRow.client_id == CLIENT_ID)
                .values(redirect_uris=[*(current or []), redirect])
            )
    return redirect


class SecurityHeaders:
    """Adds the UI's Content-Security-Policy (and friends) to every response it wraps."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in SECURITY_HEADERS}
                kept = [(n, v) for n, v in message.get("headers", []) if n not in names]
                message["headers"] = [*kept, *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class SinglePageApp(StaticFiles):
    """The built assets; the app navigates by URL fragment, so only ``/`` is a page and any
    other unknown path stays a 404 (the hub's own routes answer before this mount)."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        if path in ("", ".", "index.html") and not (DIST / "index.html").is_file():
            return PlainTextResponse(
                "The operations centre is not built: run scripts/setup.sh (npm ci + build).",
                status_code=503,
            )
        if not DIST.is_dir():
            return PlainTextResponse("Not Found", status_code=404)
        response = await super().get_response(path, scope)
        if response.media_type == "text/html":  # the page always fresh; hashed assets cached
            response.headers["cache-control"] = "no-cache"
        return response


def web_routes(accounts: AccountStore, issuer: str) -> list[BaseRoute]:
    """``/ops-center/config.json`` (the OAuth settings the UI needs) and the UI at ``/``.
    Mount these last: ``/`` catches every path the other routes left."""
    ensured: list[str] = []
    lock = threading.Lock()

    def client_redirect() -> str:
        with lock:
            if not ensured:
                ensured.append(ensure_ops_client(accounts, issuer))
            return ensured[0]

    async def config(_: Request) -> Response:
        try:
            redirect = await run_in_threadpool(client_redirect)
        except AccountError as exc:
            log.warning("ops-center client not available: %s", exc)
            return JSONResponse(
                {
                    "error": f"the ops-center client cannot be registered: {exc}; "
                    "set CITYHUB_AUTH_ISSUER to the hub's public https origin"
                },
                status_code=503,
            )
        base = issuer.rstrip("/")
        return JSONResponse(
            {
                "issuer": base,
                "clientId": CLIENT_ID,
                "redirectUri": redirect,
                "authorizationEndpoint": f"{base}/oauth/authorize",
                "tokenEndpoint": f"{base}/oauth/token",
                "revocationEndpoint": f"{base}/oauth/revoke",
                "scopes": list(SCOPES),
            },
            headers={"cache-control": "no-store"},
        )

    return [
        Route("/ops-center/config.json", config),
        Mount(
            "/",
            app=SecurityHeaders(SinglePageApp(directory=DIST, html=True, check_dir=False)),
            name="ops-center",
        ),
    ]
