"""One contract suite for every ProviderRegistry adapter (design rule 6), plus what only a file can do."""

from __future__ import annotations

import stat
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import msgspec
import pytest

from computeadvisor.adapters.file_signatures import FileSignatures
from computeadvisor.adapters.json_registry import JsonFileRegistry
from computeadvisor.adapters.memory import MemoryRegistry
from computeadvisor.adapters.postgres_registry import PostgresRegistry
from computeadvisor.domain.errors import NotFound, StorageError
from computeadvisor.domain.providers import ProviderRecord
from computeadvisor.ports.provider_registry import ProviderRegistry
from tests import _postgres as _postgres_db

pytestmark = pytest.mark.anyio

A = ProviderRecord(id="a", kind="runpod", base="https://a", meta={"cost_per_minute": 0.1})
B = ProviderRecord(id="b", kind="Local")
C = ProviderRecord(id="c", meta={"api_key": "secret", "nested": {"token": "t"}})


def _postgres(tmp_path: Path) -> ProviderRegistry:
    return PostgresRegistry(_postgres_db.database_url(), schema=_postgres_db.schema_for(tmp_path))


REGISTRIES: dict[str, Callable[[Path], ProviderRegistry]] = {
    "memory": lambda _: MemoryRegistry(),
    "json": JsonFileRegistry,
}
if _postgres_db.reachable() is None:  # else tests/contract/test_job_store_postgres.py says why (and fails in CI)
    REGISTRIES["postgres"] = _postgres


@pytest.fixture(params=sorted(REGISTRIES))
async def registry(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ProviderRegistry]:
    adapter = REGISTRIES[request.param](tmp_path)
    await adapter.open()
    yield adapter
    await adapter.close()


async def test_starts_empty(registry: ProviderRegistry) -> None:
    assert await registry.records() == []
    stats = await registry.stats()
    assert (stats.total, stats.by_kind, stats.persisted) == (0, {}, False)
    assert stats.storage_path == "config/compute_providers.json"


async def test_upsert_keeps_insertion_order_and_position(registry: ProviderRegistry) -> None:
    for record in (A, B, C):
        assert await registry.upsert(record) == record
    replaced = ProviderRecord(id="a", kind="vast")
    await registry.upsert(replaced)
    assert [r.id for r in await registry.records()] == ["a", "b", "c"]
    assert await registry.get("a") == replaced
    assert await registry.get("A") is None
    stats = await registry.stats()
    assert (stats.total, stats.by_kind, stats.persisted) == (3, {"vast": 1, "local": 1, "custom": 1}, True)


async def test_masked_secret_keeps_the_stored_value(registry: ProviderRegistry) -> None:
    await registry.upsert(C)
    await registry.upsert(ProviderRecord(id="c", meta={"api_key": "***", "nested": {"token": "***"}, "x": 1}))
    assert (await registry.get("c")) == ProviderRecord(
        id="c", meta={"api_key": "secret", "nested": {"token": "t"}, "x": 1}
    )
    await registry.upsert(ProviderRecord(id="c", meta={"api_key": "new"}))
    assert (await registry.get("c")) == ProviderRecord(id="c", meta={"api_key": "new"})


async def test_delete(registry: ProviderRegistry) -> None:
    await registry.upsert(A)
    with pytest.raises(NotFound, match="provider not found"):
        await registry.delete("zz")
    await registry.delete("a")
    assert await registry.records() == []
    with pytest.raises(NotFound):
        await registry.delete("a")


async def test_seeds_never_overwrite_and_deleted_seeds_stay_deleted(registry: ProviderRegistry) -> None:
    await registry.upsert(A)
    seeds = [ProviderRecord(id="a", kind="other"), B]
    assert await registry.add_seeds(seeds) == ["b"]
    assert (await registry.get("a")) == A
    await registry.delete("b")
    assert await registry.add_seeds(seeds) == []
    await registry.upsert(B)  # posting the id again clears the memory
    await registry.delete("b")
    await registry.upsert(B)
    assert [r.id for r in await registry.records()] == ["a", "b"]


async def test_apply_deletes_then_upserts_in_one_change(registry: ProviderRegistry) -> None:
    for record in (A, B, C):
        await registry.upsert(record)
    await registry.add_seeds([B])  # b is a stored seed now: deleting it is remembered
    moved = ProviderRecord(id="c", meta={"api_key": "***", "priority": 0})
    stored = await registry.apply([moved, ProviderRecord(id="d")], deletes=["a", "b"])
    assert stored == [ProviderRecord(id="c", meta={"api_key": "secret", "priority": 0}), ProviderRecord(id="d")]
    assert [r.id for r in await registry.records()] == ["c", "d"]
    assert await registry.add_seeds([B]) == []
    with pytest.raises(NotFound):  # all or nothing: the upsert before the unknown delete is not kept either
        await registry.apply([ProviderRecord(id="e")], deletes=["c", "zz"])
    assert [r.id for r in await registry.records()] == ["c", "d"]


