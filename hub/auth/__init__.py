"""The hub's OAuth 2 authorization server (Authlib) and the bearer-token gate on /graphql.

Modules: ``scopes`` (scope names, roles), ``tables`` (clients, users, codes, revoked token ids,
signing keys), ``accounts`` (the store side), ``keys`` (asymmetric signing keys, JWKS,
rotation), ``principal`` (verify a bearer JWT into a Principal), ``server`` (Authlib adapter and
grants), ``routes`` (the OAuth endpoints), ``gate`` (no anonymous access), ``limits``
(query cost, introspection by scope).
"""
