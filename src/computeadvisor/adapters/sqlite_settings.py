"""SettingsStore on the shared ComfyVN settings: SQLite ``data/comfyvn.db`` plus the ``settings/config.json`` mirror.

The SQLite row ``compute`` is the primary copy (§1.5); ``settings/config.json`` -> ``compute.gpu_policy`` is a
mirror for tools that read the JSON document, and the fallback when the row has no policy yet.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from computeadvisor.adapters._files import FreshnessCache, exclusive_lock
from computeadvisor.adapters._settings_mirror import (
    SettingsMirror,
    Snapshot,
    decode_object,
    policy_in,
)
from computeadvisor.adapters._sqlite_conn import ConnectionThread, connect
from computeadvisor.adapters.file_signatures import STAT_SIGNATURES, FileSignatures
from computeadvisor.adapters.storage_errors import storage_error
from computeadvisor.domain.errors import CorruptDocument, StorageError
from computeadvisor.domain.policy import GpuPolicy
from computeadvisor.ports.settings_store import SettingsStore

log = logging.getLogger("computeadvisor.settings")

DB_PATH = Path("data") / "comfyvn.db"
ROW_KEY = "compute"
STORE = "settings store"
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
    instances cannot deadlock. The whole write runs on the writer connection's thread, in one hand-off.

    A mirror that is not a JSON object is logged and left untouched, neither moved aside nor overwritten: the
    document belongs to every ComfyVN tool, so moving it would reset their settings and rewriting it would drop
    whatever it held. The policy is then saved to SQLite alone, the copy every reader consults first.

    Args:
        root: the state root.
        busy_timeout_s: how long a statement waits for another process's write lock, seconds.
        signatures: how the read cache notices a change to the database or the mirror (see ``file_signatures``).
    """

    def __init__(
        self, root: Path, *, busy_timeout_s: float = 5.0, signatures: FileSignatures = STAT_SIGNATURES
    ) -> None:
        self._db_path = root / DB_PATH
        self._mirror = SettingsMirror(root)
        self._busy_ms = int(busy_timeout_s * 1000)
        self._reader: ConnectionThread | None = None
        self._writer: ConnectionThread | None = None
        self._open_lock = asyncio.Lock()
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

    def _open_writer(self) -> sqlite3.Connection:
        self._db_path.parent.mkdir(parents=True, exist_ok=True)
        conn = connect(self._db_path, self._busy_ms, ())
        try:
            try:
                conn.execute("PRAGMA journal_mode = WAL").fetchall()
            except sqlite3.OperationalError as exc:  # another process holds it; its journal mode still works
                log.warning("settings database %s stays in its journal mode: %s", self._db_path, exc)
            # FULL: a 2xx answer promises the policy is on disk, WAL's NORMAL could lose the last commit.
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value_json TEXT)")
        except BaseException:
            conn.close()
            raise
        return conn

    async def open(self) -> None:
        """Create ``data/`` and the ``settings`` table if missing; open one writer and one reader connection.

        Also removes the mirror's temp files left by a writer that was killed mid-write.
        """
        async with self._open_lock:
            if self._writer is not None:
                return
            try:
                await asyncio.to_thread(self._mirror.remove_stale_temps_sync)
            except OSError as exc:  # only litter is left behind: worth a warning, not a failed start
                log.warning("stale temp files beside %s not removed: %s", self._mirror.path, exc)
            writer = None
            try:
                writer = await ConnectionThread.open(self._open_writer, STORE)
                opener = functools.partial(connect, self._db_path, self._busy_ms, ("PRAGMA query_only = 1",))
                self._reader = await ConnectionThread.open(opener, STORE)
            except (sqlite3.Error, OSError) as exc:
                if writer is not None:
                    await writer.close()
                raise StorageError(f"settings database {self._db_path} could not be opened: {exc}") from exc
            self._writer = writer

    async def close(self) -> None:
        """Close both connections (after a write in progress); a later call opens them again."""
        async with self._open_lock:
            threads = (self._reader, self._writer)
            self._reader = self._writer = None
            for thread in threads:
                if thread is not None:
                    await thread.close()

    async def _connections(self) -> tuple[ConnectionThread, ConnectionThread]:
        if self._reader is None or self._writer is None:
            await self.open()
        assert self._reader is not None and self._writer is not None  # open() sets both or raises
        return self._reader, self._writer

    # -- reading -------------------------------------------------------------------------------------------

    async def get_policy(self) -> GpuPolicy:
        """The row ``compute`` -> ``gpu_policy``, else the mirror's ``compute.gpu_policy``, else the defaults.

        The advisor reads the policy on every request, and a query costs a round trip to the reader's thread
        (~80 µs), so the answer is reused while the database, its WAL and the mirror keep their signature (see
        ``file_signatures``) and for at most ``READ_CACHE_MAX_AGE_S`` (see ``FreshnessCache``).
        """

        async def read() -> GpuPolicy:
            reader, _ = await self._connections()
            return _row_policy(await reader.call(_row_value)) or await self._mirror.policy() or GpuPolicy()

        return await self._read_cache.load(read)

    # -- writing (on the writer's thread) ------------------------------------------------------------------

    def _write_mirror_sync(self, policy: GpuPolicy) -> Snapshot | None:
        """Rewrite the mirror; None when it was left untouched because it is not a JSON object."""
        try:
            return self._mirror.write_sync(policy)
        except CorruptDocument:
            log.warning(
                "settings document %s is not a JSON object; left untouched, GPU policy saved to %s only",
                self._mirror.path,
                self._db_path,
            )
            return None

    def _transaction_sync(self, conn: sqlite3.Connection, change: Callable[[GpuPolicy], GpuPolicy]) -> GpuPolicy:
        conn.execute("BEGIN IMMEDIATE")
        try:
            value_json = _row_value(conn)
            current = _row_policy(value_json) or self._mirror.read_sync() or GpuPolicy()
            updated = change(current)
            if updated is current:
                conn.execute("ROLLBACK")
                return current
            compute = decode_object(value_json) if isinstance(value_json, bytes | str) else {}
            if compute is None:
                log.warning("settings row %r is not a JSON object; replacing it", ROW_KEY)
                compute = {}
            compute["gpu_policy"] = updated.as_stored()
            conn.execute(_UPSERT, (ROW_KEY, msgspec.json.encode(compute).decode()))
            before = self._write_mirror_sync(updated)
            try:
                conn.execute("COMMIT")
            except sqlite3.Error:
                if before is not None:
                    self._mirror.restore_sync(before)
                raise
            return updated
        except BaseException:
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            raise

    def _update_sync(self, conn: sqlite3.Connection, change: Callable[[GpuPolicy], GpuPolicy]) -> GpuPolicy:
        try:
            with exclusive_lock(self._mirror.lock_path):
                return self._transaction_sync(conn, change)
        except (sqlite3.Error, OSError) as exc:  # the lock, the mirror or the database: the row is rolled back
            raise storage_error(exc, "GPU policy", saving=True) from exc

    async def update_policy(self, change: Callable[[GpuPolicy], GpuPolicy]) -> GpuPolicy:
        """Read-modify-write in one transaction under the mirror's lock; see the class docstring.

        Once started on the writer's thread, the write finishes even if the request is cancelled.
        """
        _, writer = await self._connections()
        self._read_cache.clear()
        try:
            return await writer.call(self._update_sync, change)
        finally:
            self._read_cache.clear()

    async def put_policy(self, policy: GpuPolicy) -> None:
        """Store ``policy`` in the row ``compute`` and in the mirror (see ``update_policy``)."""
        await self.update_policy(lambda _current: policy)


def _row_value(conn: sqlite3.Connection) -> Any:
    """The raw ``value_json`` of the ``compute`` row (None when there is no row). Blocking."""
    row = conn.execute(_SELECT, (ROW_KEY,)).fetchone()
    return None if row is None else row[0]
