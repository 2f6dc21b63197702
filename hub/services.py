"""What the hub's parts share within one process: the stores, the fan-out and the apps'
services. Built once by ``create_app``; resolvers reach it as ``info.context.hub``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hub.audit.log import AuditLog
from hub.auth.principal import TokenVerifier
from hub.auth.ratelimit import RateLimiter
from hub.config import Settings
from hub.fanout import Broadcast, RateCounter
from hub.feed import FeedFollower
from hub.graph import GraphStore
from hub.ingest.sources import SourceSystems
from hub.live import LiveBus
from hub.policy.engine import PolicyEngine
from hub.search import SearchIndex
from hub.store import RecordStore


@dataclass
class HubServices:
    settings: Settings
    store: RecordStore
    graph: GraphStore
    search: SearchIndex
    broadcast: Broadcast
    audit: AuditLog
    policies: PolicyEngine
    tokens: TokenVerifier  # for the apps' own HTTP routes (Open311, telemetry)
    sources: SourceSystems  # webhook pushes, live pass-through, scheduled syncs
    live: LiveBus  # alarms and case updates to subscribers; telemetry handlers by kind
    feed: FeedFollower  # this worker's follower of the store's change feed (hub.feed)
    # rates per person / client / action (Open311 filings, photo uploads) for the apps' routes
    limiter: RateLimiter = field(default_factory=RateLimiter)
    apps: dict[str, Any] = field(default_factory=dict)  # each app's services, by app name
    # the schema's field classifications ({type: {field: (level, mask)}}), for routes that
    # serve a row's field outside GraphQL (a case's photos) under the same field policy
    classified: dict[str, dict[str, tuple[str, str | None]]] = field(default_factory=dict)
    # the policies' per-type rate counts (``rate_limit``), shared with GraphQL's requests
    rates: RateCounter | None = None

    def service(self, app: str) -> Any:
        """The services object app ``app`` built at start-up."""
        try:
            return self.apps[app]
        except KeyError:
            raise LookupError(f"app {app!r} has no services in this hub") from None
