"""The audit log: every data read and every policy or access change, append-only and
hash-chained (``hub.audit.log``); GraphQL operations are recorded in one place
(``hub.audit.extension``), refused requests through one function (``hub.audit.refusals``);
stewards read the log through GraphQL (``hub.audit.graphql``).

What is on record (``action``: what it names):

* ``graphql.read`` — a query or mutation that ran (or a subscription starting): the ids
  served per type (``schema.audited``: records, cases, firms, search hits; an aggregate's
  groups), the fields served masked, the policy's refusals (``detail.denied``);
* ``graphql.stream`` — what a subscription streamed: every 100 events or 60 s, and at its end;
* ``request.refused`` — a request turned away, with ``detail.reason`` and ``detail.status``:
  401 (``missing_token``, ``invalid_request``, ``invalid_token``), 403
  (``insufficient_scope``), 413 (``body_too_large``), 429 (``rate_limited`` with the limit and
  bucket), and before execution (``parse``, ``validation``, ``depth_limit``, ``alias_limit``,
  ``token_limit``, ``document_limit``, ``string_limit``, ``cost_limit``,
  ``insufficient_scope``), over HTTP (``/graphql``, the apps' routes, the OAuth endpoints with
  OAuth's error code) and the socket (``ws:/graphql``; a close code as the status); 429s may
  be bounded per principal (``RefusalSampler``, off by default); ``write.refused`` — a
  workflow step the policy refused (``hub.policy``);
* ``photo.read`` / ``photo.refused`` — a photo served (its hash and the case or application it
  was read through) or not;
* ``token.issue`` — a token issued: client, grant, scopes, subject and the token's id (jti),
  never its text; ``token.revoke``, ``auth.code_replayed``;
* ``auth.login_failed`` / ``auth.login_throttled`` — a failed or throttled sign-in: the
  client, the address, and the user name only when such an account exists (the login id of
  a person the hub knows; what a stranger typed may be a phone number or a password, and is
  not kept); ``auth.client_failed`` / ``auth.client_throttled`` for client authentication;
* ``policy.change``, ``client.create`` ... — changes of access.
"""

from hub.audit.log import AuditEntry, AuditLog, ChainBroken

__all__ = ["AuditEntry", "AuditLog", "ChainBroken"]
