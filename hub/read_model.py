"""A read model of records: what an app derives from some kinds of records (a firm directory,
the service cases by firm, the grid and parks as shapes) is built from the store on first use
and from then on kept current by the change feed's "record" entries of those kinds — never a
copy refreshed its own way (a count check, a TTL, loaded once), which let two workers answer
differently after a write. Every worker follows the same feed, so once a worker's follower has
caught up it answers as the store does (a moment behind a write, in this worker too).

The device-state counterpart is :class:`hub.state.warm.ReadModel`."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Generic, TypeVar

from hub.feed import FeedEntry, FeedFollower
from schema.record import Record

if TYPE_CHECKING:
    from hub.store import RecordStore

Model = TypeVar("Model")
# records written since the model was built or last updated: (kind, key) -> the record as the
# store holds it now, None when it is gone
Changes = dict[tuple[str, str], Record | None]


class RecordModel(Generic[Model]):
    """One model per worker of the records of ``kinds``: ``build`` makes it from them (each
    kind in key order) on first use. Records written later go to ``update`` as the store
    holds them then; without an ``update`` the model is dropped and built again on next use
    (for models whose writes are rare and whose build is whole, such as a firm directory).

    ``update`` changes the model in place while requests read it: it must leave it readable
    at every moment (replace a value, never mutate one a reader may be walking)."""

    def __init__(
        self,
        store: RecordStore,
        feed: FeedFollower,
        kinds: Sequence[str],
        build: Callable[[Iterator[Record]], Model],
        update: Callable[[Model, Changes], None] | None = None,
    ) -> None:
        self.store = store
        self.kinds = tuple(kinds)
        self._build = build
        self._update = update
        self._model: Model | None = None
        # held by a build and by the feed's handler, so a write never falls between the two:
        # the handler waits for a build under way, and a build begun after it reads the write
        self._lock = threading.Lock()
        feed.on("record", self.take)

    def get(self) -> Model:
        model = self._model
        if model is None:
            with self._lock:
                model = self._model
                if model is None:
                    model = self._model = self._build(self._records())
        return model

    def _records(self) -> Iterator[Record]:
        for kind in self.kinds:
            yield from self.store.scan(kind)

    def take(self, entries: list[FeedEntry]) -> None:
        """The feed handler (in a worker thread): bring the model up to the store for the
        records these entries name."""
        refs = {(e.kind, e.key) for e in entries if e.kind in self.kinds and e.key is not None}
        if not refs:
            return
        with self._lock:
            if self._model is None:  # not built: its build will read them
                return
            if self._update is None:
                self._model = None
                return
            by_kind: dict[str, list[str]] = defaultdict(list)
            for kind, key in sorted(refs):
                by_kind[kind].append(key)
            changes: Changes = {}
            for kind, keys in by_kind.items():
                found = self.store.get_many(kind, keys)
                changes.update({(kind, key): found.get(key) for key in keys})
            self._update(self._model, changes)
