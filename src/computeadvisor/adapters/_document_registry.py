"""What the registries that keep one document (the JSON file, the PostgreSQL row) share: reads answer from the
current document, every change is one of the domain's registry functions applied to it, and deleted seeds are
remembered."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Sequence
from typing import TypeVar

from computeadvisor.domain import registry as reg
from computeadvisor.domain.events import NewEvent
from computeadvisor.domain.providers import ProviderRecord, RegistryStats, registry_stats
from computeadvisor.ports.provider_registry import ProviderRegistry

T = TypeVar("T")
Change = Callable[[reg.RegistryDocument], tuple[reg.RegistryDocument, T]]


def _one(event: NewEvent | None) -> tuple[NewEvent, ...]:
    return () if event is None else (event,)


class DocumentRegistry(ProviderRegistry):
    """A registry whose store supplies :meth:`_change`: apply ``change`` to the current document, durably."""

    def __init__(self) -> None:
        self._seed_ids: set[str] = set()

    @abstractmethod
    async def _fresh(self) -> reg.RegistryDocument:
        """The document as now stored (another process's changes included)."""

    @abstractmethod
    def _saved(self) -> bool:
        """Whether the store holds a document at all (``stats.persisted``), as of the last read or change."""

    async def records(self) -> list[ProviderRecord]:
        return list((await self._fresh()).providers)

    async def get(self, provider_id: str) -> ProviderRecord | None:
        return (await self._fresh()).find(provider_id)

    async def stats(self) -> RegistryStats:
        doc = await self._fresh()
        return registry_stats(doc.providers, persisted=self._saved())

    @abstractmethod
    async def _change(self, change: Change[T], events: Sequence[NewEvent] = ()) -> T:
        """Apply ``change`` to the stored document and save the result (and ``events``, where ``logs_events``)."""

    async def upsert(self, record: ProviderRecord, event: NewEvent | None = None) -> ProviderRecord:
        return await self._change(lambda doc: reg.upsert(doc, record), _one(event))

    async def delete(self, provider_id: str, event: NewEvent | None = None) -> None:
        is_seed = provider_id in self._seed_ids
        await self._change(lambda doc: (reg.delete(doc, provider_id, is_seed=is_seed), None), _one(event))

    async def apply(
        self, upserts: Sequence[ProviderRecord], deletes: Sequence[str] = (), events: Sequence[NewEvent] = ()
    ) -> list[ProviderRecord]:
        seeds = frozenset(self._seed_ids)
        return await self._change(lambda doc: reg.apply(doc, upserts, deletes, seeds), events)

    async def add_seeds(self, seeds: Sequence[ProviderRecord]) -> list[str]:
        self._seed_ids.update(seed.id for seed in seeds)
        return await self._change(lambda doc: reg.add_seeds(doc, seeds))
