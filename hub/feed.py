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

Followers are woken between workers, never told what changed (they read the feed by ``seq``;
a lost wake-up costs at most the poll). On PostgreSQL the write itself sends ``NOTIFY
cityhub_feed`` in its transaction and each follower LISTENs on a connection of its own; on
SQLite, the fan-out (Redis between processes) carries the wake-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import weakref
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

import psycopg
from sqlalchemy import Connection, Engine, event, func, insert, select, text
from sqlalchemy.exc import SQLAlchemyError

from hub.store.tables import FeedRow

log = logging.getLogger(__name__)

# the fan-out channel that wakes followers in every worker after a write (never the record)
CHANNEL = "cityhub.feed"
# an arbitrary constant naming the feed's advisory lock on PostgreSQL ("feed" in ASCII)
_LOCK_ID = 0x66656564
# followers poll this often when no wake-up comes (a lost message, a worker on another fan-out)
POLL_S = 0.5
# PostgreSQL's wake-up channel. NOTIFY rather than Redis on PostgreSQL: the server sends it as
# part of the commit (never for a rolled-back write, once per transaction), so no wake-up is
# lost to a worker killed between its commit and its publish, none waits for a second hop
# after the commit, and two workers need no Redis to hear each other.
PG_CHANNEL = "cityhub_feed"
_NOTIFY = text(f"NOTIFY {PG_CHANNEL}")

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
    # the pool's check-in, after the commit, tells this process's listeners (see on_commit)
    conn.connection.info[_APPENDED] = True


_APPENDED = "cityhub.feed.appended"
_listeners: weakref.WeakKeyDictionary[Engine, list[Callable[[], None]]] = (
    weakref.WeakKeyDictionary()
)


def on_commit(engine: Engine, listener: Callable[[], None]) -> Callable[[], None]:
    """Call ``listener`` (in the writer's thread) after each transaction on ``engine`` that
    appended to the feed has ended: the moment to wake followers. Returns the undo."""
    if engine not in _listeners:
        _listeners[engine] = []
        event.listen(engine, "checkin", partial(_checked_in, weakref.ref(engine)))
    _listeners[engine].append(listener)
    return lambda: _listeners.get(engine, []).remove(listener)


