"""The change feed: an ordered, durable outbox in the store that every worker follows.

Every write appends its entries in its own transaction (:func:`append`), so an entry exists
exactly when the write committed. Entries are numbered by ``seq`` and followers read them by
``seq``, never by time: rows commit out of timestamp order, and a catch-up by time skipped
them for good (of 200 concurrent filings two workers listed 285 and 287 of 292 rows).

On PostgreSQL a sequence hands out numbers when a row is inserted, not when it commits, so
a follower could read 12 before 11 commits and never look back. :func:`append` therefore
takes a transaction-level advisory lock first: appenders queue from their append to their
commit, and ``seq`` order is commit order. Call it as the last statement of the write, so the
lock is held for the commit only. SQLite has one writer at a time, which gives the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, text

from hub.store.tables import FeedRow

log = logging.getLogger(__name__)

# the fan-out channel that wakes followers in every worker after a write (never the record)
CHANNEL = "cityhub.feed"
# an arbitrary constant naming the feed's advisory lock on PostgreSQL ("feed" in ASCII)
_LOCK_ID = 0x66656564
# followers poll this often when no wake-up comes (a lost message, a worker on another fan-out)
POLL_S = 0.5

TOPICS = ("record", "reading", "case.step", "application.step", "request.step", "alarm", "policy")


@dataclass(frozen=True)
class FeedEntry:
    seq: int
    at: datetime
    topic: str
    kind: str | None
    key: str | None
    op: str
    payload: dict[str, Any] | None


def _lock(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})


def append(
    conn: Connection,
    topic: str,
    *,
    kind: str | None = None,
    key: str | None = None,
    op: str = "upsert",
    payload: dict[str, Any] | None = None,
) -> None:
    """Append one entry inside the caller's write transaction (``conn`` from ``begin()``)."""
    append_many(conn, [{"topic": topic, "kind": kind, "key": key, "op": op, "payload": payload}])


def append_many(conn: Connection, entries: Iterable[dict[str, Any]]) -> None:
    """Append entries (dicts with ``topic`` and optionally kind, key, op, payload) in order,
    inside the caller's write transaction."""
    now = datetime.now(UTC)
    rows = [
        {
            "at": now,
            "topic": e["topic"],
            "kind": e.get("kind"),
            "key": e.get("key"),
            "op": e.get("op") or "upsert",
            "payload": e.get("payload"),
        }
        for e in entries
    ]
    if not rows:
        return
    _lock(conn)
    conn.execute(insert(FeedRow), rows)


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def read_after(
    engine: Engine | Connection,
    seq: int,
    *,
    limit: int = 1000,
    topics: Iterable[str] | None = None,
    kinds: Iterable[str] | None = None,
) -> list[FeedEntry]:
    """Entries with a sequence above ``seq``, oldest first, at most ``limit``."""
    query = select(FeedRow).where(FeedRow.seq > seq)
    if topics is not None:
        query = query.where(FeedRow.topic.in_(list(topics)))
    if kinds is not None:
        query = query.where(FeedRow.kind.in_(list(kinds)))
    query = query.order_by(FeedRow.seq).limit(limit)
    if isinstance(engine, Connection):
        rows = list(engine.execute(query))
    else:
        with engine.connect() as conn:
            rows = list(conn.execute(query))
    return [
        FeedEntry(
            seq=int(r.seq),
            at=_utc(r.at),
            topic=r.topic,
            kind=r.kind,
            key=r.key,
            op=r.op,
            payload=r.payload,
        )
        for r in rows
    ]


def head(engine: Engine | Connection) -> int:
    """The sequence of the newest entry (0 on an empty feed)."""
    query = select(func.max(FeedRow.seq))
    if isinstance(engine, Connection):
        found = engine.execute(query).scalar()
    else:
        with engine.connect() as conn:
            found = conn.execute(query).scalar()
    return int(found or 0)


Handler = Callable[[list[FeedEntry]], Awaitable[None] | None]


@dataclass
class _Follower:
    topic: str
    handler: Handler
    position: int  # the last seq this handler has taken (or had no business with)
    failures: int = 0
    retry_at: float = 0.0


