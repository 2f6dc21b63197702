"""Smart-finance resolvers: thin calls into the smoke-index service; rows read through the
request's policed record source, so row filters, aggregate-only access and field masks apply."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import strawberry
from starlette.concurrency import run_in_threadpool

from hub.apps.finance.services import (
    SCORE_KIND,
    WATCH_KIND,
    FinanceError,
    NotPermitted,
    SmokeIndexService,
)
from hub.apps.finance.types import (
    SmokeIndexEdge,
    SmokeIndexRun,
    SmokeIndexStats,
    SmokeIndexType,
    SmokeLevel,
    WatchListConnection,
)
from hub.auth.principal import principal_of
from hub.policy.engine import Decision
from schema.connection import MAX_PAGE, decode_cursor, encode_cursor
from schema.context import records
from schema.record import Record

APP_NAME = "finance"
T = TypeVar("T")


def smoke(info: strawberry.Info) -> SmokeIndexService:
    return info.context.hub.service(APP_NAME)  # type: ignore[no-any-return]


async def _call(fn: Callable[[], T]) -> T:
    """Run a rule off the event loop; its refusals become clear GraphQL errors."""
    try:
        return await run_in_threadpool(fn)
    except NotPermitted as exc:
        raise PermissionError(str(exc)) from None
    except FinanceError as exc:
        raise ValueError(str(exc)) from None


async def _counted(info: strawberry.Info) -> tuple[Callable[[Record], bool], bool]:
    """Which score rows the policy lets this request count, and whether it may read them."""
    policy = info.context.policy
    if policy is None:
        return (lambda _: True), True
    decision: Decision = await policy.gate(SCORE_KIND)
    return (lambda r: bool(policy.visible(decision, r))), not decision.aggregate_only


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
) -> WatchListConnection:
    """One page of ranked firms; counts only (no edges) when the policy allows no rows."""
    if not 0 <= first <= MAX_PAGE:
        raise ValueError(f"first must be between 0 and {MAX_PAGE}")
    start = 0
    if after:
        cursor_key = decode_cursor(after)
        positions = {r.key: i for i, r in enumerate(found)}
        if cursor_key not in positions:
            raise ValueError("the cursor is not in the current list; start again")
        start = positions[cursor_key] + 1
    page = found[start : start + first] if rows_allowed else []
    nodes = await _build(info, [r.key for r in page])
    edges = [SmokeIndexEdge(cursor=encode_cursor(str(n.firm_key)), node=n) for n in nodes]
    return WatchListConnection(
        edges=edges,
        total_count=len(found),
        has_next_page=rows_allowed and len(found) > start + first,
        end_cursor=edges[-1].cursor if edges else None,
    )


@strawberry.type
class FinanceQueries:
    @strawberry.field(description="A quasi-financial firm's smoke index, explanation and trend")
    async def smoke_index(
        self, info: strawberry.Info, firm_key: strawberry.ID
    ) -> SmokeIndexType | None:
        s = smoke(info)
        await _call(s.ensure_scored)
        key = str(firm_key)
        if not await _call(lambda: s.known(key)):
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
    ) -> WatchListConnection:
        wanted = None if level is None else level.value
        s = smoke(info)
        visible, rows_allowed = await _counted(info)
        found = await _call(lambda: s.ranked(wanted, visible, firm_type))
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
    ) -> WatchListConnection:
        s = smoke(info)
        visible, rows_allowed = await _counted(info)
        wanted = None if level is None else level.value
        found = await _call(lambda: s.watch_list(wanted, visible, firm_type))
        return await _page(info, found, rows_allowed, first, after)

    @strawberry.field(description="Firms per smoke-index level, per street and per park")
    async def smoke_index_stats(self, info: strawberry.Info) -> SmokeIndexStats:
        s = smoke(info)
        visible, _ = await _counted(info)
        return SmokeIndexStats.of(await _call(lambda: s.stats(visible)))


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
        s = smoke(info)
        result = await _call(lambda: s.rescore(principal.label, principal.roles, jump_points))
        await info.context.hub.live.publish_alarms(result.alarms)
        return SmokeIndexRun.of(result)
