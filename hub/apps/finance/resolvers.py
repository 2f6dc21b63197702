"""Smart-finance resolvers: thin calls into the smoke-index service; rows read through the
request's policed record source, so row filters, aggregate-only access and field masks apply."""

from __future__ import annotations

from typing import TypeVar

import strawberry

from hub.apps import kit
from hub.apps.finance.services import (
    SCORE_KIND,
    WATCH_KIND,
    SmokeIndexService,
)
from hub.apps.finance.types import (
    SmokeIndexRun,
    SmokeIndexStats,
    SmokeIndexType,
    SmokeLevel,
)
from hub.apps.kit import off_loop
from hub.auth.principal import principal_of
from schema.connection import CountedConnection, Edge, encode_cursor, window
from schema.context import records
from schema.record import Record

APP_NAME = "finance"
T = TypeVar("T")


def smoke(info: strawberry.Info) -> SmokeIndexService:
    return kit.service(info, SmokeIndexService)


async def _build(info: strawberry.Info, keys: list[str]) -> list[SmokeIndexType]:
    source = records(info)
    scores = await source.load_many(SCORE_KIND, keys)
    watches = await source.load_many(WATCH_KIND, keys)
    return [
        SmokeIndexType.build(score, watch)
        for score, watch in zip(scores, watches, strict=True)
        if score is not None
    ]


async def _page(
    info: strawberry.Info, found: list[Record], rows_allowed: bool, first: int, after: str | None
) -> CountedConnection[SmokeIndexType]:
    """One page of ranked firms; counts only (no edges) when the policy allows no rows."""
    cut = window(found, lambda r: r.key, first=first, after=after, ranked=True)
    nodes = await _build(info, [r.key for r in cut.rows]) if rows_allowed else []
    edges = [Edge(cursor=encode_cursor(str(n.firm_key)), node=n) for n in nodes]
    return CountedConnection.of(
        edges,
        count=cut.total,
        has_next=rows_allowed and cut.has_next,
        has_previous=rows_allowed and cut.has_previous,
    )


@strawberry.type
class FinanceQueries:
    @strawberry.field(description="A quasi-financial firm's smoke index, explanation and trend")
    async def smoke_index(
        self, info: strawberry.Info, firm_key: strawberry.ID
    ) -> SmokeIndexType | None:
        s = smoke(info)
        await off_loop(s.ensure_scored)
        key = str(firm_key)
        if not await off_loop(lambda: s.known(key)):
            raise ValueError(f"no quasi-financial firm with key {key[:64]!r} was scored")
        found = await _build(info, [key])
        return found[0] if found else None  # null: the policy hides the row (or counts only)

    @strawberry.field(
        description="Every scored firm, riskiest first (then by key); level / firmType: only "
        "that level or firm type (leasing, factoring, private_fund, small_loan, pawn, "
        "guarantee, trading_venue)"
    )
    async def smoke_indexes(
        self,
        info: strawberry.Info,
        level: SmokeLevel | None = None,
        firm_type: str | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> CountedConnection[SmokeIndexType]:
        wanted = None if level is None else level.value
        s = smoke(info)
        rows = await kit.countable_rows(info, SCORE_KIND)
        visible, rows_allowed = rows.check, rows.readable
        found = await off_loop(lambda: s.ranked(wanted, visible, firm_type))
        rows.figures.require(len(found), "firms")
        return await _page(info, found, rows_allowed, first, after)

    @strawberry.field(
        description="Firms under supervision (score above the first band), riskiest first; "
        "level / firmType: only that level or firm type"
    )
    async def watch_list(
        self,
        info: strawberry.Info,
        level: SmokeLevel | None = None,
        first: int = 50,
        after: str | None = None,
        firm_type: str | None = None,
    ) -> CountedConnection[SmokeIndexType]:
        s = smoke(info)
        rows = await kit.countable_rows(info, SCORE_KIND)
        visible, rows_allowed = rows.check, rows.readable
        wanted = None if level is None else level.value
        found = await off_loop(lambda: s.watch_list(wanted, visible, firm_type))
        rows.figures.require(len(found), "firms")
        return await _page(info, found, rows_allowed, first, after)

    @strawberry.field(description="Firms per smoke-index level, per street and per park")
    async def smoke_index_stats(self, info: strawberry.Info) -> SmokeIndexStats:
        s = smoke(info)
        rows = await kit.countable_rows(info, SCORE_KIND)
        return SmokeIndexStats.of(await off_loop(lambda: s.stats(rows.check)), rows.figures)


@strawberry.type
class FinanceMutations:
    @strawberry.mutation(
        description="Score every firm now (operators): persists the run, updates the watch list "
        "and raises smoke.jump alarms for firms up by at least jumpPoints (default configured)"
    )
    async def rescore_smoke_index(
        self, info: strawberry.Info, jump_points: float | None = None
    ) -> SmokeIndexRun:
        principal = principal_of(info)
        if principal is None:
            raise PermissionError("rescoring needs an authenticated principal")
        await kit.may_act(info, SCORE_KIND, "rescore")  # the policy's write side decides
        s = smoke(info)
        result = await off_loop(lambda: s.rescore(principal.label, principal.roles, jump_points))
        await info.context.hub.live.publish_alarms(result.alarms)
        return SmokeIndexRun.of(result)
