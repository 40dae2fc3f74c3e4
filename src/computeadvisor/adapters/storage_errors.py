"""The one translation of storage failures into domain errors, shared by every adapter that writes files.

A full disk is told apart from other failures (``StorageFull``, answered 507) so that a client knows to retry
later rather than report a bug: SQLite says ``SQLITE_FULL``, the OS says ``ENOSPC`` or ``EDQUOT``.
"""

from __future__ import annotations

import errno
import sqlite3

from computeadvisor.domain.errors import StorageError, StorageFull

_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` (or an error it was raised from) says the filesystem has no space left."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in _FULL_ERRNOS:
            return True
        if isinstance(seen, sqlite3.Error) and getattr(seen, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def storage_error(exc: BaseException, store: str, *, saving: bool = False) -> StorageError:
    """The domain error for a failed SQLite or file call of ``store``; ``saving`` when the call was a write."""
    if is_disk_full(exc):
        return StorageFull(f"{store} could not be saved: the disk is full ({exc})")
    return StorageError(f"{store} could not be saved: {exc}" if saving else f"{store} failed: {exc}")
