"""What the PostgreSQL adapters share: a bounded pool of asynchronous connections, the schema migration, and the
database's errors as domain errors (503 ``database unavailable`` when it cannot be reached)."""

from __future__ import annotations

import asyncio
import functools
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import psycopg
import psycopg.errors
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from computeadvisor.adapters import postgres_jobs_schema as pg
from computeadvisor.domain.errors import ComputeAdvisorError, StorageError, Unavailable
from computeadvisor.domain.values import iso_utc

T = TypeVar("T")
UNAVAILABLE = "database unavailable"
Connection = psycopg.AsyncConnection[Any]


@functools.cache
def placeholders(statement: str) -> str:
    """The shared statements' ``?`` placeholders as psycopg's ``%s``."""
    return statement.replace("?", "%s")


class PgPool:
    """A pool of at most ``size`` autocommit connections, used from the event loop (psycopg's asynchronous API: no
    thread per operation, which measured three times the CPU of a round trip on the loop; see docs/performance.md).

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
        self._pool: AsyncConnectionPool[Connection] | None = None

    def _connect_kwargs(self) -> dict[str, Any]:
        options = {"options": f"-c search_path={self._schema}"} if self._schema else {}
        return {"autocommit": True, "connect_timeout": max(1, round(self._timeout_s)), **options}

    async def open(self) -> None:
        """Connect, and bring the schema to this version's (see ``postgres_jobs_schema``)."""
        if self._pool is not None:
            return
        pool: AsyncConnectionPool[Connection] = AsyncConnectionPool(
            self._url, min_size=1, max_size=self._size, open=False, timeout=self._timeout_s,
            kwargs=self._connect_kwargs(),
        )  # fmt: skip
        try:
            if self._schema:  # before the pool's connections look for it
                kwargs = {**self._connect_kwargs(), "options": ""}
                async with await psycopg.AsyncConnection.connect(self._url, **kwargs) as conn:
                    await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self._schema}"')
            await pool.open(wait=True, timeout=self._timeout_s)
            self._pool = pool
            await self.run(_migrate)
        except BaseException as exc:
            self._pool = None
            await pool.close()
            if isinstance(exc, (PoolTimeout, psycopg.OperationalError)):
                raise Unavailable(UNAVAILABLE) from exc
            raise

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    async def run(self, work: Callable[[Connection], Awaitable[T]]) -> T:
        """``work`` on a pooled connection, with the database's errors as domain errors; ``work`` that PostgreSQL
        rolled back to break a deadlock (or a serialization failure) is run again, up to ``RETRIES`` times (``work``
        is one statement or one whole transaction, so running it again is safe)."""
        pool = self._pool
        if pool is None:
            raise StorageError(f"{self._what} is not open")
        try:
            for attempt in range(RETRIES):
                try:
                    async with pool.connection() as conn:
                        return await work(conn)
                except ROLLED_BACK:
                    if attempt == RETRIES - 1:
                        raise
                await asyncio.sleep(random.uniform(0, 0.005 * (attempt + 1)))  # apart from the others
            raise AssertionError("unreachable")
        except ComputeAdvisorError:
            raise
        except (PoolTimeout, psycopg.OperationalError) as exc:
            raise Unavailable(UNAVAILABLE) from exc
        except psycopg.Error as exc:
            raise StorageError(f"{self._what} failed: {type(exc).__name__}: {exc}".strip()) from exc


RETRIES = 5
ROLLED_BACK = (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure, psycopg.errors.TransactionRollback)
"""What PostgreSQL rolls back on its own to let others proceed: worth running the transaction again."""


async def _migrate(conn: Connection) -> None:
    """Bring the schema to ``SCHEMA_VERSION`` in one transaction, one replica at a time; refuse a newer one."""
    async with conn.transaction(), conn.cursor() as cursor:
        await cursor.execute(pg.MIGRATION_LOCK)
        await cursor.execute(pg.MIGRATIONS_TABLE)
        row = await (await cursor.execute(pg.SCHEMA_VERSION_NOW)).fetchone()
        version = int(row[0]) if row is not None else 0
        if version > pg.SCHEMA_VERSION:
            raise StorageError(
                f"the database has schema version {version}; this version knows up to {pg.SCHEMA_VERSION}"
            )
        for target in range(version + 1, pg.SCHEMA_VERSION + 1):
            for statement in pg.MIGRATIONS[target]:
                await cursor.execute(statement)
            await cursor.execute(pg.RECORD_MIGRATION, (target, iso_utc(time.time())))
