"""One contract suite for every SettingsStore adapter (design rule 6), plus what only the shared SQLite/JSON can do."""

from __future__ import annotations

import json
import logging
import sqlite3
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import msgspec
import pytest

from computeadvisor.adapters.file_signatures import FileSignatures
from computeadvisor.adapters.memory import MemorySettings
from computeadvisor.adapters.sqlite_settings import SqliteSettings
from computeadvisor.domain.errors import InvalidInput, StorageError
from computeadvisor.domain.policy import GpuPolicy
from computeadvisor.ports.settings_store import SettingsStore

pytestmark = pytest.mark.anyio

MANUAL = GpuPolicy(mode="manual", preferred_id="gpu:1", manual_device="gpu:0")
STICKY = GpuPolicy(mode="sticky", sticky_device="gpu:2")


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SettingsStore]:
    adapter: SettingsStore = MemorySettings() if request.param == "memory" else SqliteSettings(tmp_path)
    await adapter.open()
    yield adapter
    await adapter.close()


async def test_starts_with_the_defaults(store: SettingsStore) -> None:
    assert await store.get_policy() == GpuPolicy()


@pytest.mark.parametrize("policy", [MANUAL, STICKY, GpuPolicy()])
async def test_a_policy_written_is_read_back_identical(store: SettingsStore, policy: GpuPolicy) -> None:
    await store.put_policy(policy)
    assert await store.get_policy() == policy
    await store.put_policy(GpuPolicy(mode="auto"))
    assert await store.get_policy() == GpuPolicy()


async def test_update_applies_the_change_to_the_current_policy(store: SettingsStore) -> None:
    await store.put_policy(MANUAL)
    updated = await store.update_policy(lambda cur: msgspec.structs.replace(cur, preferred_id=None))
    assert updated == msgspec.structs.replace(MANUAL, preferred_id=None)
    assert await store.get_policy() == updated


async def test_update_returning_the_same_object_writes_nothing(store: SettingsStore) -> None:
    await store.put_policy(MANUAL)
    assert await store.update_policy(lambda cur: cur) == MANUAL
    assert await store.get_policy() == MANUAL


async def test_a_failing_change_leaves_the_policy_unchanged(store: SettingsStore) -> None:
    await store.put_policy(MANUAL)

    def reject(current: GpuPolicy) -> GpuPolicy:
        raise InvalidInput("mode is required")

    with pytest.raises(InvalidInput):
        await store.update_policy(reject)
    assert await store.get_policy() == MANUAL


# -- SQLite + the JSON mirror only -------------------------------------------------------------------------


def row(root: Path, key: str = "compute") -> Any:
    with sqlite3.connect(root / "data" / "comfyvn.db") as conn:
        found = conn.execute("SELECT value_json FROM settings WHERE key = ?", (key,)).fetchone()
    return None if found is None else json.loads(found[0])


def write_row(root: Path, key: str, value: Any) -> None:
    (root / "data").mkdir(exist_ok=True)
    with sqlite3.connect(root / "data" / "comfyvn.db") as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value_json TEXT)")
        text = value if isinstance(value, str) or value is None else json.dumps(value)
        conn.execute("INSERT OR REPLACE INTO settings (key, value_json) VALUES (?, ?)", (key, text))


def mirror(root: Path) -> Path:
    return root / "settings" / "config.json"


def write_mirror(root: Path, data: Any) -> Path:
    path = mirror(root)
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else json.dumps(data).encode())
    return path


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[SqliteSettings]:
    store = SqliteSettings(tmp_path)
    await store.open()
    yield store
    await store.close()


async def test_both_copies_are_written_and_everything_else_is_kept(tmp_path: Path) -> None:
    write_row(tmp_path, "compute", {"other": [1, 2], "gpu_policy": {"mode": "auto"}})
    write_row(tmp_path, "ui", {"theme": "dark"})
    write_mirror(tmp_path, {"ui": {"lang": "日本語"}, "compute": {"x": 1}, "z": None})
    store = SqliteSettings(tmp_path)
    await store.put_policy(STICKY)  # opens lazily
    await store.close()
    stored = {"mode": "sticky", "preferred_id": None, "manual_device": "cpu", "sticky_device": "gpu:2"}
    assert row(tmp_path) == {"other": [1, 2], "gpu_policy": stored}
    assert row(tmp_path, "ui") == {"theme": "dark"}
    text = mirror(tmp_path).read_text(encoding="utf-8")
    assert json.loads(text) == {"ui": {"lang": "日本語"}, "compute": {"x": 1, "gpu_policy": stored}, "z": None}
    assert "日本語" in text and text.startswith('{\n  "ui"')


