"""Durable JSON files: atomic replace under a cross-process advisory lock (design: Storage and durability)."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec

log = logging.getLogger("computeadvisor.files")


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


def move_aside(path: Path, reason: str) -> Path:
    """Rename a corrupt file to a new sibling (never overwritten, never deleted) and log both paths."""
    aside = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}")
    path.replace(aside)
    log.warning("corrupt file %s (%s) moved aside to %s", path, reason, aside)
    return aside


def file_signature(path: Path) -> tuple[int, int, int] | None:
    """(inode, size, mtime_ns) of a file, or None when it does not exist: changes whenever it is replaced."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)
