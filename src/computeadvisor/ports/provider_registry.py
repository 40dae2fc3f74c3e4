"""ProviderRegistry: the persisted registry of compute providers (§2)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from computeadvisor.domain.events import NewEvent
from computeadvisor.domain.providers import ProviderRecord, RegistryStats
from computeadvisor.ports.lifecycle import Lifecycle


class ProviderRegistry(Lifecycle, Protocol):
    """Stores provider records in insertion order, durably, shared with other processes on the same store."""

    logs_events: bool
    """True when the ``event`` given to :meth:`upsert` and :meth:`delete` is written to the event log in the change's
    own transaction (a registry in the event log's database, §14); False when it is ignored and the caller appends
    it to the log after the change (§11)."""

    async def records(self) -> list[ProviderRecord]:
        """All records, unmasked, in insertion order, including changes made by other processes.

        Returns:
            The records as stored.
        """
        ...

    async def get(self, provider_id: str) -> ProviderRecord | None:
        """The record with exactly this id.

        Returns:
            The stored record, or None when no record has this id.
        """
        ...

    async def upsert(self, record: ProviderRecord, event: NewEvent | None = None) -> ProviderRecord:
        """Insert or replace a record (a replaced record keeps its position); durable when it returns.

        A secret meta value given as exactly ``***`` keeps the stored value (§2.6).

        Returns:
            The record as now stored.

        Raises:
            StorageError: the change could not be saved; the registry is unchanged.
        """
        ...

    async def delete(self, provider_id: str, event: NewEvent | None = None) -> None:
        """Remove a record; durable when it returns. A deleted seed is remembered so it does not return.

        Raises:
            NotFound: no record has this id.
            StorageError: the change could not be saved; the registry is unchanged.
        """
        ...

    async def apply(
        self, upserts: Sequence[ProviderRecord], deletes: Sequence[str] = (), events: Sequence[NewEvent] = ()
    ) -> list[ProviderRecord]:
        """Delete ``deletes``, then insert or replace ``upserts`` in order, as one durable write: all or nothing.

        Deletes remember deleted seeds and upserts keep ``***`` secrets, as :meth:`delete` and :meth:`upsert` do;
        ``events`` are handled as their ``event`` (see ``logs_events``).

        Returns:
            The upserted records as now stored, in order.

        Raises:
            NotFound: an id in ``deletes`` is not stored (nothing is changed).
            StorageError: the change could not be saved; the registry is unchanged.
        """
        ...

    async def stats(self) -> RegistryStats:
        """Counts by kind, the storage path and whether the store exists (§2.1).

        Returns:
            The stats object.
        """
        ...

    async def add_seeds(self, seeds: Sequence[ProviderRecord]) -> list[str]:
        """Add each seed whose id is neither stored nor a remembered deleted seed (§2.7).

        Returns:
            The ids that were added.

        Raises:
            StorageError: the additions could not be saved.
        """
        ...
