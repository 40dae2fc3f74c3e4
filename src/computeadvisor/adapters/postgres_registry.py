"""ProviderRegistry on PostgreSQL (§14): one registry for every replica sharing the database.

The registry is one document (the same JSON a ``config/compute_providers.json`` holds) in one row with a version.
A read asks for the version and gets the document only when it changed since this replica last read it, so a
provider saved through one replica is priced by the next request on every replica, at the cost of one small query
per read. A change is a read-modify-write of the document under a transaction-long advisory lock (the domain's
registry functions decide, as for the file), writing a new version only when the document changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import msgspec

from computeadvisor.adapters import _sql_jobs as jobrows
from computeadvisor.adapters import postgres_jobs_schema as pg
from computeadvisor.adapters._document_registry import Change, DocumentRegistry
from computeadvisor.adapters._pg import Connection, PgPool
from computeadvisor.domain import registry as reg
from computeadvisor.domain.events import DEFAULT_EVENT_RETENTION, NewEvent

T = TypeVar("T")
READ = "SELECT version, CASE WHEN version = %s THEN NULL ELSE document END FROM provider_registry WHERE singleton"
LOCK = "SELECT pg_advisory_xact_lock(hashtext('computeadvisor.provider_registry'))"
SELECT = "SELECT version, document FROM provider_registry WHERE singleton"
WRITE = (
    "INSERT INTO provider_registry (singleton, version, document) VALUES (true, 1, %s) "
    "ON CONFLICT (singleton) DO UPDATE SET version = provider_registry.version + 1, document = excluded.document "
    "RETURNING version"
)


class PostgresRegistry(DocumentRegistry):
    """The provider registry in the database at ``url`` (``schema``: as ``PostgresJobStore``), which also holds the
    event log: a change's event is written in the change's transaction (§14)."""

    logs_events = True

    def __init__(
        self,
        url: str,
        *,
        schema: str | None = None,
        pool_size: int = 2,
        connect_timeout_s: float = 5.0,
        event_retention: int = DEFAULT_EVENT_RETENTION,
    ) -> None:
        super().__init__()
        self._db = PgPool(url, schema=schema, size=pool_size, timeout_s=connect_timeout_s, what="provider registry")
        self._event_retention = event_retention
        self._doc = reg.RegistryDocument()
        self._version = 0  # 0: no row (nothing ever saved)

    async def open(self) -> None:
        await self._db.open()

    async def close(self) -> None:
        await self._db.close()

    @staticmethod
    def _decode(text: str) -> reg.RegistryDocument:
        return reg.document_from_builtins(msgspec.json.decode(text))

    async def _fresh(self) -> reg.RegistryDocument:
        known = self._version

        async def work(conn: Connection) -> tuple[int, str | None]:
            row = await (await conn.execute(READ, (known,))).fetchone()
            return (0, None) if row is None else (int(row[0]), row[1])

        version, text = await self._db.run(work)
        if version != self._version:
            self._doc = reg.RegistryDocument() if text is None else self._decode(text)
            self._version = version
        return self._doc

    def _saved(self) -> bool:
        return self._version > 0

    async def _change(self, change: Change[T], events: Sequence[NewEvent] = ()) -> T:
        async def work(conn: Connection) -> tuple[reg.RegistryDocument, int, T]:
            async with conn.transaction():
                await conn.execute(LOCK)
                row = await (await conn.execute(SELECT)).fetchone()
                current, version = (reg.RegistryDocument(), 0) if row is None else (self._decode(row[1]), int(row[0]))
                updated, result = change(current)  # a domain error (NotFound) rolls everything back
                if updated is not current:
                    text = msgspec.json.encode(updated.to_builtins()).decode()
                    written = await (await conn.execute(WRITE, (text,))).fetchone()
                    assert written is not None
                    version = int(written[0])
                for event in events:  # with the log's retention, as the job store writes its events
                    await conn.execute(pg.LOG, pg.log_params(*jobrows.event_params(event), self._event_retention))
                return updated, version, result

        doc, version, result = await self._db.run(work)
        self._doc, self._version = doc, version
        return result