@dataclass
class FeedFollower:
    """Follows the feed in one worker and hands each topic's entries, in ``seq`` order, to the
    handlers registered with :meth:`on`.

    Each handler keeps its own position: a handler that raises is logged and given the same
    entries again (after a growing pause, at most 30 s), never skipped, while the others go on.
    Woken through the fan-out (``cityhub.feed``) after writes, polling every ``poll_s`` too.
    """

    engine: Engine
    start: int | None = None  # None: the head when the follower is built
    poll_s: float = POLL_S
    batch: int = 1000
    _followers: list[_Follower] = field(default_factory=list)
    _wake: asyncio.Event | None = None
    _taken: asyncio.Condition | None = None

    def __post_init__(self) -> None:
        if self.start is None:
            self.start = head(self.engine)

    @property
    def position(self) -> int:
        """The lowest position of any handler: every entry up to it has been handled."""
        if not self._followers:
            return self.start or 0
        return min(f.position for f in self._followers)

    def on(self, topic: str, handler: Handler, *, start: int | None = None) -> None:
        """Call ``handler`` with each batch of ``topic``'s entries after ``start`` (the
        follower's start when None; 0 for a read model that rebuilds from the whole feed)."""
        position = self.start if start is None else start
        self._followers.append(_Follower(topic, handler, position or 0))

    def wake(self) -> None:
        """Look at the feed now (a write in this worker, or a fan-out message)."""
        if self._wake is not None:
            self._wake.set()

    async def step(self) -> int:
        """Hand every handler what the feed holds past its position; returns how many
        entries were read (0: caught up or backing off)."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        due = [f for f in self._followers if f.retry_at <= now]
        if not due:
            return 0
        low = min(f.position for f in due)
        topics = sorted({f.topic for f in due})
        entries = await asyncio.to_thread(
            read_after, self.engine, low, limit=self.batch, topics=topics
        )
        if not entries:
            return 0
        last = entries[-1].seq
        for f in due:
            mine = [e for e in entries if e.seq > f.position and e.topic == f.topic]
            try:
                if mine:
                    result = f.handler(mine)
                    if inspect.isawaitable(result):
                        await result
            except Exception:
                f.failures += 1
                pause = min(30.0, 0.1 * 2 ** min(f.failures, 9))
                f.retry_at = loop.time() + pause
                log.exception(
                    "feed handler %s failed on %s entries from seq %s; retrying in %.1f s",
                    getattr(f.handler, "__qualname__", f.handler),
                    f.topic,
                    mine[0].seq if mine else "?",
                    pause,
                )
                continue
            f.failures, f.retry_at = 0, 0.0
            f.position = max(f.position, last)
        if self._taken is not None:
            async with self._taken:
                self._taken.notify_all()
        return len(entries)

    async def caught_up(self, seq: int | None = None, *, timeout: float = 10.0) -> None:
        """Wait until every handler has taken the feed up to ``seq`` (the head when None)."""
        wanted = await asyncio.to_thread(head, self.engine) if seq is None else seq
        self.wake()
        if self._taken is None:  # not running: do the work here
            while self.position < wanted:
                if not await self.step():
                    await asyncio.sleep(0.01)
            return
        async with asyncio.timeout(timeout), self._taken:
            await self._taken.wait_for(lambda: self.position >= wanted)

    async def run(self, wake_ups: Any = None) -> None:
        """Follow the feed until cancelled. ``wake_ups`` is a fan-out Broadcast: a message on
        ``cityhub.feed`` (from any worker) makes the follower look at once."""
        self._wake = asyncio.Event()
        self._taken = asyncio.Condition()
        listener = asyncio.create_task(self._listen(wake_ups)) if wake_ups is not None else None
        try:
            while True:
                try:
                    read = await self.step()
                except Exception as exc:  # the store is away: keep the position, try again
                    log.warning("feed: %s", str(exc).splitlines()[0][:200])
                    read = 0
                if read >= self.batch:
                    continue  # more waiting: no sleep between full batches
                if read:
                    continue
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_s)
        finally:
            if listener is not None:
                listener.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await listener
            self._wake = None
            self._taken = None

    async def _listen(self, wake_ups: Any) -> None:
        while True:
            try:
                async with wake_ups.subscribe(CHANNEL) as messages:
                    async for _ in messages:
                        self.wake()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a fan-out hiccup: polling carries on meanwhile
                log.warning("feed wake-ups: %s", str(exc).splitlines()[0][:200])
                await asyncio.sleep(1.0)


async def announce(broadcast: Any) -> None:
    """Wake every worker's follower (after a write has committed): a wake-up, not a record."""
    await broadcast.publish(CHANNEL, "")
