"""The audit log: every data read and every policy or access change, append-only and
hash-chained (``hub.audit.log``); GraphQL reads are recorded in one place
(``hub.audit.extension``); stewards read the log through GraphQL (``hub.audit.graphql``)."""

from hub.audit.log import AuditEntry, AuditLog, ChainBroken

__all__ = ["AuditEntry", "AuditLog", "ChainBroken"]
