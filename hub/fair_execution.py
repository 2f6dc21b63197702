"""GraphQL execution that gives the event loop its turn every few milliseconds.

graphql-core completes a resolved value on the event loop, and a page of a thousand rows with
a few dozen fields each is tens of milliseconds to a second of pure Python: without a pause,
``/healthz`` and every other request wait for all of it. This execution context notes when the
loop last had its turn; once a request has held it for more than ``SLICE_S``, the completion
of every further object or list (never a plain scalar, which is cheap) is put off to a
coroutine that waits for the loop's next turn first. Results, errors and their paths are the
same as graphql-core's own: a put-off completion is an awaitable value, which graphql-core
already handles everywhere (an async resolver returns one too).

Executions outside a running event loop (``execute_sync``) are left as they are.
"""

from __future__ import annotations

import asyncio
from time import perf_counter
from typing import Any

from graphql import GraphQLOutputType, GraphQLResolveInfo, get_nullable_type, is_leaf_type
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

SLICE_S = 0.01  # longest the loop is held by one request between turns, about


class LoopTurns:
    """When the running loop last had a turn for the others: a turn is noted by a callback
    that runs at the loop's next iteration, after the sockets ready by then were read."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.since = perf_counter()
        self.asked = False

    def due(self) -> bool:
        """Whether the loop should have its turn now (and a turn is noted when it does)."""
        if perf_counter() - self.since <= SLICE_S:
            return False
        if not self.asked:
            self.asked = True
            self.loop.call_soon(self._turned)
        return True

    def _turned(self) -> None:
        self.since = perf_counter()
        self.asked = False


class FairExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        # shared with per-event copies of this context (subscriptions): one request, one clock
        self.turns = LoopTurns(loop) if loop is not None else None

    def complete_value(  # type: ignore[override]
        self,
        return_type: GraphQLOutputType,
        field_details_list: Any,
        info: GraphQLResolveInfo,
        path: Any,
        result: Any,
        position_context: Any,
    ) -> Any:
        turns = self.turns
        if (
            turns is None or not turns.due() or is_leaf_type(get_nullable_type(return_type))  # type: ignore[arg-type]
        ):
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
        field_details_list: Any,
        info: GraphQLResolveInfo,
        path: Any,
        result: Any,
        position_context: Any,
    ) -> Any:
        while turns.due():
            await asyncio.sleep(0)
        completed = super().complete_value(
            return_type, field_details_list, info, path, result, position_context
        )
        if self.is_awaitable(completed):
            completed = await completed
        return completed
