"""What the PostgreSQL adapters share: a bounded connection pool, the threads that use it, the schema migration,
and the database's errors as domain errors (503 ``database unavailable`` when it cannot be reached)."""

from __future__ import annotations

import asyncio
import functools
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import psycopg
import psycopg.errors
from psycopg_pool import ConnectionPool, PoolTimeout

from computeadvisor.adapters import postgres_jobs_schema as pg
from computeadvisor.domain.errors import ComputeAdvisorError, StorageError, Unavailable
from computeadvisor.domain.values import iso_utc

T = TypeVar("T")
UNAVAILABLE = "database unavailable"


@functools.cache
def placeholders(statement: str) -> str:
    """The shared statements' ``?`` placeholders as psycopg's ``%s``."""
    return statement.replace("?", "%s")


class PgPool:
    """A pool of ``size`` autocommit connections and as many threads to run blocking psycopg calls on.

    Args:
        url: a libpq connection string or URL.
        schema: a schema to create (if missing) and use instead of ``public``.
        size: connections at most.
        timeout_s: how long a call waits for a connection (or to connect) before it is :class:`Unavailable`.
        what: how errors name the store (``scheduler store``, ``provider registry``).
    """

    def __init__(self, url: str, *, schema: str | None, size: int, timeout_s: float, what: str) -> None:
        self._url = url
        self._schema = schema
        self._size = size
        self._timeout_s = timeout_s
        self._what = what
        self._pool: ConnectionPool | None = None
        self._executor: ThreadPoolExecutor | None = None

    async def open(self) -> None:
        """Connect, and bring the schema to this version's (see ``postgres_jobs_schema``)."""
        if self._pool is not None:
            return
        self._executor = ThreadPoolExecutor(self._size, thread_name_prefix="computeadvisor-pg")
        connect_timeout = max(1, round(self._timeout_s))
        options = {"options": f"-c search_path={self._schema}"} if self._schema else {}
        self._pool = ConnectionPool(
            self._url, min_size=1, max_size=self._size, open=False, timeout=self._timeout_s,
            kwargs={"autocommit": True, "connect_timeout": connect_timeout, **options},
        )  # fmt: skip
        try:
            await self.run(self._start)
        except BaseException:
            await self.close()
            raise

    def _start(self) -> None:
        assert self._pool is not None
        if self._schema:  # before the pool's connections look for it
            with psycopg.connect(self._url, autocommit=True, connect_timeout=max(1, round(self._timeout_s))) as conn:
                conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self._schema}"')
        self._pool.open(wait=True, timeout=self._timeout_s)
        with self.connection() as conn, conn.transaction(), conn.cursor() as cursor:
            migrate(cursor)

    async def close(self) -> None:
        pool, executor = self._pool, self._executor
        self._pool = self._executor = None
        if pool is not None:
            await asyncio.to_thread(pool.close)
        if executor is not None:
            executor.shutdown(wait=False)

    def connection(self) -> Any:
        """A pooled connection (a context manager), on one of this pool's threads."""
        if self._pool is None:
            raise StorageError(f"{self._what} is not open")
        return self._pool.connection()

    async def run(self, work: Callable[[], T]) -> T:
        """``work`` on one of this pool's threads, with the database's errors as domain errors; a transaction that
        PostgreSQL rolled back to break a deadlock (or a serialization failure) is run again, up to ``RETRIES`` times
        (``work`` is one whole transaction, so running it again is safe)."""
        if self._executor is None:
            raise StorageError(f"{self._what} is not open")
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, _retried, work)
        except ComputeAdvisorError:
            raise
        except (PoolTimeout, psycopg.OperationalError) as exc:
            raise Unavailable(UNAVAILABLE) from exc
        except psycopg.Error as exc:
            raise StorageError(f"{self._what} failed: {type(exc).__name__}: {exc}".strip()) from exc


RETRIES = 5
ROLLED_BACK = (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure, psycopg.errors.TransactionRollback)
"""What PostgreSQL rolls back on its own to let others proceed: worth running the transaction again."""


def _retried(work: Callable[[], T]) -> T:
    for attempt in range(RETRIES):
        try:
            return work()
        except ROLLED_BACK:
            if attempt == RETRIES - 1:
                raise
            time.sleep(random.uniform(0, 0.005 * (attempt + 1)))  # on this worker thread: apart from the others
    raise AssertionError("unreachable")


def migrate(cursor: psycopg.Cursor[Any]) -> None:
    """Bring the schema to ``SCHEMA_VERSION`` in the caller's transaction, one replica at a time; refuse a newer one."""
    cursor.execute(pg.MIGRATION_LOCK)
    cursor.execute(pg.MIGRATIONS_TABLE)
    row = cursor.execute(pg.SCHEMA_VERSION_NOW).fetchone()
    version = int(row[0]) if row is not None else 0
    if version > pg.SCHEMA_VERSION:
        raise StorageError(f"the database has schema version {version}; this version knows up to {pg.SCHEMA_VERSION}")
    for target in range(version + 1, pg.SCHEMA_VERSION + 1):
        for statement in pg.MIGRATIONS[target]:
            cursor.execute(statement)
        cursor.execute(pg.RECORD_MIGRATION, (target, iso_utc(time.time())))