async def test_config_secrets_follow_the_wider_rule_in_round_trips(registry: ProviderRegistry) -> None:
    config = {"access_key": "AK", "ssh_key_path": "/k", "region": "eu", "service_account_json": "{}"}
    await registry.upsert(ProviderRecord(id="aws", meta={"config": config}))
    back = {"access_key": "***", "ssh_key_path": "***", "region": "us", "service_account_json": "***"}
    await registry.upsert(ProviderRecord(id="aws", meta={"config": back}))
    stored = await registry.get("aws")
    assert stored is not None and stored.meta["config"] == {**config, "region": "us"}


# -- the JSON file only ------------------------------------------------------------------------------------


async def test_file_survives_a_new_instance_and_has_mode_0600(tmp_path: Path) -> None:
    first = JsonFileRegistry(tmp_path)
    await first.open()
    await first.upsert(C)
    second = JsonFileRegistry(tmp_path)
    await second.open()
    assert await second.records() == [C]
    assert stat.S_IMODE(first.path.stat().st_mode) == 0o600
    on_disk = msgspec.json.decode(first.path.read_bytes())
    assert on_disk == {"providers": [msgspec.structs.asdict(C)]}
    assert first.path.read_text(encoding="utf-8").startswith('{\n  "providers"')


async def test_other_process_writes_are_seen_and_never_lost(signatures: FileSignatures, tmp_path: Path) -> None:
    one, two = JsonFileRegistry(tmp_path, signatures=signatures), JsonFileRegistry(tmp_path, signatures=signatures)
    await one.open()
    await two.open()
    await one.upsert(A)
    assert await two.get("a") == A
    await two.upsert(B)  # two re-reads under the lock, so A survives
    await one.upsert(C)
    assert [r.id for r in await one.records()] == ["a", "b", "c"]
    assert [r.id for r in await two.records()] == ["a", "b", "c"]


CORRUPT: list[bytes] = [b"{not json", b"\xff\xfe", b"[1, 2]", b'{"providers": {"a": 1}}', b'"x"']


@pytest.mark.parametrize("garbage", CORRUPT)
async def test_corrupt_file_is_moved_aside_never_overwritten(tmp_path: Path, garbage: bytes) -> None:
    path = tmp_path / "config" / "compute_providers.json"
    path.parent.mkdir()
    path.write_bytes(garbage)
    registry = JsonFileRegistry(tmp_path)
    await registry.open()
    assert await registry.records() == []
    aside = [p for p in path.parent.iterdir() if p.name.startswith("compute_providers.json.corrupt-")]
    assert len(aside) == 1
    assert aside[0].read_bytes() == garbage
    await registry.upsert(A)
    assert aside[0].read_bytes() == garbage
    assert await JsonFileRegistry(tmp_path).get("a") == A


async def test_lenient_load_keeps_every_entry_with_an_id(tmp_path: Path) -> None:
    path = tmp_path / "config" / "compute_providers.json"
    path.parent.mkdir()
    entries = [{"id": "ok"}, {"id": "bad id!", "kind": 3, "meta": "x"}, {"kind": "noid"}, {"id": ""}, 7, {"id": 5}]
    path.write_text(msgspec.json.encode({"providers": entries, "other": {"keep": True}}).decode())
    registry = JsonFileRegistry(tmp_path)
    await registry.open()
    assert [r.id for r in await registry.records()] == ["ok", "bad id!", "5"]
    await registry.upsert(A)
    assert msgspec.json.decode(path.read_bytes())["other"] == {"keep": True}


async def test_object_without_providers_is_simply_empty(tmp_path: Path) -> None:
    path = tmp_path / "config" / "compute_providers.json"
    path.parent.mkdir()
    path.write_text("{}")
    registry = JsonFileRegistry(tmp_path)
    await registry.open()
    assert await registry.records() == []
    assert list(path.parent.glob("*.corrupt-*")) == []


async def test_failed_write_is_a_storage_error_and_changes_nothing(tmp_path: Path) -> None:
    registry = JsonFileRegistry(tmp_path)
    await registry.open()
    await registry.upsert(A)
    registry.path.unlink()
    registry.path.mkdir()  # the store's name is taken by a directory: nothing can be written there
    with pytest.raises(StorageError, match="could not be"):
        await registry.upsert(B)
    assert [r.id for r in await registry.records()] == ["a"]