def _checked_in(engine: weakref.ref[Engine], _dbapi: Any, record: Any) -> None:
    # a connection goes back to the pool after its commit (or rollback: a spare wake-up)
    if record is None or not record.info.pop(_APPENDED, False):
        return
    found = engine()
    for listener in list(_listeners.get(found, ())) if found is not None else ():
        try:
            listener()
        except Exception:  # a wake-up must never fail the write that has committed
            log.exception("feed commit listener failed")


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
    if conn.dialect.name == "postgresql":
        conn.execute(_NOTIFY)  # delivered by the server when this transaction commits


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
    Woken after writes by PostgreSQL's NOTIFY (``listen``) or, on SQLite, through the
    fan-out (``cityhub.feed``); polling every ``poll_s`` too.
    A plain handler runs in a worker thread (it may read the store); a coroutine function runs
    on the event loop.
    """

    engine: Engine
    start: int | None = None  # None: the head when the follower is built
    poll_s: float = POLL_S
    batch: int = 1000
    listen: bool = True  # on PostgreSQL, wake on NOTIFY (False: poll only, a baseline)
    _followers: list[_Follower] = field(default_factory=list)
    _wake: asyncio.Event | None = None
    _taken: asyncio.Condition | None = None

    def __post_init__(self) -> None:
        if self.start is None:
            try:
                self.start = head(self.engine)
            except SQLAlchemyError:  # a store not migrated yet: its feed starts empty
                self.start = 0

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

        def read() -> tuple[int, list[FeedEntry]]:
            # the head first: every entry up to it has committed (seq order is commit order),
            # so a short read means these topics hold nothing more up to it
            top = head(self.engine)
            return top, read_after(self.engine, low, limit=self.batch, topics=topics)

        top, entries = await asyncio.to_thread(read)
        if len(entries) >= self.batch:
            last = entries[-1].seq
        else:
            last = max(top, low, entries[-1].seq if entries else 0)
        for f in due:
            mine = [e for e in entries if e.seq > f.position and e.topic == f.topic]
            try:
                if mine:
                    if inspect.iscoroutinefunction(f.handler):
                        await f.handler(mine)
                    else:  # store work: off the loop
                        result = await asyncio.to_thread(f.handler, mine)
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
                    mine[0].seq,
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
        if not self._followers:
            return
        self.wake()
        if self._taken is None:  # not running: do the work here
            while self.position < wanted:
                if not await self.step():
                    await asyncio.sleep(0.01)
            return
        async with asyncio.timeout(timeout), self._taken:
            await self._taken.wait_for(lambda: self.position >= wanted)

    async def run(self, wake_ups: Any = None) -> None:
        """Follow the feed until cancelled. ``wake_ups`` is the fan-out (a Broadcast): after
        each of this process's writes to the feed commits, a message on ``cityhub.feed`` wakes
        the followers of every worker, this one included. On PostgreSQL (``listen``) the
        store's NOTIFY does that instead, and the fan-out is not used."""
        loop = asyncio.get_running_loop()
        notified = self.listen and self.engine.dialect.name == "postgresql"
        if notified:
            wake_ups = None
        self._wake = asyncio.Event()
        self._taken = asyncio.Condition()
        announcer: list[asyncio.Task[None]] = []  # the one task sending wake-ups, if any
        unannounced = asyncio.Event()  # a commit no message has been sent after yet

        async def announce_commits() -> None:
            try:
                while unannounced.is_set():
                    # cleared before sending: a commit during the send asks for one more,
                    # so every commit is followed by a message (not one message each)
                    unannounced.clear()
                    try:
                        await announce(wake_ups)
                    except Exception as exc:  # the fan-out is away: the others poll meanwhile
                        log.warning("feed wake-up not sent: %s", str(exc).splitlines()[0][:200])
            finally:
                announcer.clear()

        def committed() -> None:  # on the loop: a write of this process has committed
            self.wake()
            if wake_ups is None:
                return
            unannounced.set()
            if not announcer:
                announcer.append(loop.create_task(announce_commits()))

        def from_writer() -> None:  # in the writer's thread, after its commit
            with contextlib.suppress(RuntimeError):  # the loop has closed: nobody to wake
                loop.call_soon_threadsafe(committed)

        forget = on_commit(self.engine, from_writer)
        listener = (
            asyncio.create_task(self._listen_postgres())
            if notified
            else asyncio.create_task(self._listen(wake_ups))
            if wake_ups is not None
            else None
        )
        try:
            while True:
                self._wake.clear()  # before reading: a wake-up during the read is kept
                try:
                    read = await self.step()
                except Exception as exc:  # the store is away: keep the position, try again
                    log.warning("feed: %s", str(exc).splitlines()[0][:200])
                    read = 0
                if read:
                    continue  # more may be waiting
                # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation
                # that lands as the wake-up does, and the follower would never stop
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.poll_s):
                        await self._wake.wait()
        finally:
            forget()
            for task in list(announcer):
                task.cancel()
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

    async def _listen_postgres(self) -> None:
        args, options = self.engine.dialect.create_connect_args(self.engine.url)
        options.pop("context", None)  # SQLAlchemy's type adapters: not needed to listen
        while True:
            try:
                # a connection of its own, outside the pool: it waits for good
                conn = await psycopg.AsyncConnection.connect(*args, autocommit=True, **options)
                async with conn:
                    await conn.execute(f"LISTEN {PG_CHANNEL}")
                    self.wake()  # what committed while nobody listened
                    async for _ in conn.notifies():
                        self.wake()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the server is away: polling carries on meanwhile
                log.warning("feed NOTIFY: %s", str(exc).splitlines()[0][:200])
                await asyncio.sleep(1.0)


async def announce(broadcast: Any) -> None:
    """Wake every worker's follower (after a write has committed): a wake-up, not a record."""
    await broadcast.publish(CHANNEL, "")
