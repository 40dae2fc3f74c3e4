"""Has a file changed since we last read it? Asked on every request, so it must cost next to nothing.

A *signature* of some files is a value that changes whenever any of them may have changed. A reader gets a function
for its files once (``watch``), takes a signature before each read and reuses what it read while the signature stays
equal (``FreshnessCache``, the registry, the flag files).

``FileSignatures`` takes one ``stat`` per file: (inode, size, mtime_ns), about 1.5 µs each. The advisor reads eight
files' worth of state per request, so ``InotifySignatures`` replaces those calls with inotify watches on the files'
directories: the kernel queues an event for every write, rename, delete or attribute change in a watched directory,
synchronously with the writer's system call, and a signature first drains that queue (one ``epoll`` check, ~0.2 µs,
when nothing happened). A change that another process finished before our request arrived is therefore always seen,
exactly as with ``stat``. A directory that does not exist yet is watched once it is created; where one cannot be
watched (not Linux, no inotify left), its files fall back to ``stat``; a queue overflow changes every signature.

inotify does not see writes through a shared ``mmap`` nor changes made on another machine over a network
filesystem; the state root belongs on a local filesystem anyway (SQLite's WAL needs one).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import functools
import itertools
import logging
import os
import select
import struct
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, cast

from computeadvisor.ports.lifecycle import Lifecycle

log = logging.getLogger("computeadvisor.files")

Signature = tuple[object, ...]

# <sys/inotify.h>
IN_MODIFY = 0x002
IN_ATTRIB = 0x004
IN_CLOSE_WRITE = 0x008
IN_MOVED_FROM = 0x040
IN_MOVED_TO = 0x080
IN_CREATE = 0x100
IN_DELETE = 0x200
IN_DELETE_SELF = 0x400
IN_MOVE_SELF = 0x800
IN_Q_OVERFLOW = 0x4000
IN_IGNORED = 0x8000
IN_ONLYDIR = 0x01000000
IN_ISDIR = 0x40000000
_WATCH_MASK = (
    IN_MODIFY
    | IN_ATTRIB
    | IN_CLOSE_WRITE
    | IN_MOVED_FROM
    | IN_MOVED_TO
    | IN_CREATE
    | IN_DELETE
    | IN_DELETE_SELF
    | IN_MOVE_SELF
    | IN_ONLYDIR
)
_EVENT = struct.Struct("iIII")  # wd, mask, cookie, len; then len bytes of NUL-padded name


def file_signature(path: Path) -> tuple[int, int, int] | None:
    """(inode, size, mtime_ns) of a file, or None when it does not exist: changes whenever it is replaced."""
    try:
        st = os.stat(path)  # noqa: PTH116 - Path.stat adds ~0.3 µs, and this runs on every request
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def stat_signature(paths: Sequence[Path]) -> Signature:
    """The files' ``stat`` signatures."""
    return tuple(file_signature(p) for p in paths)


class FileSignatures(Lifecycle):
    """One ``stat`` per file (the portable way; also what every adapter uses unless handed another).

    Shared by the file-backed adapters, so the composition root opens it before them and closes it after them.
    """

    def watch(self, *paths: Path) -> Callable[[], Signature]:
        """A function giving a value that changes whenever any of ``paths`` may have changed (ask it on each read)."""
        return functools.partial(stat_signature, paths)

    def release(self) -> None:
        """Release what the signatures hold (nothing here); every signature falls back to ``stat`` afterwards."""

    async def close(self) -> None:
        self.release()


STAT_SIGNATURES = FileSignatures()


class _Dir:
    """A watched directory: its watch, a serial that no other watch ever had, a change count per file asked about."""

    __slots__ = ("counts", "path", "serial", "wd")

    def __init__(self, path: Path, wd: int, serial: int) -> None:
        self.path, self.wd, self.serial = path, wd, serial
        self.counts: dict[bytes, int] = {}


