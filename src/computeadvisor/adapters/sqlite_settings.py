"""SettingsStore on the shared ComfyVN settings: SQLite ``data/comfyvn.db`` plus the ``settings/config.json`` mirror.

The SQLite row ``compute`` is the primary copy (§1.5); ``settings/config.json`` -> ``compute.gpu_policy`` is a
mirror for tools that read the JSON document, and the fallback when the row has no policy yet.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiosqlite
import anyio
import anyio.to_thread
import msgspec

from computeadvisor.adapters._files import FreshnessCache, exclusive_lock
from computeadvisor.adapters._settings_mirror import (
    SettingsMirror,
    Snapshot,
    decode_object,
    policy_in,
)
from computeadvisor.adapters.file_signatures import STAT_SIGNATURES, FileSignatures
from computeadvisor.domain.errors import CorruptDocument, StorageError
from computeadvisor.domain.policy import GpuPolicy
from computeadvisor.ports.settings_store import SettingsStore

log = logging.getLogger("computeadvisor.settings")

DB_PATH = Path("data") / "comfyvn.db"
ROW_KEY = "compute"
READ_CACHE_MAX_AGE_S = 1.0
_SELECT = "SELECT value_json FROM settings WHERE key = ?"
_UPSERT = (
    "INSERT INTO settings (key, value_json) VALUES (?, ?) "
    "ON CONFLICT(key) DO UPDATE SET value_json = excluded.value_json"
)


def _row_policy(value_json: Any) -> GpuPolicy | None:
    """The policy of the ``compute`` row; None when absent (no row, NULL, not an object, no ``gpu_policy``)."""
    if isinstance(value_json, bytes | str):
        return policy_in({"compute": decode_object(value_json)})
    return None


class SqliteSettings(SettingsStore):
    """The GPU policy in ``<root>/data/comfyvn.db`` (WAL), mirrored to ``<root>/settings/config.json``.

    Reads are served from a cache while the database, its WAL and the mirror keep their signature (see
    ``get_policy``), so another process's commit is seen on the next request; the mirror is read only when the
    row holds no policy.
    Writes are one ``BEGIN IMMEDIATE`` transaction that rewrites the mirror before committing (a mirror failure
    rolls the row back), under the mirror's ``flock``, always taken before the database lock so that two
    instances cannot deadlock.

    A mirror that is not a JSON object is logged and left untouched, neither moved aside nor overwritten: the
    document belongs to every ComfyVN tool, so moving it would reset their settings and rewriting it would drop
    whatever it held. The policy is then saved to SQLite alone, the copy every reader consults first.

    Args:
        root: the state root.
        busy_timeout_s: how long a statement waits for another process's write lock, seconds.
        signatures: how the read cache notices a change to the database or the mirror (see ``_watch``).
    """

    def __init__(
        self, root: Path, *, busy_timeout_s: float = 5.0, signatures: FileSignatures = STAT_SIGNATURES
    ) -> None:
        self._db_path = root / DB_PATH
        self._mirror = SettingsMirror(root)
        self._busy_ms = int(busy_timeout_s * 1000)
        self._reader: aiosqlite.Connection | None = None
        self._writer: aiosqlite.Connection | None = None
        self._open_lock = anyio.Lock()
        self._write_lock = anyio.Lock()
        wal_path = self._db_path.with_name(self._db_path.name + "-wal")
        self._read_cache: FreshnessCache[GpuPolicy] = FreshnessCache(
            (self._db_path, wal_path, self._mirror.path), max_age_s=READ_CACHE_MAX_AGE_S, signatures=signatures
        )

    @property
    def db_path(self) -> Path:
        """The SQLite database file."""
        return self._db_path

    @property
    def mirror_path(self) -> Path:
        """The shared JSON settings document."""
        return self._mirror.path

    # -- lifecycle -----------------------------------------------------------------------------------------

    async def _connect(self) -> aiosqlite.Connection:
        # isolation_level=None: autocommit, so the write transaction is exactly the BEGIN ... COMMIT we issue.
        conn = await aiosqlite.connect(self._db_path, isolation_level=None)
        await conn.execute(f"PRAGMA busy_timeout = {self._busy_ms}")
        return conn

    async def open(self) -> None:
        """Create ``data/`` and the ``settings`` table if missing; open one writer and one reader connection.

        Also removes the mirror's temp files left by a writer that was killed mid-write.
        """
        async with self._open_lock:
            if self._writer is not None:
                return
            try:
                await anyio.to_thread.run_sync(self._mirror.remove_stale_temps_sync)
            except OSError as exc:  # only litter is left behind: worth a warning, not a failed start
                log.warning("stale temp files beside %s not removed: %s", self._mirror.path, exc)
            writer = reader = None
            try:
                await anyio.to_thread.run_sync(lambda: self._db_path.parent.mkdir(parents=True, exist_ok=True))
                writer = await self._connect()
                try:
                    await writer.execute("PRAGMA journal_mode = WAL")
                except aiosqlite.OperationalError as exc:  # another process holds it; its journal mode still works
                    log.warning("settings database %s stays in its journal mode: %s", self._db_path, exc)
                # FULL: a 2xx answer promises the policy is on disk, WAL's NORMAL could lose the last commit.
                await writer.execute("PRAGMA synchronous = FULL")
                await writer.execute("CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value_json TEXT)")
                reader = await self._connect()
                await reader.execute("PRAGMA query_only = 1")
            except (aiosqlite.Error, OSError) as exc:
                for conn in (reader, writer):
                    if conn is not None:
                        with contextlib.suppress(aiosqlite.Error):
                            await conn.close()
                raise StorageError(f"settings database {self._db_path} could not be opened: {exc}") from exc
            self._writer, self._reader = writer, reader

    async def close(self) -> None:
        """Close both connections (after a write in progress); a later call opens them again."""
        async with self._open_lock, self._write_lock:
            conns = (self._reader, self._writer)
            self._reader = self._writer = None
            for conn in conns:
                if conn is not None:
                    with contextlib.suppress(aiosqlite.Error):
                        await conn.close()

    async def _connections(self) -> tuple[aiosqlite.Connection, aiosqlite.Connection]:
        if self._reader is None or self._writer is None:
            await self.open()
        assert self._reader is not None and self._writer is not None  # open() sets both or raises
        return self._reader, self._writer

    # -- reading -------------------------------------------------------------------------------------------

    async def _stored_policy(self, conn: aiosqlite.Connection) -> tuple[GpuPolicy, Any]:
        """The policy by the read order of §1.5, and the ``compute`` row's raw value (None when no row)."""
        rows = list(await conn.execute_fetchall(_SELECT, (ROW_KEY,)))
        value_json = rows[0][0] if rows else None
        policy = _row_policy(value_json)
        if policy is None:
            policy = await self._mirror.policy()
        return (GpuPolicy() if policy is None else policy), value_json

    async def get_policy(self) -> GpuPolicy:
        """The row ``compute`` -> ``gpu_policy``, else the mirror's ``compute.gpu_policy``, else the defaults.

        The advisor reads the policy on every request, and a query costs a round trip to aiosqlite's thread
        (~80 µs), so the answer is reused while the database, its WAL and the mirror keep their signature (see
        ``_watch``) and for at most ``READ_CACHE_MAX_AGE_S`` (see ``FreshnessCache``).
        """
        signature = self._read_cache.signature()
        cached = self._read_cache.get(signature)
        if cached is not None:
            return cached
        reader, _ = await self._connections()
        try:
            policy, _ = await self._stored_policy(reader)
        except aiosqlite.Error as exc:
            raise StorageError(f"settings could not be read from {self._db_path}: {exc}") from exc
        self._read_cache.put(signature, policy)
        return policy

    # -- writing -------------------------------------------------------------------------------------------

    async def _write_mirror(self, policy: GpuPolicy) -> Snapshot | None:
        """Rewrite the mirror; None when it was left untouched because it is not a JSON object."""
        try:
            return await anyio.to_thread.run_sync(self._mirror.write_sync, policy)
        except CorruptDocument:
            log.warning(
                "settings document %s is not a JSON object; left untouched, GPU policy saved to %s only",
                self._mirror.path,
                self._db_path,
            )
            return None

    async def _transaction(self, conn: aiosqlite.Connection, change: Callable[[GpuPolicy], GpuPolicy]) -> GpuPolicy:
        await conn.execute("BEGIN IMMEDIATE")
        try:
            current, value_json = await self._stored_policy(conn)
            updated = change(current)
            if updated is current:
                await conn.execute("ROLLBACK")
                return current
            compute = decode_object(value_json) if isinstance(value_json, bytes | str) else {}
            if compute is None:
                log.warning("settings row %r is not a JSON object; replacing it", ROW_KEY)
                compute = {}
            compute["gpu_policy"] = updated.as_stored()
            await conn.execute(_UPSERT, (ROW_KEY, msgspec.json.encode(compute).decode()))
            before = await self._write_mirror(updated)
            try:
                await conn.execute("COMMIT")
            except aiosqlite.Error:
                if before is not None:
                    await anyio.to_thread.run_sync(self._mirror.restore_sync, before)
                raise
            return updated
        except BaseException:
            if conn.in_transaction:
                with contextlib.suppress(aiosqlite.Error):
                    await conn.execute("ROLLBACK")
            raise

    async def update_policy(self, change: Callable[[GpuPolicy], GpuPolicy]) -> GpuPolicy:
        """Read-modify-write in one transaction under the mirror's lock; see the class docstring."""
        _, writer = await self._connections()
        async with self._write_lock:
            # Shielded: once started, the transaction and the lock release finish even if the request is cancelled.
            with anyio.CancelScope(shield=True):
                lock = exclusive_lock(self._mirror.lock_path)
                try:
                    await anyio.to_thread.run_sync(lock.__enter__)
                except OSError as exc:
                    raise StorageError(f"settings lock {self._mirror.lock_path} could not be taken: {exc}") from exc
                self._read_cache.clear()
                try:
                    stored = await self._transaction(writer, change)
                except (aiosqlite.Error, OSError) as exc:
                    raise StorageError(f"settings could not be saved: {exc}") from exc
                finally:
                    lock.__exit__(None, None, None)
        return stored

    async def put_policy(self, policy: GpuPolicy) -> None:
        """Store ``policy`` in the row ``compute`` and in the mirror (see ``update_policy``)."""
        await self.update_policy(lambda _current: policy)
