"""ProviderRegistry on a JSON file (``config/compute_providers.json``), shared safely between processes."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

import msgspec

from computeadvisor.adapters._document_registry import Change, DocumentRegistry
from computeadvisor.adapters._files import (
    encode_pretty,
    exclusive_lock,
    move_aside,
    remove_stale_temps,
    write_atomic,
)
from computeadvisor.adapters.file_signatures import STAT_SIGNATURES, FileSignatures, Signature
from computeadvisor.adapters.storage_errors import storage_error
from computeadvisor.domain import registry as reg
from computeadvisor.domain.errors import CorruptDocument, StorageError
from computeadvisor.domain.events import NewEvent
from computeadvisor.domain.providers import STORAGE_PATH

T = TypeVar("T")
log = logging.getLogger("computeadvisor.registry")


class JsonFileRegistry(DocumentRegistry):
    """Every change is a read-modify-write under an ``flock``, re-reading the file first, then an atomic replace.

    Reads are served from memory and reloaded when the file's signature changes (see ``file_signatures``), so another
    process's change is seen on the next request.
    """

    logs_events = False  # the file is not the log's database: the caller appends events after the change

    def __init__(self, root: Path, *, signatures: FileSignatures = STAT_SIGNATURES) -> None:
        super().__init__()
        self._path = root / STORAGE_PATH
        self._file_signature = signatures.watch(self._path)
        self._lock_path = self._path.with_name(".compute_providers.lock")
        self._doc = reg.RegistryDocument()
        self._signature: Signature | None = None
        self._persisted = False
        self._mutex = threading.Lock()

    @property
    def path(self) -> Path:
        """Where the registry lives on disk."""
        return self._path

    # -- reading -------------------------------------------------------------------------------------------

    def _read_file(self) -> reg.RegistryDocument:
        """Parse the file; raises CorruptDocument when it is not a registry document."""
        try:
            raw = self._path.read_bytes()
        except FileNotFoundError:
            return reg.RegistryDocument()
        except OSError as exc:
            raise StorageError(f"provider registry could not be read: {exc}") from exc
        try:
            data = msgspec.json.decode(raw)
        except (msgspec.DecodeError, UnicodeDecodeError) as exc:
            raise CorruptDocument(f"not valid UTF-8 JSON: {exc}") from exc
        except RecursionError as exc:
            raise CorruptDocument("JSON nested too deeply to read") from exc
        return reg.document_from_builtins(data)

    def _load_or_move_aside(self) -> reg.RegistryDocument:
        try:
            return self._read_file()
        except CorruptDocument as exc:
            move_aside(self._path, str(exc))
            return reg.RegistryDocument()

    def _refresh_sync(self) -> None:
        with self._mutex:
            signature = self._file_signature()
            if signature == self._signature:
                return
            try:
                doc = self._read_file()
            except StorageError as exc:
                # Keep serving the last good state; the next write under the lock deals with the file.
                log.warning("provider registry %s not reloaded: %s", self._path, exc)
                return
            self._doc, self._signature, self._persisted = doc, signature, self._path.exists()

    async def _fresh(self) -> reg.RegistryDocument:
        if self._file_signature() != self._signature:
            await asyncio.to_thread(self._refresh_sync)
        return self._doc

    async def open(self) -> None:
        def load() -> None:
            with exclusive_lock(self._lock_path), self._mutex:
                remove_stale_temps(self._path)
                self._signature = self._file_signature()
                self._doc = self._load_or_move_aside()
                self._persisted = self._path.exists()

        await asyncio.to_thread(load)

    def _saved(self) -> bool:
        return self._persisted

    # -- writing -------------------------------------------------------------------------------------------

    def _change_sync(self, change: Change[T]) -> T:
        try:
            with exclusive_lock(self._lock_path), self._mutex:
                current = self._load_or_move_aside()
                updated, result = change(current)
                if updated is not current:
                    write_atomic(self._path, encode_pretty(updated.to_builtins()))
                self._doc, self._signature = updated, self._file_signature()
                self._persisted = self._path.exists()
                return result
        except OSError as exc:  # the lock, the temp file, fsync or rename: nothing in memory changed
            raise storage_error(exc, "provider registry", saving=True) from exc

    async def _change(self, change: Change[T], events: Sequence[NewEvent] = ()) -> T:
        return await asyncio.to_thread(self._change_sync, change)  # the events are the caller's (logs_events)