class InotifySignatures(FileSignatures):
    """Signatures from inotify watches on the files' directories; ``stat`` for files in an unwatchable directory.

    A file's signature under a watch is (the watch's serial, the number of events for that file name). A new watch
    gets a new serial, so a signature taken before the watch existed (or under an earlier one) never matches. A
    directory that does not exist yet is awaited through a watch on its parent (its files read as absent, None,
    until it is created, watched, and so given a new serial). Any event that changes some signature bumps a
    generation, so while nothing happened a signature is one ``epoll`` check. The inotify descriptor is opened on
    first use and released by ``close()``; after that, signatures are ``stat``'s. Safe to call from several threads.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._epoll: select.epoll | None = None
        self._closed = False
        self._serials = itertools.count(1)
        self._generation = 0
        self._by_path: dict[Path, _Dir] = {}
        self._by_wd: dict[int, _Dir] = {}
        self._unwatchable: set[Path] = set()
        self._missing: set[Path] = set()  # directories that do not exist, awaited in a watched (or awaited) parent
        self._awaited: dict[Path, set[bytes]] = {}  # directory -> names of its missing subdirectories

    # -- public --------------------------------------------------------------------------------------------

    def watch(self, *paths: Path) -> Callable[[], Signature]:
        memo: list[Any] = [None, None]  # the generation it was taken at, the signature

        def signature() -> Signature:
            with self._lock:
                if not self._poll():
                    return stat_signature(paths)
                if memo[0] == self._generation:
                    return cast(Signature, memo[1])
                parts = [self._one(p) for p in paths]
                taken = tuple(part for part, _ in parts)
                if all(exact for _, exact in parts):  # a stat result cannot be reused: only events are tracked
                    memo[:] = [self._generation, taken]
                return taken

        return signature

    def release(self) -> None:
        with self._lock:
            self._closed = True
            if self._epoll is not None:
                self._epoll.close()
            if self._fd is not None:
                os.close(self._fd)
            self._fd = self._epoll = None
            self._by_path.clear()
            self._by_wd.clear()

    # -- internals (called with the lock held) ---------------------------------------------------------------

    def _poll(self) -> bool:
        """Take in every change finished so far; False when there is no inotify (closed or unavailable)."""
        if self._epoll is None and not self._start():
            return False
        assert self._epoll is not None
        if self._epoll.poll(0):
            self._drain()
        return True

    def _start(self) -> bool:
        libc = _inotify()
        if self._closed or libc is None:
            return False
        fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if fd < 0:
            log.info("inotify unavailable (%s); file changes are detected with stat", os.strerror(ctypes.get_errno()))
            self._closed = True
            return False
        self._fd = fd
        self._epoll = select.epoll()
        self._epoll.register(fd, select.EPOLLIN)
        return True

    def _changed(self) -> None:
        self._generation += 1

    def _one(self, path: Path) -> tuple[object, bool]:
        """(the file's signature, whether it comes from events rather than ``stat``)."""
        directory, name = path.parent, os.fsencode(path.name)
        watched = self._by_path.get(directory)
        if watched is None and directory not in self._unwatchable:
            if directory in self._missing:
                return None, True  # absent until its directory is created, which we will be told about
            watched = self._watch(directory)
        if watched is None:
            return (None, True) if directory in self._missing else (file_signature(path), False)
        return (watched.serial, watched.counts.setdefault(name, 0)), True

    def _watch(self, directory: Path) -> _Dir | None:
        """Watch ``directory``, or await its creation through its parent when it does not exist."""
        libc = _inotify()
        assert self._fd is not None and libc is not None
        self._changed()
        wd = libc.inotify_add_watch(self._fd, os.fsencode(directory), _WATCH_MASK)
        if wd < 0:
            err = ctypes.get_errno()
            parent = directory.parent
            if err == errno.ENOENT and parent != directory:
                self._missing.add(directory)
                self._awaited.setdefault(parent, set()).add(os.fsencode(directory.name))
                if parent not in self._by_path and parent not in self._missing:
                    self._watch(parent)  # once watched, it retries this directory (created meanwhile?)
                if parent in self._by_path or parent in self._missing:
                    return self._by_path.get(directory)
                self._missing.discard(directory)  # its creation cannot be noticed
            else:
                log.info("cannot watch %s (%s); its files are checked with stat", directory, os.strerror(err))
            self._unwatchable.add(directory)
            return None
        watched = self._by_wd.get(wd)  # the same directory under another name (a symlink): one watch
        if watched is None:
            watched = self._by_wd[wd] = _Dir(directory, wd, next(self._serials))
        self._by_path[directory] = watched
        self._missing.discard(directory)
        for name in self._awaited.pop(directory, set()):  # subdirectories that were missing may exist by now
            self._watch(directory / os.fsdecode(name))
        return watched

    def _forget(self, gone: _Dir) -> None:
        """A watched directory was deleted or moved: drop its watch and those of everything beneath it."""
        self._changed()
        for path, watched in list(self._by_path.items()):
            if watched is gone or path.is_relative_to(gone.path):
                del self._by_path[path]
                self._by_wd.pop(watched.wd, None)

    def _drain(self) -> None:
        assert self._fd is not None
        while True:
            try:
                data = os.read(self._fd, 65536)
            except BlockingIOError:
                return
            offset = 0
            while offset < len(data):
                wd, mask, _, length = _EVENT.unpack_from(data, offset)
                name = data[offset + _EVENT.size : offset + _EVENT.size + length].rstrip(b"\0")
                offset += _EVENT.size + length
                self._event(wd, mask, name)

    def _event(self, wd: int, mask: int, name: bytes) -> None:
        if mask & IN_Q_OVERFLOW:  # events were lost: every watch gets a new serial, so every signature changes
            self._changed()
            for every in self._by_wd.values():
                every.serial = next(self._serials)
            return
        watched = self._by_wd.get(wd)
        if watched is None:
            return
        if mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF):
            self._forget(watched)
            return
        if name in watched.counts:
            watched.counts[name] += 1
            self._changed()
        awaited = self._awaited.get(watched.path)
        if mask & IN_ISDIR and awaited and name in awaited:
            awaited.discard(name)
            self._watch(watched.path / os.fsdecode(name))


@functools.cache
def _inotify() -> ctypes.CDLL | None:
    """The C library with inotify's functions (loaded on first use), or None off Linux."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.inotify_init1.argtypes = [ctypes.c_int]
        libc.inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
    except (OSError, AttributeError):
        return None
    return libc


def inotify_available() -> bool:
    """Whether this platform has inotify."""
    return _inotify() is not None


def watched_signatures() -> FileSignatures:
    """Inotify signatures where the platform has inotify, else ``stat`` ones."""
    return InotifySignatures() if inotify_available() else STAT_SIGNATURES
