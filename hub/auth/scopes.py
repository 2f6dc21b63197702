"""Scope names, roles, and which scopes a role may hold.

| scope | grants |
|---|---|
| ``graph:read`` | query the city's data through /graphql |
| ``graph:introspect`` | introspection (``__schema``, ``__type``) |
| ``graph:federate`` | the Apollo Federation fields ``_service`` and ``_entities`` (gateways) |
| ``audit:read`` | the audit log (``auditLog``); stewards only |
| ``policy:write`` | edit access policies (later); stewards only |
| ``token:introspect`` | introspect any client's tokens at /oauth/introspect (resource servers) |
| ``telemetry:write`` | post sensor readings and vehicle fixes to /telemetry (devices, gateways) |
"""

from __future__ import annotations

GRAPH_READ = "graph:read"
GRAPH_INTROSPECT = "graph:introspect"
GRAPH_FEDERATE = "graph:federate"
AUDIT_READ = "audit:read"
POLICY_WRITE = "policy:write"
TOKEN_INTROSPECT = "token:introspect"
TELEMETRY_WRITE = "telemetry:write"

ALL_SCOPES = (
    GRAPH_READ,
    GRAPH_INTROSPECT,
    GRAPH_FEDERATE,
    AUDIT_READ,
    POLICY_WRITE,
    TOKEN_INTROSPECT,
    TELEMETRY_WRITE,
)

OPERATOR = "operator"
STEWARD = "steward"
PARTNER_VIEWER = "partner-viewer"
USER_ROLES = (OPERATOR, STEWARD, PARTNER_VIEWER)

# Client roles: who the application is (a partner agency or a department's own app).
PARTNER = "partner"
DEPARTMENT = "department"
CLIENT_ROLES = (PARTNER, DEPARTMENT)

ROLE_SCOPES: dict[str, frozenset[str]] = {
    OPERATOR: frozenset({GRAPH_READ, GRAPH_INTROSPECT}),
    STEWARD: frozenset({GRAPH_READ, GRAPH_INTROSPECT, AUDIT_READ, POLICY_WRITE}),
    PARTNER_VIEWER: frozenset({GRAPH_READ}),
}


def parse_scopes(value: str | None) -> list[str]:
    """Scopes of a space-separated string, in order, without duplicates."""
    seen: list[str] = []
    for scope in (value or "").split():
        if scope not in seen:
            seen.append(scope)
    return seen


def unknown_scopes(scopes: list[str]) -> list[str]:
    return [s for s in scopes if s not in ALL_SCOPES]
