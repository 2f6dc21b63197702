"""The OAuth endpoints on Starlette: token, authorize (a plain login form), introspect, revoke,
RFC 8414 metadata and the JWKS.

Every parameter is checked against OAuth's syntax before Authlib reads it (``hub.auth.params``:
a 400 naming the parameter); failed sign-ins and client authentications are throttled
(``HubAuthorizationServer.sign_in`` / ``authenticate_client``: 429 with Retry-After). The
other refusals of the token, introspection and revocation endpoints (a bad parameter, a body
too large, an invalid grant or scope) are audited as ``request.refused`` with the OAuth error
code as the reason; failed and throttled authentications have entries of their own."""

from __future__ import annotations

import hmac
import html
import json
import secrets

from authlib.oauth2.rfc6749.errors import OAuth2Error
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from hub.audit.refusals import REFUSED
from hub.auth.accounts import User
from hub.auth.params import BadParameter, check_parameters
from hub.auth.server import HubAuthorizationServer, PreparedRequest, SignInRefused

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class BodyTooLarge(Exception):
    pass


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge
    return bytes(body)


async def prepare(request: Request, issuer: str, limit: int) -> PreparedRequest:
    from urllib.parse import parse_qsl

    form: dict[str, str] = {}
    datalist: dict[str, list[str]] = {}
    args = dict(request.query_params)
    for key, value in request.query_params.multi_items():
        datalist.setdefault(key, []).append(value)
    if request.method == "POST":
        body = await read_body(request, limit)
        if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            for key, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
                form.setdefault(key, value)
                datalist.setdefault(key, []).append(value)
    check_parameters(datalist)  # BadParameter: the client's mistake, before Authlib sees it
    # Authlib insists on https (or loopback): the request is the issuer's, whatever Host said.
    uri = issuer.rstrip("/") + request.url.path
    if request.url.query:
        uri += "?" + request.url.query
    return PreparedRequest(
        method=request.method,
        uri=uri,
        headers=request.headers,  # case-insensitive, as Authlib looks up "Authorization"
        args=args,
        form=form,
        datalist=datalist,
        address=request.client.host if request.client else None,
    )


def bad_parameter(exc: BadParameter) -> JSONResponse:
    return JSONResponse(
        {"error": "invalid_request", "error_description": str(exc)},
        status_code=400,
        headers=NO_STORE,
    )


def too_large() -> JSONResponse:
    return JSONResponse(
        {"error": "invalid_request", "error_description": "request body too large"},
        status_code=413,
    )


