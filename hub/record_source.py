"""The per-request RecordSource: store reads batched by DataLoader, run off the event loop."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from starlette.concurrency import run_in_threadpool
from strawberry.dataloader import DataLoader

from hub.store import RecordStore
from schema.record import Record


class StoreRecordSource:
    """One per request, so the DataLoader cache never outlives the request."""

    def __init__(self, store: RecordStore) -> None:
        self.store = store
        self._loader: DataLoader[tuple[str, str], Record | None] = DataLoader(self._batch)

    async def _batch(self, keys: list[tuple[str, str]]) -> list[Record | None]:
        by_kind: dict[str, list[str]] = defaultdict(list)
        for kind, key in keys:
            by_kind[kind].append(key)
        found: dict[tuple[str, str], Record] = {}
        for kind, kind_keys in by_kind.items():
            rows = await run_in_threadpool(self.store.get_many, kind, kind_keys)
            found.update({(kind, key): record for key, record in rows.items()})
        return [found.get(k) for k in keys]

    async def load(self, kind: str, key: str) -> Record | None:
        return await self._loader.load((kind, key))

    async def load_many(self, kind: str, keys: Sequence[str]) -> list[Record | None]:
        return await self._loader.load_many([(kind, key) for key in keys])

    async def page(
        self, kind: str, *, after: str | None, before: str | None, limit: int, from_end: bool
    ) -> list[Record]:
        rows = await run_in_threadpool(
            lambda: self.store.page(
                kind, after=after, before=before, limit=limit, from_end=from_end
            )
        )
        for record in rows:
            self._loader.prime((kind, record.key), record)
        return rows

    async def any_from(self, kind: str, key: str, *, forward: bool) -> bool:
        return await run_in_threadpool(lambda: self.store.any_from(kind, key, forward=forward))

    async def count(self, kind: str) -> int:
        return await run_in_threadpool(self.store.count, kind)
