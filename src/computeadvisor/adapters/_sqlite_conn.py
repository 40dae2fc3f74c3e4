"""Connections of the scheduler database: opening with the durability pragmas, migrating, and the reader."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import aiosqlite

from computeadvisor.adapters import _sqlite_jobs_schema as sql
from computeadvisor.adapters._sqlite_writer import storage_error
from computeadvisor.domain.errors import StorageError
from computeadvisor.domain.jobs import iso_utc


async def connect(path: Path, *, writer: bool, busy_ms: int) -> aiosqlite.Connection:
    """A connection in autocommit mode (every transaction is exactly the BEGIN ... COMMIT we issue).

    The writer sets WAL and ``synchronous=FULL`` (§5.9); the reader is ``query_only``.
    """
    conn = await aiosqlite.connect(path, isolation_level=None)
    try:
        await conn.execute(f"PRAGMA busy_timeout = {int(busy_ms)}")
        await conn.execute("PRAGMA foreign_keys = ON")
        if writer:
            await conn.execute("PRAGMA journal_mode = WAL")
            await conn.execute("PRAGMA synchronous = FULL")
        else:
            await conn.execute("PRAGMA query_only = ON")
    except BaseException:
        await conn.close()
        raise
    return conn


async def migrate(conn: aiosqlite.Connection, path: Path) -> None:
    """Bring the schema to ``SCHEMA_VERSION`` in one transaction, recording each step in ``schema_migrations``.

    Raises:
        StorageError: the database was written by a newer schema version.
    """
    await conn.execute("BEGIN IMMEDIATE")
    try:
        await conn.execute(sql.MIGRATIONS_TABLE)
        rows = await conn.execute_fetchall("SELECT coalesce(max(version), 0) FROM schema_migrations")
        version = int(next(iter(rows))[0])
        if version > sql.SCHEMA_VERSION:
            raise StorageError(f"{path} has schema version {version}; this version knows up to {sql.SCHEMA_VERSION}")
        for target in range(version + 1, sql.SCHEMA_VERSION + 1):
            for statement in sql.MIGRATIONS[target]:
                await conn.execute(statement)
            await conn.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)", (target, iso_utc(time.time()))
            )
        await conn.execute("COMMIT")
    except BaseException:
        await conn.execute("ROLLBACK")
        raise


async def open_connections(path: Path, *, busy_ms: int) -> tuple[aiosqlite.Connection, aiosqlite.Connection]:
    """(writer, reader) on a migrated database, creating its directory; StorageError when that fails."""
    writer = reader = None
    try:
        await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        writer = await connect(path, writer=True, busy_ms=busy_ms)
        await migrate(writer, path)
        reader = await connect(path, writer=False, busy_ms=busy_ms)
    except BaseException as exc:
        for conn in (reader, writer):
            if conn is not None:
                with contextlib.suppress(sqlite3.Error):
                    await conn.close()
        if isinstance(exc, OSError | sqlite3.Error):
            raise storage_error(exc) from exc
        raise
    return writer, reader


class Reader:
    """The reader connection, one user at a time, so that a snapshot never lets another read into it.

    Must be made on the event loop that will use it.
    """

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def _using(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self._lock:
            try:
                yield self._conn
            except sqlite3.Error as exc:
                raise storage_error(exc) from exc

    async def read(self, statement: str, params: Sequence[Any] = ()) -> list[Sequence[Any]]:
        """All rows of one statement, from the latest committed state."""
        async with self._using() as conn:
            return list(await conn.execute_fetchall(statement, params))

    @contextlib.asynccontextmanager
    async def snapshot(self) -> AsyncIterator[aiosqlite.Connection]:
        """The connection inside one read transaction: every statement sees the same committed state."""
        async with self._using() as conn:
            await conn.execute("BEGIN")
            try:
                yield conn
            finally:
                await conn.execute("COMMIT")

    async def close(self) -> None:
        """Close the connection (waiting for a read in progress)."""
        async with self._lock:
            with contextlib.suppress(sqlite3.Error):
                await self._conn.close()
