"""The provider registry as a value: the changes of §2.3-§2.7 as pure functions on a document.

Both registry adapters apply these, so the in-memory and the JSON-file registry cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from computeadvisor.domain.errors import CorruptDocument, NotFound
from computeadvisor.domain.providers import ProviderRecord, keep_stored_secrets, record_from_stored


class RegistryDocument(msgspec.Struct, frozen=True, kw_only=True):
    """What the registry file holds: records in order, remembered deleted seeds, and keys we do not own."""

    providers: tuple[ProviderRecord, ...] = ()
    deleted_seeds: tuple[str, ...] = ()
    extra: dict[str, Any] = msgspec.field(default_factory=dict)

    def find(self, provider_id: str) -> ProviderRecord | None:
        """The record with exactly this id, or None."""
        return next((p for p in self.providers if p.id == provider_id), None)

    def to_builtins(self) -> dict[str, Any]:
        """The JSON object to store; ``deleted_seeds`` only when there are some."""
        out: dict[str, Any] = dict(self.extra)
        out["providers"] = [msgspec.structs.asdict(p) for p in self.providers]
        if self.deleted_seeds:
            out["deleted_seeds"] = list(self.deleted_seeds)
        else:
            out.pop("deleted_seeds", None)
        return out


def document_from_builtins(data: Any) -> RegistryDocument:
    """Load leniently: every entry with an id is kept; raises CorruptDocument for a non-registry shape."""
    if not isinstance(data, dict):
        raise CorruptDocument("the top level is not a JSON object")
    entries = data.get("providers", [])
    if not isinstance(entries, list):
        raise CorruptDocument("'providers' is not a list")
    records: dict[str, ProviderRecord] = {}
    for entry in entries:
        record = record_from_stored(entry)
        if record is not None:
            records.setdefault(record.id, record)
    deleted = data.get("deleted_seeds")
    deleted_ids = tuple(str(x) for x in deleted if isinstance(x, str)) if isinstance(deleted, list) else ()
    extra = {k: v for k, v in data.items() if k not in ("providers", "deleted_seeds")}
    return RegistryDocument(providers=tuple(records.values()), deleted_seeds=deleted_ids, extra=extra)


def upsert(doc: RegistryDocument, record: ProviderRecord) -> tuple[RegistryDocument, ProviderRecord]:
    """Insert or replace in place; a re-posted deleted seed is no longer remembered as deleted."""
    existing = doc.find(record.id)
    stored = keep_stored_secrets(record, existing)
    if existing is None:
        providers = (*doc.providers, stored)
    else:
        providers = tuple(stored if p.id == record.id else p for p in doc.providers)
    deleted = tuple(i for i in doc.deleted_seeds if i != record.id)
    return msgspec.structs.replace(doc, providers=providers, deleted_seeds=deleted), stored


def delete(doc: RegistryDocument, provider_id: str, *, is_seed: bool) -> RegistryDocument:
    """Remove a record; raises NotFound (``provider not found``) for an unknown id."""
    if doc.find(provider_id) is None:
        raise NotFound("provider not found")
    providers = tuple(p for p in doc.providers if p.id != provider_id)
    deleted = doc.deleted_seeds
    if is_seed and provider_id not in deleted:
        deleted = (*deleted, provider_id)
    return msgspec.structs.replace(doc, providers=providers, deleted_seeds=deleted)


def apply(
    doc: RegistryDocument, upserts: Sequence[ProviderRecord], deletes: Sequence[str], seed_ids: frozenset[str]
) -> tuple[RegistryDocument, list[ProviderRecord]]:
    """Delete ``deletes`` (each must be stored), then upsert ``upserts`` in order: one change, all or nothing."""
    for provider_id in deletes:
        doc = delete(doc, provider_id, is_seed=provider_id in seed_ids)
    stored: list[ProviderRecord] = []
    for record in upserts:
        doc, kept = upsert(doc, record)
        stored.append(kept)
    return doc, stored


def add_seeds(doc: RegistryDocument, seeds: Sequence[ProviderRecord]) -> tuple[RegistryDocument, list[str]]:
    """Append seeds that are neither stored nor remembered as deleted; returns (document, added ids)."""
    added: list[str] = []
    providers = list(doc.providers)
    for seed in seeds:
        if doc.find(seed.id) is None and seed.id not in doc.deleted_seeds and seed.id not in added:
            providers.append(seed)
            added.append(seed.id)
    if not added:
        return doc, added
    return msgspec.structs.replace(doc, providers=tuple(providers)), added