async def test_the_three_keys_without_a_sticky_device(sqlite_store: SqliteSettings, tmp_path: Path) -> None:
    await sqlite_store.put_policy(MANUAL)
    expected = {"gpu_policy": {"mode": "manual", "preferred_id": "gpu:1", "manual_device": "gpu:0"}}
    assert row(tmp_path) == expected
    assert json.loads(mirror(tmp_path).read_text()) == {"compute": expected}
    assert stat.S_IMODE(mirror(tmp_path).stat().st_mode) == 0o600


async def test_an_existing_mirror_keeps_its_file_mode(sqlite_store: SqliteSettings, tmp_path: Path) -> None:
    write_mirror(tmp_path, {"a": 1}).chmod(0o644)
    await sqlite_store.put_policy(MANUAL)
    assert stat.S_IMODE(mirror(tmp_path).stat().st_mode) == 0o644


async def test_read_order_row_then_mirror_then_defaults(sqlite_store: SqliteSettings, tmp_path: Path) -> None:
    assert await sqlite_store.get_policy() == GpuPolicy()
    write_mirror(tmp_path, {"compute": {"gpu_policy": {"mode": "manual", "manual_device": "CUDA:1"}}})
    assert await sqlite_store.get_policy() == GpuPolicy(mode="manual", manual_device="gpu:1")
    write_row(tmp_path, "compute", {"other": 1})  # a row without gpu_policy is still "absent"
    assert (await sqlite_store.get_policy()).mode == "manual"
    write_row(tmp_path, "compute", {"gpu_policy": {"mode": "sticky", "sticky_device": "gpu:0"}})
    assert await sqlite_store.get_policy() == GpuPolicy(mode="sticky", sticky_device="gpu:0")


@pytest.mark.parametrize(
    "value",
    [
        {"gpu_policy": {"mode": 7, "preferred_id": ["x"], "manual_device": "tpu:0"}},
        {"gpu_policy": {"mode": "fast", "preferred_id": "", "manual_device": None}},
        {"gpu_policy": {}},
    ],
)
async def test_invalid_stored_fields_fall_back_to_defaults(
    sqlite_store: SqliteSettings, tmp_path: Path, value: Any
) -> None:
    write_row(tmp_path, "compute", value)
    assert await sqlite_store.get_policy() == GpuPolicy()


@pytest.mark.parametrize("value", ["{not json", "[1, 2]", '"text"', None])
async def test_an_unusable_row_falls_through_to_the_mirror(
    sqlite_store: SqliteSettings, tmp_path: Path, value: Any
) -> None:
    write_row(tmp_path, "compute", value)
    write_mirror(tmp_path, {"compute": {"gpu_policy": {"mode": "manual"}}})
    assert (await sqlite_store.get_policy()).mode == "manual"
    await sqlite_store.put_policy(MANUAL)  # the unusable row is replaced by a proper object
    assert row(tmp_path) == {"gpu_policy": MANUAL.as_stored()}


async def test_changes_by_other_processes_are_seen_on_the_next_read(signatures: FileSignatures, tmp_path: Path) -> None:
    one, two = SqliteSettings(tmp_path, signatures=signatures), SqliteSettings(tmp_path, signatures=signatures)
    await one.open()
    await two.open()
    try:
        await one.put_policy(MANUAL)
        assert await two.get_policy() == MANUAL
        write_row(tmp_path, "compute", {"gpu_policy": {"mode": "sticky"}})  # a ComfyVN tool, plain sqlite3
        assert await one.get_policy() == GpuPolicy(mode="sticky")
        await two.put_policy(STICKY)
        assert await one.get_policy() == STICKY
        write_row(tmp_path, "compute", {})  # no policy in the row: the mirror is read, and its edits are seen
        write_mirror(tmp_path, {"compute": {"gpu_policy": {"mode": "manual"}}})
        assert (await one.get_policy()).mode == "manual"
        write_mirror(tmp_path, {"compute": {"gpu_policy": {"mode": "auto"}}})
        assert (await one.get_policy()).mode == "auto"
    finally:
        await one.close()
        await two.close()


async def test_open_removes_temp_files_a_killed_writer_left(tmp_path: Path) -> None:
    document = write_mirror(tmp_path, {"theme": "dark"})
    stale = document.with_name(".config.json.4242.deadbeef.tmp")  # write_atomic's name for its temp file
    stale.write_bytes(b'{"half": ')
    unrelated = document.with_name(".config.json.bak")
    unrelated.write_bytes(b"{}")
    store = SqliteSettings(tmp_path)
    await store.open()
    try:
        assert not stale.exists()
        assert unrelated.read_bytes() == b"{}"
        assert json.loads(document.read_text()) == {"theme": "dark"}
    finally:
        await store.close()


