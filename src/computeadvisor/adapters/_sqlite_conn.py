"""The one way this project talks to SQLite: plain :mod:`sqlite3` connections, each owned by its own thread.

The event loop waits on one hand-off per group of statements rather than one per statement (aiosqlite, used
before, took one per statement). :class:`ConnectionThread` is a connection and its thread; :class:`Reader` adds
batching of single reads; the scheduler's writer connection is opened and migrated on the writer's thread
(:meth:`GroupCommitWriter.open`). Also here: opening with the durability pragmas and migrating the scheduler.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import sqlite3
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Self, TypeVar

from computeadvisor.adapters import sqlite_jobs_schema as sql
from computeadvisor.adapters.sqlite_writer import STORE, GroupCommitWriter
from computeadvisor.adapters.storage_errors import storage_error
from computeadvisor.domain.errors import StorageError
from computeadvisor.domain.values import iso_utc

T = TypeVar("T")
Rows = list[Sequence[Any]]
Statement = tuple[str, Sequence[Any]]


def connect(path: Path, busy_ms: int, pragmas: Sequence[str]) -> sqlite3.Connection:
    """A connection in autocommit mode (every transaction is exactly the BEGIN ... COMMIT we issue). Blocking."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        for pragma in (f"PRAGMA busy_timeout = {int(busy_ms)}", "PRAGMA foreign_keys = ON", *pragmas):
            conn.execute(pragma).fetchall()
    except BaseException:
        conn.close()
        raise
    return conn


def connect_writer(path: Path, *, busy_ms: int) -> sqlite3.Connection:
    """The writer connection, WAL and ``synchronous=FULL`` (§5.9), migrated. Blocking: for the writer thread."""
    conn = connect(path, busy_ms, ("PRAGMA journal_mode = WAL", "PRAGMA synchronous = FULL"))
    try:
        migrate(conn, path)
    except BaseException:
        conn.close()
        raise
    return conn


def migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Bring the schema to ``SCHEMA_VERSION`` in one transaction, recording each step in ``schema_migrations``.

    Raises:
        StorageError: the database was written by a newer schema version.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(sql.MIGRATIONS_TABLE)
        version = int(conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()[0])
        if version > sql.SCHEMA_VERSION:
            raise StorageError(f"{path} has schema version {version}; this version knows up to {sql.SCHEMA_VERSION}")
        for target in range(version + 1, sql.SCHEMA_VERSION + 1):
            for step in sql.MIGRATIONS[target]:
                if isinstance(step, str):
                    conn.execute(step)
                else:
                    step(conn)
            conn.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)", (target, iso_utc(time.time()))
            )
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


async def open_connections(path: Path, *, busy_ms: int, max_batch: int) -> tuple[GroupCommitWriter, Reader]:
    """The started writer and the reader of a migrated database, creating its directory; StorageError on failure.

    Must be called on the event loop that will use them.
    """
    writer: GroupCommitWriter | None = None
    try:
        await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        connect = functools.partial(connect_writer, path, busy_ms=busy_ms)
        writer = await GroupCommitWriter.open(connect, max_batch=max_batch)
        reader = await Reader.open_reader(path, busy_ms=busy_ms)
    except BaseException as exc:
        if writer is not None:
            with contextlib.suppress(Exception):
                await writer.close()
        if isinstance(exc, OSError | sqlite3.Error):
            raise storage_error(exc, STORE) from exc
        raise
    return writer, reader


