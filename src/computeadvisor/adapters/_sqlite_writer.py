"""Group commit on one SQLite writer connection: concurrent writes share one ``BEGIN IMMEDIATE ... COMMIT``.

A single task owns the writer connection. Callers submit an operation and await its own result; the task takes
every operation waiting in the queue (up to ``max_batch``), runs each inside its own ``SAVEPOINT`` and commits them
together, so that one fsync (``synchronous=FULL``) makes the whole batch durable. Results are handed out only
after the ``COMMIT`` succeeded: no caller hears of a write that could still be lost.

An operation that raises is rolled back to its savepoint and gets its own error; the others in the batch commit.
An operation submitted with ``savepoint=False`` writes with at most one statement, after any check that can
raise: SQLite undoes a failed statement by itself, so it saves the two round trips of a savepoint (claim, enqueue).
If the transaction itself fails (``BEGIN``, ``COMMIT``, or an error that made SQLite roll back everything), every
operation of the batch gets a :class:`StorageError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, Generic, TypeVar

import aiosqlite

from computeadvisor.adapters import _sqlite_jobs_schema as sql
from computeadvisor.domain.errors import ComputeAdvisorError, StorageError

T = TypeVar("T")
log = logging.getLogger("computeadvisor.jobs")


def storage_error(exc: BaseException) -> StorageError:
    """The domain error for a failed SQLite call."""
    return StorageError(f"scheduler store failed: {exc}")


class WriteTxn:
    """What an operation gets: statements on the writer connection, inside the batch's transaction."""

    def __init__(self, conn: aiosqlite.Connection, seq: int) -> None:
        self._conn = conn
        self.seq = seq

    def next_seq(self) -> int:
        """The next value of the store-wide sequence (§5.4); gaps are harmless."""
        self.seq += 1
        return self.seq

    async def fetch(self, statement: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Sequence[Any]]:
        """All rows of one statement (run to completion, so ``RETURNING`` writes are applied)."""
        return list(await self._conn.execute_fetchall(statement, params))

    async def execute(self, statement: str, params: Sequence[Any] = ()) -> None:
        """Run one statement (a count of changed rows, where needed, comes from ``RETURNING`` and :meth:`fetch`)."""
        await self._conn.execute_fetchall(statement, params)


Operation = Callable[[WriteTxn], Awaitable[T]]


class _Item(Generic[T]):
    __slots__ = ("future", "operation", "savepoint")

    def __init__(self, operation: Operation[T], future: asyncio.Future[T], savepoint: bool) -> None:
        self.operation = operation
        self.future = future
        self.savepoint = savepoint


class GroupCommitWriter:
    """The single writer task of one connection (opened by the caller with ``isolation_level=None``).

    Args:
        conn: the writer connection, which the writer now owns and closes; nothing else may write through it.
        max_batch: the most operations per transaction, which bounds how long the first of them waits.
    """

    def __init__(self, conn: aiosqlite.Connection, *, max_batch: int = 64) -> None:
        self._conn = conn
        self._max_batch = max_batch
        self._queue: asyncio.Queue[_Item[Any] | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.batches = 0  # committed transactions, for tests and benchmarks
        self.operations = 0  # operations in them

    def start(self) -> None:
        """Start the writer task on the running event loop."""
        self._task = asyncio.get_running_loop().create_task(self._run(), name="scheduler-writer")

    async def submit(self, operation: Operation[T], *, savepoint: bool = True) -> T:
        """Run ``operation`` in the next batch; its result once that batch is committed.

        ``savepoint=False`` only for an operation whose writes are a single statement (see the module docstring).

        Raises:
            whatever the operation raised (domain errors as they are, SQLite errors as StorageError), or
            StorageError when the batch could not be committed or the writer is stopped.
        """
        if self._task is None or self._task.done():
            raise StorageError("scheduler store is not open")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Item(operation, future, savepoint))
        return await future

    async def close(self) -> None:
        """Commit everything already submitted, end the task, and close the connection; idempotent."""
        if self._task is not None:
            self._queue.put_nowait(None)
            await self._task
            self._task = None
            with contextlib.suppress(sqlite3.Error):
                await self._conn.execute("PRAGMA optimize")  # keeps the planner's statistics fresh, cheaply
            with contextlib.suppress(sqlite3.Error):
                await self._conn.close()

    async def _run(self) -> None:
        stopping = False
        while not stopping:
            first = await self._queue.get()
            if first is None:
                break
            batch: list[_Item[Any]] = [first]
            while len(batch) < self._max_batch and not self._queue.empty():
                item = self._queue.get_nowait()
                if item is None:
                    stopping = True
                    break
                batch.append(item)
            await self._commit(batch)
        # Anything submitted after stop() began gets an answer too.
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if item is not None:
                _fail_all([item], StorageError("scheduler store is closed"))

    async def _commit(self, batch: list[_Item[Any]]) -> None:
        conn = self._conn
        outcomes: list[tuple[_Item[Any], Any, BaseException | None]] = []
        try:
            await conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            _fail_all(batch, storage_error(exc))
            return
        try:
            rows = await conn.execute_fetchall(sql.SELECT_COUNTER, ("seq",))
            txn = WriteTxn(conn, int(next(iter(rows))[0]))
            for item in batch:
                if item.future.done():  # the caller went away before its turn: do not run it
                    continue
                outcomes.append(await _run_one(conn, txn, item))
            await conn.execute(sql.SET_COUNTER, (txn.seq, "seq"))
            await conn.execute("COMMIT")
        except BaseException as exc:
            # Nothing of the batch is durable: every caller hears so, and the connection leaves the transaction.
            await _rollback(conn)
            _fail_all(batch, storage_error(exc))
            if not isinstance(exc, Exception):
                raise
            if not isinstance(exc, sqlite3.Error):
                log.error("scheduler writer batch failed", exc_info=exc)
            return
        self.batches += 1
        self.operations += len(outcomes)
        for item, result, error in outcomes:
            if item.future.done():
                continue
            if error is None:
                item.future.set_result(result)
            else:
                item.future.set_exception(error)


async def _run_one(
    conn: aiosqlite.Connection, txn: WriteTxn, item: _Item[Any]
) -> tuple[_Item[Any], Any, BaseException | None]:
    """One operation inside its savepoint; a failure is rolled back to it and becomes that operation's error."""
    if item.savepoint:
        await conn.execute("SAVEPOINT op")
    try:
        result = await item.operation(txn)
    except Exception as exc:
        if item.savepoint:
            await conn.execute("ROLLBACK TO op")
            await conn.execute("RELEASE op")
        error = storage_error(exc) if isinstance(exc, sqlite3.Error) else exc
        if not isinstance(error, ComputeAdvisorError):
            log.error("scheduler operation failed", exc_info=exc)
        return item, None, error
    if item.savepoint:
        await conn.execute("RELEASE op")
    return item, result, None


async def _rollback(conn: aiosqlite.Connection) -> None:
    with contextlib.suppress(sqlite3.Error):  # SQLite may already have rolled the transaction back on its own
        await conn.execute("ROLLBACK")


def _fail_all(items: Iterable[_Item[Any]], error: BaseException) -> None:
    for item in items:
        if not item.future.done():
            item.future.set_exception(error)