async def test_a_new_instance_reads_what_was_written(tmp_path: Path) -> None:
    first = SqliteSettings(tmp_path)
    await first.put_policy(MANUAL)
    await first.close()
    second = SqliteSettings(tmp_path)
    assert await second.get_policy() == MANUAL
    await second.close()
    await second.open()  # reopening after close works
    assert await second.get_policy() == MANUAL
    await second.close()


async def test_concurrent_read_modify_writes_lose_nothing(tmp_path: Path) -> None:
    stores = [SqliteSettings(tmp_path) for _ in range(3)]
    fields = {"preferred_id": "gpu:1", "manual_device": "gpu:2", "mode": "manual"}
    try:
        async with anyio.create_task_group() as tg:
            for store, (name, value) in zip(stores, fields.items(), strict=True):
                tg.start_soon(store.update_policy, lambda cur, n=name, v=value: msgspec.structs.replace(cur, **{n: v}))
        expected = GpuPolicy(mode="manual", preferred_id="gpu:1", manual_device="gpu:2")
        assert await stores[0].get_policy() == expected
        assert json.loads(mirror(tmp_path).read_text())["compute"]["gpu_policy"] == expected.as_stored()
    finally:
        for store in stores:
            await store.close()


CORRUPT: list[bytes] = [b"{not json", b"\xff\xfe", b"[1, 2]", b'"x"', b'{"big": 1e400}']


@pytest.mark.parametrize("garbage", CORRUPT)
async def test_a_corrupt_mirror_is_left_untouched_and_sqlite_still_works(
    sqlite_store: SqliteSettings, tmp_path: Path, garbage: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_mirror(tmp_path, garbage)
    with caplog.at_level(logging.WARNING, logger="computeadvisor.settings"):
        assert await sqlite_store.get_policy() == GpuPolicy()
        await sqlite_store.put_policy(MANUAL)
    assert path.read_bytes() == garbage
    assert sorted(p.name for p in path.parent.iterdir() if not p.name.startswith(".")) == ["config.json"]
    assert row(tmp_path) == {"gpu_policy": MANUAL.as_stored()}
    assert await sqlite_store.get_policy() == MANUAL
    assert any("left untouched" in r.getMessage() for r in caplog.records)


async def test_a_non_object_compute_in_the_mirror_is_replaced(sqlite_store: SqliteSettings, tmp_path: Path) -> None:
    write_mirror(tmp_path, {"compute": "legacy", "keep": True})
    await sqlite_store.put_policy(MANUAL)
    assert json.loads(mirror(tmp_path).read_text()) == {"compute": {"gpu_policy": MANUAL.as_stored()}, "keep": True}


async def test_a_locked_database_is_a_storage_error_and_changes_nothing(tmp_path: Path) -> None:
    store = SqliteSettings(tmp_path, busy_timeout_s=0.05)
    await store.put_policy(MANUAL)
    before = mirror(tmp_path).read_bytes()
    other = sqlite3.connect(tmp_path / "data" / "comfyvn.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        with pytest.raises(StorageError):
            await store.put_policy(STICKY)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert await store.get_policy() == MANUAL
    assert mirror(tmp_path).read_bytes() == before
    await store.put_policy(STICKY)  # and the store recovers once the lock is free
    assert await store.get_policy() == STICKY
    await store.close()


async def test_an_unwritable_mirror_rolls_the_database_back(sqlite_store: SqliteSettings, tmp_path: Path) -> None:
    await sqlite_store.put_policy(MANUAL)
    mirror(tmp_path).unlink()
    mirror(tmp_path).mkdir()  # reading it now fails with an OSError, not as a corrupt document
    with pytest.raises(StorageError):
        await sqlite_store.put_policy(STICKY)
    assert await sqlite_store.get_policy() == MANUAL
    assert row(tmp_path) == {"gpu_policy": MANUAL.as_stored()}


async def test_a_database_that_cannot_be_opened_is_a_storage_error(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "comfyvn.db").write_bytes(b"this is not an sqlite database, just text" * 100)
    store = SqliteSettings(tmp_path)
    with pytest.raises(StorageError):
        await store.open()
    with pytest.raises(StorageError):
        await store.get_policy()
    await store.close()
