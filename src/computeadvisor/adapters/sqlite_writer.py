"""Group commit on one SQLite writer connection: concurrent writes share one ``BEGIN IMMEDIATE ... COMMIT``.

A single asyncio task collects operations; a dedicated thread owns the writer connection (a plain :mod:`sqlite3`
connection, used by nothing else). Callers submit an operation and await its own result; the task takes every
operation waiting in the queue (up to ``max_batch``) and hands the whole batch to the thread in one call, which
runs ``BEGIN IMMEDIATE``, each operation inside its own ``SAVEPOINT``, and ``COMMIT``, so that one fsync
(``synchronous=FULL``) makes the batch durable and the event loop waits on one hand-off per batch, not one per
statement. Results are handed out, on the event loop, only after the ``COMMIT`` succeeded: no caller hears of a
write that could still be lost.

Operations are coroutines of a :class:`WriteTxn` whose statements complete at once: they run to their end on the
writer thread (``run_at_once``), so they must await nothing but the transaction's statements, block on nothing but
SQLite, and not touch the event loop; whatever they need from elsewhere (the clock, the price
book) is taken before submitting. An operation that raises is rolled back to its savepoint and gets its own
error; the others in the batch commit. An operation submitted with ``savepoint=False`` writes with at most one
statement, after any check that can raise: SQLite undoes a failed statement by itself, so it skips the savepoint
(claim, enqueue). If the transaction itself fails (``BEGIN``, ``COMMIT``, or an error after which SQLite rolled
back everything), every operation of the batch gets a :class:`StorageError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, TypeVar

from computeadvisor.adapters import sqlite_jobs_schema as sql
from computeadvisor.adapters._sql_jobs import run_at_once
from computeadvisor.adapters.storage_errors import storage_error
from computeadvisor.domain.errors import ComputeAdvisorError, StorageError

T = TypeVar("T")
log = logging.getLogger("computeadvisor.jobs")
STORE = "scheduler store"
"""How the job store names itself in error details and thread names."""


class WriteTxn:
    """What an operation gets: statements on the writer connection, inside the batch's transaction."""

    __slots__ = ("_conn", "seq")

    def __init__(self, conn: sqlite3.Connection, seq: int) -> None:
        self._conn = conn
        self.seq = seq

    def next_seq(self) -> int:
        """The next value of the store-wide sequence (§5.4); gaps are harmless."""
        self.seq += 1
        return self.seq

    async def fetch(self, statement: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Sequence[Any]]:
        """All rows of one statement (run to completion, so ``RETURNING`` writes are applied)."""
        return self._conn.execute(statement, params).fetchall()

    async def execute(self, statement: str, params: Sequence[Any] = ()) -> None:
        """Run one statement (a count of changed rows, where needed, comes from ``RETURNING`` and :meth:`fetch`)."""
        self._conn.execute(statement, params).fetchall()


Operation = Callable[[WriteTxn], Coroutine[Any, Any, T]]
_Outcome = tuple[Any, BaseException | None]  # (result, error) of one operation


class _Item(Generic[T]):
    __slots__ = ("future", "operation", "savepoint")

    def __init__(self, operation: Operation[T], future: asyncio.Future[T], savepoint: bool) -> None:
        self.operation = operation
        self.future = future
        self.savepoint = savepoint


