"""The shared GraphQL schema: the city's domain types, interfaces and scalars.

Everything here is data-source agnostic: resolvers reach records only through the
``RecordSource`` that the hub puts in the request context (``schema.context``).
"""
