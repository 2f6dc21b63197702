"""GraphQL execution that gives the event loop its turn every few milliseconds.

graphql-core completes a resolved value on the event loop, and a page of a thousand rows with
a few dozen fields each is tens of milliseconds to a second of pure Python: without a pause,
``/healthz`` and every other request wait for all of it. This execution context notes when the
loop last had its turn; once a request has held it for more than ``SLICE_S``, the completion
of every further object or list (never a plain scalar, which is cheap) is put off to a
coroutine that waits its turn: a request's put-off completions resume one at a time, each at a
later iteration of the loop, so other requests are read and served in between. Results,
errors and their paths are the same as graphql-core's own: a put-off completion is an
awaitable value, which graphql-core already handles everywhere (an async resolver returns one
too).

Executions outside a running event loop (``execute_sync``) are left as they are.
"""

from __future__ import annotations

import asyncio
from collections import deque
from time import perf_counter
from typing import Any

from graphql import GraphQLOutputType, GraphQLResolveInfo, get_nullable_type, is_leaf_type
from graphql.execution.collect_fields import FieldDetailsList
from graphql.pyutils import AwaitableOrValue, Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

SLICE_S = 0.01  # longest the loop is held by one request between turns, about


class LoopTurns:
    """One request's clock and queue: ``due`` once it has held the loop over ``SLICE_S``;
    then completions wait in ``turn`` and resume one at a time, each at a later iteration of
    the loop (after the sockets ready by then were read), first come first served."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.since = perf_counter()
        self.waiting: deque[asyncio.Future[None]] = deque()
        self.passing = False  # a waiter has been let on and has not yet passed on

    def due(self) -> bool:
        return perf_counter() - self.since > SLICE_S

    async def turn(self) -> None:
        waiter: asyncio.Future[None] = self.loop.create_future()
        self.waiting.append(waiter)
        if not self.passing:
            self.passing = True
            self.loop.call_soon(self.pass_on)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.pass_on()  # let on, then cancelled: the next one goes instead
            raise
        self.since = perf_counter()

    def pass_on(self) -> None:
        """Let the next waiter on (it runs at the loop's next iteration), if any."""
        while self.waiting:
            waiter = self.waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.passing = False


class FairExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        # shared with per-event copies of this context (subscriptions): one request, one clock
        self.turns = LoopTurns(loop) if loop is not None else None

    def complete_value(
        self,
        return_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo[Any],
        path: Path,
        result: Any,
        position_context: Any,
    ) -> AwaitableOrValue[Any]:
        turns = self.turns
        if turns is None or not turns.due() or is_leaf_type(get_nullable_type(return_type)):
            return super().complete_value(
                return_type, field_details_list, info, path, result, position_context
            )
        return self._complete_after_turn(
            turns, return_type, field_details_list, info, path, result, position_context
        )

    async def _complete_after_turn(
        self,
        turns: LoopTurns,
        return_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo[Any],
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        await turns.turn()
        try:
            completed = super().complete_value(
                return_type, field_details_list, info, path, result, position_context
            )
        finally:
            turns.pass_on()  # its own synchronous part is done; what it awaits may overlap
        if self.is_awaitable(completed):
            completed = await completed
        return completed