class ConnectionThread:
    """One connection owned by one thread: every :meth:`call` runs whole on that thread, one after another.

    Made with :meth:`open`, on the event loop that will use it. ``what`` names the store in error details.
    """

    def __init__(self, conn: sqlite3.Connection, thread: ThreadPoolExecutor, what: str) -> None:
        self._conn = conn
        self._thread = thread
        self._what = what
        self._open = True

    @classmethod
    async def open(cls, opener: Callable[[], sqlite3.Connection], what: str) -> Self:
        """Run ``opener`` on a new thread and own the connection it returns (raises what ``opener`` raises)."""
        thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=what.replace(" ", "-"))
        try:
            conn = await asyncio.get_running_loop().run_in_executor(thread, opener)
        except BaseException:
            thread.shutdown(wait=False)
            raise
        return cls(conn, thread, what)

    def error(self, exc: BaseException) -> StorageError:
        """The domain error for a failed SQLite or file call of this store (``StorageFull`` for a full disk)."""
        return storage_error(exc, self._what)

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(connection, *args)`` on the thread; SQLite errors become StorageError, others pass through."""
        if not self._open:
            raise StorageError(f"{self._what} is not open")
        try:
            return await asyncio.get_running_loop().run_in_executor(self._thread, fn, self._conn, *args)
        except sqlite3.Error as exc:
            raise self.error(exc) from exc

    async def trace(self, callback: Callable[[str], object] | None) -> None:
        """Call ``callback`` with every statement this connection runs from now on (None: stop); diagnostics."""
        await self.call(lambda conn: conn.set_trace_callback(callback))

    async def close(self) -> None:
        """Close the connection after the calls already made; idempotent."""
        if not self._open:
            return
        self._open = False
        await self._closing()
        with contextlib.suppress(sqlite3.Error):
            await asyncio.get_running_loop().run_in_executor(self._thread, self._conn.close)
        self._thread.shutdown(wait=False)  # idle now: the thread ends on its own

    async def _closing(self) -> None:
        """What a subclass finishes before the connection closes."""


class Reader(ConnectionThread):
    """The scheduler's ``query_only`` reader; in WAL mode it never waits for the writer.

    Every call runs whole on the thread, so a snapshot never lets another read into it. Single reads made in the
    same turn of the event loop go to the thread together, in one hand-off, and their callers resume together.
    """

    def __init__(self, conn: sqlite3.Connection, thread: ThreadPoolExecutor, what: str) -> None:
        super().__init__(conn, thread, what)
        self._pending: list[tuple[Statement, asyncio.Future[Rows]]] = []

    @classmethod
    async def open_reader(cls, path: Path, *, busy_ms: int) -> Reader:
        """Open the reader connection on a new thread (raises what opening raises)."""
        return await cls.open(functools.partial(connect, path, busy_ms, ("PRAGMA query_only = ON",)), STORE)

    async def read(self, statement: str, params: Sequence[Any] = ()) -> Rows:
        """All rows of one statement, from the latest committed state."""
        if not self._open:
            raise StorageError(f"{self._what} is not open")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Rows] = loop.create_future()
        if not self._pending:
            loop.call_soon(self._flush)  # after every read this turn of the loop makes
        self._pending.append(((statement, params), future))
        return await future

    async def snapshot(self, statements: Sequence[Statement]) -> list[Rows]:
        """The rows of each statement, all read in one read transaction (the same committed state)."""
        return await self.call(_read_snapshot, statements)

    async def _closing(self) -> None:
        self._flush()  # the reads already made are answered before the connection closes

    def _flush(self) -> None:
        live = [(statement, future) for statement, future in self._pending if not future.done()]
        self._pending = []
        if not live:
            return
        done = asyncio.get_running_loop().run_in_executor(
            self._thread, _read_each, self._conn, [statement for statement, _ in live]
        )
        done.add_done_callback(functools.partial(_answer, [future for _, future in live]))


def _read_each(conn: sqlite3.Connection, statements: list[Statement]) -> list[Rows | BaseException]:
    """Each statement on its own (a failure is that statement's answer); blocking: for the reader thread."""
    answers: list[Rows | BaseException] = []
    for statement, params in statements:
        try:
            answers.append(conn.execute(statement, params).fetchall())
        except Exception as exc:
            answers.append(storage_error(exc, STORE) if isinstance(exc, sqlite3.Error) else exc)
    return answers


def _read_snapshot(conn: sqlite3.Connection, statements: Sequence[Statement]) -> list[Rows]:
    conn.execute("BEGIN")
    try:
        return [conn.execute(statement, params).fetchall() for statement, params in statements]
    finally:
        conn.execute("COMMIT")


def _answer(futures: list[asyncio.Future[Rows]], done: asyncio.Future[list[Rows | BaseException]]) -> None:
    """Hand each reader its rows or its error, on the event loop."""
    try:
        answers = done.result()
    except BaseException as exc:  # the hand-off itself failed: every reader of it hears so
        answers = [storage_error(exc, STORE)] * len(futures)
    for future, answer in zip(futures, answers, strict=True):
        if future.done():
            continue
        if isinstance(answer, BaseException):
            future.set_exception(answer)
        else:
            future.set_result(answer)
