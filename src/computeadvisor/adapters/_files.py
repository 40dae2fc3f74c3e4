"""Durable JSON files: atomic replace under a cross-process advisory lock (design: Storage and durability)."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import secrets
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Generic, TypeVar

import msgspec

from computeadvisor.adapters.file_signatures import STAT_SIGNATURES, FileSignatures, Signature

log = logging.getLogger("computeadvisor.files")
T = TypeVar("T")


@contextlib.contextmanager
def exclusive_lock(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``lock_path`` (created if missing) for the block; blocks until free."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def encode_pretty(data: Any) -> bytes:
    """UTF-8 JSON, indent 2, non-ASCII kept, with a final newline."""
    return msgspec.json.format(msgspec.json.encode(data), indent=2) + b"\n"


def write_atomic(path: Path, content: bytes, *, mode: int = 0o600) -> None:
    """Replace ``path`` with ``content``: temp file in the same directory, fsync, rename, fsync the directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def remove_stale_temps(path: Path) -> None:
    """Delete the temp files ``write_atomic`` left beside ``path`` when a process died mid-write.

    Call it holding the file's lock: then no writer is mid-write, so every temp file found is a dead one's.
    """
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        stale.unlink(missing_ok=True)


def move_aside(path: Path, reason: str) -> Path:
    """Rename a corrupt file to a new sibling (never overwritten, never deleted) and log both paths."""
    aside = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}")
    path.replace(aside)
    log.warning("corrupt file %s (%s) moved aside to %s", path, reason, aside)
    return aside


class FreshnessCache(Generic[T]):
    """A value read from files, reused while every file keeps its signature and for at most ``max_age_s``.

    A reader asks for ``signature()`` before reading, so a change that lands during the read only makes the next
    call read again. The age bound covers what a ``stat`` signature cannot see: a rewrite in place that keeps the
    size within the filesystem's timestamp granularity (SQLite reusing WAL frames, for one).
    """

    def __init__(
        self, paths: Sequence[Path], *, max_age_s: float = 1.0, signatures: FileSignatures = STAT_SIGNATURES
    ) -> None:
        self.signature = signatures.watch(*paths)
        """The files' signature now (see ``_watch``)."""
        self._max_age_s = max_age_s
        self._entry: tuple[Signature, float, T] | None = None
        self._generation = 0  # +1 on clear(): a read begun before it must not fill the cache
        self._flight: tuple[tuple[Signature, int], asyncio.Future[T]] | None = None

    def get(self, signature: Signature) -> T | None:
        """The cached value when still fresh for ``signature``, else None."""
        entry = self._entry
        if entry is not None and entry[0] == signature and time.monotonic() - entry[1] < self._max_age_s:
            return entry[2]
        return None

    def put(self, signature: Signature, value: T) -> None:
        """Remember ``value`` as read under ``signature``."""
        self._entry = (signature, time.monotonic(), value)

    def clear(self) -> None:
        """Forget the value (after our own write), and any read still in flight."""
        self._entry = None
        self._generation += 1
        self._flight = None

    async def load(self, read: Callable[[], Awaitable[T]]) -> T:
        """The value while fresh, else what ``read()`` returns, remembered.

        Callers that find a read in flight for the same signature wait for that one: when the value goes stale
        under load, every request that arrives before the new one is read shares one read (without this, each
        of them started its own, on the one reader thread, and they queued behind each other).
        """
        signature = self.signature()
        value = self.get(signature)
        if value is not None:
            return value
        key = (signature, self._generation)
        flight = self._flight
        if flight is None or flight[0] != key:
            task = asyncio.ensure_future(self._refresh(key, read))
            task.add_done_callback(_retrieved)
            flight = self._flight = (key, task)
        return await asyncio.shield(flight[1])

    async def _refresh(self, key: tuple[Signature, int], read: Callable[[], Awaitable[T]]) -> T:
        try:
            value = await read()
            if key[1] == self._generation:
                self.put(key[0], value)
            return value
        finally:
            if self._flight is not None and self._flight[0] == key:
                self._flight = None


def _retrieved(task: asyncio.Future[Any]) -> None:
    """Mark a shared read's error as seen (its callers got it, or were all cancelled before it came)."""
    if not task.cancelled():
        task.exception()