class GroupCommitWriter:
    """The writer task of one connection and the thread that owns the connection.

    Made with :meth:`open`, which opens the connection on that thread.
    """

    def __init__(self, conn: sqlite3.Connection, thread: ThreadPoolExecutor, *, max_batch: int) -> None:
        self._conn = conn
        self._thread = thread
        self._max_batch = max_batch
        self._queue: asyncio.Queue[_Item[Any] | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.batches = 0  # committed transactions, for tests and benchmarks
        self.operations = 0  # operations in them

    @classmethod
    async def open(cls, connect: Callable[[], sqlite3.Connection], *, max_batch: int = 64) -> GroupCommitWriter:
        """Run ``connect`` (which opens and migrates the database) on a new writer thread, then start the task.

        ``connect`` must open the connection with ``isolation_level=None`` and ``check_same_thread=False``; the
        writer owns and closes it. Whatever ``connect`` raises is raised here, and the thread is let go.
        """
        thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scheduler-writer")
        try:
            conn = await asyncio.get_running_loop().run_in_executor(thread, connect)
        except BaseException:
            thread.shutdown(wait=False)
            raise
        writer = cls(conn, thread, max_batch=max_batch)
        writer._task = asyncio.get_running_loop().create_task(writer._run(), name="scheduler-writer")
        return writer

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
        if self._task is None:
            return
        self._queue.put_nowait(None)
        try:
            await self._task
        finally:
            self._task = None
            await asyncio.get_running_loop().run_in_executor(self._thread, _close, self._conn)
            self._thread.shutdown(wait=False)  # idle now: the thread ends on its own

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
        # Anything submitted after close() began gets an answer too.
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if item is not None and not item.future.done():
                item.future.set_exception(StorageError("scheduler store is closed"))

    async def _commit(self, batch: list[_Item[Any]]) -> None:
        live = [item for item in batch if not item.future.done()]  # a caller gone before its turn: not run
        if not live:
            return
        work = [(item.operation, item.savepoint) for item in live]
        done = asyncio.get_running_loop().run_in_executor(self._thread, _commit_batch, self._conn, work)
        try:
            await asyncio.wait((done,))  # never cancels ``done``: the thread finishes the batch regardless
        finally:
            if done.done():
                self._settle(live, done)
            else:  # this task was cancelled: the callers still hear the real outcome once the thread is through
                done.add_done_callback(lambda _: self._settle(live, done))
        failure = done.exception()
        if failure is not None and not isinstance(failure, Exception):
            raise failure

    def _settle(self, live: list[_Item[Any]], done: asyncio.Future[list[_Outcome]]) -> None:
        """Hand every caller of a finished batch its result or error (on the event loop)."""
        failure = done.exception()
        if failure is not None:  # nothing of the batch is durable: every caller hears so
            if isinstance(failure, Exception) and not isinstance(failure, sqlite3.Error):
                log.error("scheduler writer batch failed", exc_info=failure)
            error = storage_error(failure, STORE)
            for item in live:
                if not item.future.done():
                    item.future.set_exception(error)
            return
        outcomes = done.result()
        self.batches += 1
        self.operations += len(outcomes)
        for item, (result, op_error) in zip(live, outcomes, strict=True):
            if item.future.done():
                continue
            if op_error is None:
                item.future.set_result(result)
            else:
                item.future.set_exception(op_error)


def _commit_batch(conn: sqlite3.Connection, work: list[tuple[Operation[Any], bool]]) -> list[_Outcome]:
    """One transaction for the whole batch, on the writer thread; raises when nothing of it was committed."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        txn = WriteTxn(conn, int(conn.execute(sql.SELECT_COUNTER, ("seq",)).fetchone()[0]))
        outcomes = [_run_one(conn, txn, operation, savepoint) for operation, savepoint in work]
        conn.execute(sql.SET_COUNTER, (txn.seq, "seq"))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:  # SQLite may already have rolled the transaction back on its own
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise
    return outcomes


def _run_one(conn: sqlite3.Connection, txn: WriteTxn, operation: Operation[Any], savepoint: bool) -> _Outcome:
    """One operation inside its savepoint; a failure is rolled back to it and becomes that operation's error."""
    if savepoint:
        conn.execute("SAVEPOINT op")
    try:
        result = run_at_once(operation(txn))
    except Exception as exc:
        if not conn.in_transaction:  # SQLite rolled back the whole batch (disk full, I/O error...)
            raise
        if savepoint:
            conn.execute("ROLLBACK TO op")
            conn.execute("RELEASE op")
        error = storage_error(exc, STORE) if isinstance(exc, sqlite3.Error) else exc
        if not isinstance(error, ComputeAdvisorError):
            log.error("scheduler operation failed", exc_info=exc)
        return None, error
    if savepoint:
        conn.execute("RELEASE op")
    return result, None


def _close(conn: sqlite3.Connection) -> None:
    with contextlib.suppress(sqlite3.Error):
        conn.execute("PRAGMA optimize")  # keeps the planner's statistics fresh, cheaply
    with contextlib.suppress(sqlite3.Error):
        conn.close()