LOGIN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>cityhub — sign in</title>
<style>body{{font-family:sans-serif;max-width:24rem;margin:4rem auto}}
label{{display:block;margin:.6rem 0}}input{{width:100%}}.error{{color:#b00}}</style></head>
<body><h1>cityhub</h1><p><strong>{client}</strong> asks for: {scopes}</p>
{error}<form method="post" action="/oauth/authorize">
{hidden}<input type="hidden" name="csrf_token" value="{csrf}">
<label>User name <input name="username" autocomplete="username" required></label>
<label>Password <input name="password" type="password" autocomplete="current-password"
required></label>
<button type="submit" name="decision" value="allow">Sign in and allow</button>
<button type="submit" name="decision" value="deny" formnovalidate>Deny</button>
</form></body></html>"""

PASSED_ON = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
)


CSRF_COOKIE = "cityhub_login_csrf"
# The consent page must not be framed (clickjacking) nor cached.
PAGE_HEADERS = {
    **NO_STORE,
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'",
}


def login_response(
    request: Request,
    params: dict[str, str],
    client: str,
    scopes: str,
    error: str = "",
    status: int = 200,
    retry_after: int = 0,
) -> HTMLResponse:
    """The sign-in form with an anti-CSRF token, in the form and in a cookie: a POST must
    carry both, equal (double submit), so no other site can sign a user in. The browser's
    token is kept while it has one (a form shown again after a wrong password stays valid)."""
    held = request.cookies.get(CSRF_COOKIE, "")
    csrf = held if 32 <= len(held) <= 64 else secrets.token_urlsafe(32)
    page = login_page(params, client, scopes, error, csrf)
    headers = PAGE_HEADERS | ({"Retry-After": str(retry_after)} if retry_after else {})
    response = HTMLResponse(page, status_code=status, headers=headers)
    response.set_cookie(
        CSRF_COOKIE,
        csrf,
        max_age=1800,
        path="/oauth/authorize",
        httponly=True,
        samesite="strict",
        secure=False,  # the hub may run on plain HTTP on loopback; TLS ends in front of it
    )
    return response


def csrf_ok(request: Request, form: dict[str, str]) -> bool:
    cookie = request.cookies.get(CSRF_COOKIE, "")
    given = form.get("csrf_token", "")
    return bool(cookie) and hmac.compare_digest(cookie.encode(), given.encode())


def login_page(
    params: dict[str, str], client: str, scopes: str, error: str = "", csrf: str = ""
) -> str:
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{html.escape(params[name])}">\n'
        for name in PASSED_ON
        if name in params
    )
    return LOGIN_PAGE.format(
        client=html.escape(client),
        scopes=html.escape(scopes) or "(nothing)",
        hidden=hidden,
        csrf=html.escape(csrf),
        error=f'<p class="error">{html.escape(error)}</p>' if error else "",
    )


def error_page(error: OAuth2Error | BadParameter, status: int = 400) -> HTMLResponse:
    if isinstance(error, BadParameter):
        text = html.escape(f"invalid_request: {error}")
    else:
        text = html.escape(f"{error.error}: {error.description or ''}")
    return HTMLResponse(
        f"<!doctype html><title>cityhub — authorization error</title><p>{text}</p>",
        status_code=status,
    )


def answer(result: object) -> Response:
    """Authlib's answer: always a Starlette response, made by the server's handle_response
    (Authlib's types say only an object, or the (status, body, headers) it hands over)."""
    if not isinstance(result, Response):
        raise TypeError(f"Authlib answered {type(result).__name__}, not a response")
    return result


def _oauth_error(response: Response) -> str:
    try:
        error = json.loads(bytes(response.body)).get("error")
    except (ValueError, AttributeError):
        error = None
    return str(error)[:64] if error else "refused"


def oauth_routes(server: HubAuthorizationServer, *, max_body: int) -> list[Route]:
    issuer = server.issuer

    async def audited(request: Request, response: Response) -> Response:
        """``response``, its refusal audited (401 and 429 are audited where they are decided:
        ``auth.client_failed`` / ``auth.client_throttled``)."""
        status = response.status_code
        if status >= 400 and status not in (401, 429) and server.on_event is not None:
            detail = {"status": status, "reason": _oauth_error(response), "path": request.url.path}
            await run_in_threadpool(server.on_event, REFUSED, detail)
        return response

    async def token(request: Request) -> Response:
        try:
            prepared = await prepare(request, issuer, max_body)
        except BodyTooLarge:
            return await audited(request, too_large())
        except BadParameter as exc:
            return await audited(request, bad_parameter(exc))
        response = answer(await run_in_threadpool(server.create_token_response, prepared))
        response.headers.update(NO_STORE)
        return await audited(request, response)

    async def endpoint(name: str, request: Request) -> Response:
        try:
            prepared = await prepare(request, issuer, max_body)
        except BodyTooLarge:
            return await audited(request, too_large())
        except BadParameter as exc:
            return await audited(request, bad_parameter(exc))
        response = answer(await run_in_threadpool(server.create_endpoint_response, name, prepared))
        response.headers.update(NO_STORE)
        return await audited(request, response)

    async def introspect(request: Request) -> Response:
        return await endpoint("introspection", request)

    async def revoke(request: Request) -> Response:
        return await endpoint("revocation", request)

    async def authorize(request: Request) -> Response:
        try:
            prepared = await prepare(request, issuer, max_body)
        except BodyTooLarge:
            return too_large()
        except BadParameter as exc:  # never redirect with a malformed parameter
            return error_page(exc)
        params = {**prepared.args, **prepared.form}
        try:
            grant = await run_in_threadpool(server.get_consent_grant, prepared)
        except OAuth2Error as error:
            if error.redirect_uri:  # a checked redirect URI: tell the client there
                return answer(
                    server.handle_error_response(server.create_oauth2_request(prepared), error)
                )
            return error_page(error)
        client = grant.client.client
        scope = grant.request.scope or ""
        if request.method == "GET":
            return login_response(request, params, client.name, scope)
        if not csrf_ok(request, prepared.form):
            return login_response(
                request,
                params,
                client.name,
                scope,
                "The sign-in form expired or did not come from this hub; please sign in again.",
                status=403,
            )
        if prepared.form.get("decision") == "deny":
            user: User | None = None
        else:
            try:
                user = await run_in_threadpool(
                    lambda: server.sign_in(
                        prepared.form.get("username", ""),
                        prepared.form.get("password", ""),
                        address=prepared.address,
                        client_id=client.client_id,
                    )
                )
            except SignInRefused as refused:
                return login_response(
                    request,
                    params,
                    client.name,
                    scope,
                    str(refused),
                    refused.status,
                    refused.retry_after,
                )
        return answer(
            await run_in_threadpool(
                lambda: server.create_authorization_response(prepared, user, grant)
            )
        )

    async def metadata(_: Request) -> JSONResponse:
        return JSONResponse(server.metadata())

    async def jwks(_: Request) -> JSONResponse:
        keys = await run_in_threadpool(server.keys.jwks)
        return JSONResponse(keys, headers={"Cache-Control": "max-age=60"})

    async def demo_callback(request: Request) -> HTMLResponse:
        """Where the demo's public client lands: shows the code to paste into curl."""
        code = html.escape(request.query_params.get("code", ""))
        error = html.escape(request.query_params.get("error", ""))
        text = f"authorization code: <code>{code}</code>" if code else f"error: {error}"
        return HTMLResponse(f"<!doctype html><title>cityhub demo</title><p>{text}</p>")

    return [
        Route("/oauth/token", token, methods=["POST"]),
        Route("/oauth/demo-callback", demo_callback),
        Route("/oauth/authorize", authorize, methods=["GET", "POST"]),
        Route("/oauth/introspect", introspect, methods=["POST"]),
        Route("/oauth/revoke", revoke, methods=["POST"]),
        Route("/.well-known/oauth-authorization-server", metadata),
        Route("/.well-known/jwks.json", jwks),
    ]
