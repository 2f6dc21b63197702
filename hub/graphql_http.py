"""GraphQL over HTTP as the spec (graphql-over-http) has it, on top of strawberry's ASGI view.

Plain strawberry answers 200 to every request it could read. The spec's
``application/graphql-response+json`` asks for a 4xx when the request never reached execution
(a parse or validation error, an unknown operation, bad variables), and for the response to
leave out ``data`` then. Clients that accept only ``application/json`` keep the legacy 200.

A request refused here (a body that is not JSON, no query, an operation the method may not
run, an unacceptable Accept) or a socket refused at ``connection_init`` leaves an audit entry
with its reason (``hub.audit.refusals``); refusals after parsing are the audit extension's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cross_web import HTTPException
from graphql import GraphQLError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult

from hub.audit.log import AuditLog
from hub.audit.refusals import Refusal, RefusalSampler, record_refusal
from hub.auth.principal import Principal, TokenError, TokenVerifier
from hub.auth.scopes import GRAPH_READ
from hub.context_sources import GraphSourceAdapter, SearchSourceAdapter
from hub.fanout import RateCounter
from hub.graph import GraphStore
from hub.graphql_ws import (
    CLOSE_FORBIDDEN,
    RECHECK_S,
    TOKEN_STATE,
    HubSocketHandler,
    LimitedSocket,
    RateCheck,
)
from hub.policy.enforce import (
    PURPOSE_HEADER,
    PolicedRecordSource,
    PolicedSearchSource,
    RequestPolicy,
)
from hub.policy.engine import PolicyEngine
from hub.policy.graph import PolicedGraphSource
from hub.record_source import StoreRecordSource
from hub.search import SearchIndex
from hub.services import HubServices
from hub.store import RecordStore
from hub.store.errors import MESSAGE as STORE_MESSAGE
from hub.store.errors import STORE_UNAVAILABLE, note_failure

GRAPHQL_RESPONSE = "application/graphql-response+json"
# a refusal's reason code in the audit log, by the status the view answers
HTTP_REASONS = {405: "method_not_allowed", 406: "not_acceptable", 413: "body_too_large"}
JSON = "application/json"


@dataclass
class HubContext:
    request: Request | WebSocket
    response: Response | WebSocket
    records: StoreRecordSource | PolicedRecordSource
    graph: GraphSourceAdapter | PolicedGraphSource
    search: SearchSourceAdapter | PolicedSearchSource
    state: dict[str, Any] = field(default_factory=dict)
    policy: RequestPolicy | None = None
    hub: HubServices | None = None
    connection_params: dict[str, Any] | None = None  # graphql-transport-ws connection_init


def negotiate(accept: str | None) -> str | None:
    """The response media type for an Accept header, or None if we can offer none of it."""
    if not accept:
        return JSON  # the spec's rule for clients that send no Accept (legacy watershed)
    offered: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept.split(",")):
        media, *params = (p.strip() for p in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality <= 0:
            continue
        media = media.lower()
        if media == GRAPHQL_RESPONSE:
            offered.append((quality, -position, GRAPHQL_RESPONSE))
        elif media in (JSON, "application/*", "*/*"):
            offered.append((quality, -position, JSON))
    return max(offered)[2] if offered else None


def is_request_error(result: ExecutionResult) -> bool:
    """True when execution never started: no data and no error tied to a field path."""
    errors = result.errors or []
    return result.data is None and bool(errors) and all(not e.path for e in errors)


def store_failures(result: ExecutionResult, store: RecordStore) -> bool:
    """Errors caused by a failing store become STORE_UNAVAILABLE without the driver's text
    (hub.store.errors decides by class); True if there was one."""
    found = False
    errors = result.errors or []
    for index, error in enumerate(errors):
        if note_failure(store.engine, error.original_error):
            found = True
            errors[index] = GraphQLError(
                STORE_MESSAGE,
                path=error.path,
                extensions={"code": STORE_UNAVAILABLE},
            )
    return found


class HubGraphQL(GraphQL[HubContext, None]):
    # Subscriptions speak graphql-transport-ws only (the ops centre's and every test's client);
    # the legacy graphql-ws protocol is not offered. Sockets keep HTTP's limits: hub/graphql_ws.
    graphql_transport_ws_handler_class = HubSocketHandler
    websocket_adapter_class = LimitedSocket

    def __init__(
        self,
        schema: Any,
        store: RecordStore,
        graph: GraphStore,
        search: SearchIndex,
        *,
        graphiql: bool = True,
        policies: PolicyEngine | None = None,
        rates: RateCounter | None = None,
        hub: HubServices | None = None,
        verifier: TokenVerifier | None = None,
        max_message_bytes: int | None = None,
        rate_check: RateCheck | None = None,
        recheck_s: float = RECHECK_S,
        max_subscriptions_per_connection: int = 20,
        refusals: RefusalSampler | None = None,
    ) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if graphiql else None,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            max_subscriptions_per_connection=max_subscriptions_per_connection,
        )
        # per WebSocket message: the body limit, the principal's rate, the token re-checked
        self.max_message_bytes = max_message_bytes
        self.rate_check = rate_check
        self.refusals = refusals  # bounds the audited rate refusals (hub.audit.refusals)
        self.recheck_s = recheck_s
        self.hub = hub
        self.verifier = verifier
        self.store = store
        self.policies = policies
        self.rates = rates
        self.graph = GraphSourceAdapter(graph)
        self.search = SearchSourceAdapter(search)

    def parse_json(self, data: str | bytes) -> Any:
        """Strawberry's, with a 400 for what went on to a 500 there: a body that is not
        UTF-8 or is nested past the parser's depth, and JSON that is neither an object nor a
        batch (a list)."""
        try:
            parsed = self.decode_json(data)
        except (ValueError, RecursionError):  # JSONDecodeError, UnicodeDecodeError
            raise HTTPException(400, "Unable to parse request body as JSON") from None
        if not isinstance(parsed, dict | list):
            got = "null" if parsed is None else type(parsed).__name__
            raise HTTPException(400, f"expected a JSON object, got {got}")
        return parsed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope=scope, receive=receive)
        try:
            response = await self.run(request)
        except HTTPException as exc:
            reason = HTTP_REASONS.get(exc.status_code, "bad_request")
            why = {"why": exc.reason[:200]}  # the view's own words, never the body's
            await self.refused(request, Refusal(exc.status_code, reason, request.url.path, why))
            # The spec wants a JSON body with errors even when the request could not be read.
            media = negotiate(request.headers.get("accept")) or JSON
            response = JSONResponse(
                {"errors": [{"message": exc.reason}]},
                status_code=exc.status_code,
                media_type=media,
            )
        await response(scope, receive, send)

    @property
    def audit(self) -> AuditLog | None:
        return self.hub.audit if self.hub is not None else None

    async def refused(self, connection: Request | WebSocket, refusal: Refusal) -> None:
        """The refusal's audit entry, naming the principal when it is known."""
        auth = connection.scope.get("auth")
        principal = auth if isinstance(auth, Principal) else None
        await record_refusal(self.audit, refusal, principal, sampler=self.refusals)

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> HubContext:
        records = StoreRecordSource(self.store)
        if self.policies is None:  # enforcement off (benchmarks only)
            return HubContext(
                request=request,
                response=response,
                records=records,
                graph=self.graph,
                search=self.search,
                hub=self.hub,
            )
        # The one place policies apply to rows: every resolver reads through these.
        auth = request.scope.get("auth")
        policy = RequestPolicy(
            self.policies,
            auth if isinstance(auth, Principal) else None,
            request.headers.get(PURPOSE_HEADER),
            self.rates,
        )
        policed = PolicedRecordSource(records, policy)
        return HubContext(
            request=request,
            response=response,
            records=policed,
            graph=PolicedGraphSource(self.graph, policed, policy),
            search=PolicedSearchSource(self.search, policed, policy),
            policy=policy,
            hub=self.hub,
        )

    async def on_ws_connect(self, context: HubContext) -> dict[str, object] | None:
        """A subscription socket authenticates in ``connection_init``:
        ``{"Authorization": "Bearer TOKEN"}`` (browsers cannot set headers on a WebSocket).
        A refused token closes the socket with 4403; nothing is served before this."""
        params = context.connection_params or {}
        authorization = str(params.get("Authorization") or params.get("authorization") or "")
        scheme, _, token = authorization.partition(" ")
        path = "ws:" + context.request.url.path
        if self.verifier is None:
            raise ConnectionRejectionError({"message": "subscriptions are not served here"})
        if scheme.lower() != "bearer" or not token.strip():
            reason = "missing_token" if not authorization else "invalid_request"
            await self.refused(context.request, Refusal(CLOSE_FORBIDDEN, reason, path))
            raise ConnectionRejectionError(
                {"message": 'connection_init needs {"Authorization": "Bearer TOKEN"}'}
            )
        try:
            principal = await run_in_threadpool(self.verifier.verify, token.strip())
        except TokenError as exc:
            why = {"why": exc.description[:200]}
            await self.refused(context.request, Refusal(CLOSE_FORBIDDEN, exc.error, path, why))
            raise ConnectionRejectionError({"message": exc.description}) from None
        if not principal.has_scope(GRAPH_READ):
            refusal = Refusal(CLOSE_FORBIDDEN, "insufficient_scope", path, {"scope": GRAPH_READ})
            await record_refusal(self.audit, refusal, principal)
            raise ConnectionRejectionError({"message": f"the token lacks {GRAPH_READ}"})
        context.request.scope["auth"] = principal
        context.state[TOKEN_STATE] = token.strip()  # checked again while the socket is open
        if self.policies is not None:
            # rebuilt for the principal now known; every subscription on this socket uses it
            purpose = params.get("purpose") or context.request.headers.get(PURPOSE_HEADER)
            policy = RequestPolicy(self.policies, principal, purpose, self.rates)
            policed = PolicedRecordSource(StoreRecordSource(self.store), policy)
            context.policy = policy
            context.records = policed
            context.graph = PolicedGraphSource(self.graph, policed, policy)
            context.search = PolicedSearchSource(self.search, policed, policy)
        return None

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub_response = await super().get_sub_response(request)
        if isinstance(request, Request):
            media = negotiate(request.headers.get("accept"))
            if media is None and not self._wants_ide(request):
                raise HTTPException(
                    406, f"Not Acceptable: this endpoint answers {GRAPHQL_RESPONSE} or {JSON}"
                )
            sub_response.media_type = media or JSON
            request.state.graphql_sub_response = sub_response
        return sub_response

    def _wants_ide(self, request: Request) -> bool:
        return (
            request.method == "GET"
            and "query" not in request.query_params
            and "text/html" in request.headers.get("accept", "")
        )

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        unavailable = store_failures(result, self.store)
        data = await super().process_result(request, result)
        if is_request_error(result):
            data.pop("data", None)
            sub_response: Response = request.state.graphql_sub_response
            if sub_response.media_type == GRAPHQL_RESPONSE:
                sub_response.status_code = 400
        if unavailable:
            request.state.graphql_sub_response.status_code = 503
        return data

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        response = super().create_response(response_data, sub_response)
        media = sub_response.media_type or JSON
        response.headers["content-type"] = f"{media}; charset=utf-8"
        return response
