"""Latest device states for a GraphQL request, batched: a page of 200 tanks asking for their
levels costs one store query per kind, not 200."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.concurrency import run_in_threadpool
from strawberry.dataloader import DataLoader

from hub.state.queries import DeviceState, latest

_KEY = "hub.state.loader"


async def device_state(info: Any, kind: str, ident: str) -> DeviceState | None:
    """The latest state of device ``ident`` under ``kind``, from the store."""
    loaders: dict[str, DataLoader[str, DeviceState | None]] = info.context.state.setdefault(
        _KEY, {}
    )
    loader = loaders.get(kind)
    if loader is None:
        engine = info.context.hub.store.engine

        async def load(ids: Sequence[str]) -> list[DeviceState | None]:
            found = await run_in_threadpool(latest, engine, kind, list(ids))
            return [found.get(i) for i in ids]

        loader = loaders[kind] = DataLoader(load_fn=load)
    return await loader.load(ident)
