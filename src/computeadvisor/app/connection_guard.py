"""Held connections cannot starve the service: a deadline for each request's headers, and a connection cap that
makes room by closing the oldest connection that is not serving a request.

uvicorn (with httptools) closes an idle keep-alive connection after ``timeout_keep_alive``, but a connection that
never sends a complete request (idle since it was opened, or a slowloris client sending a byte now and then) is
kept forever, and once the process runs out of file descriptors every new connection and the background tasks
fail. :class:`GuardedHttpProtocol` is uvicorn's own protocol plus two rules:

* **Header deadline.** A connection must complete a request's headers within ``header_timeout_s`` of opening, and
  of finishing the previous response on a kept-alive connection; otherwise it is closed. One sweep a second
  closes the late ones (oldest first, so it stops at the first that is still in time): a request costs two dict
  updates, not a timer.
* **Cap with eviction.** At most ``max_connections`` are open (the default leaves file descriptors for the stores
  and the sampler). A new connection at the cap closes the oldest connection that is waiting for a request, so a
  real client is let in at once however many idle ones an attacker holds. When every open connection is busy
  serving a request, the new one is answered ``503`` and closed: the socket is never refused.
"""

from __future__ import annotations

import asyncio
import resource
import time
from collections.abc import Callable
from typing import ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

RESERVED_FDS = 128
"""File descriptors kept free of connections: databases, the registry and settings files, inotify, the sampler."""

_BUSY = b'{"status_code":503,"detail":"server busy: every connection is serving a request; retry shortly"}'
BUSY_RESPONSE = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nconnection: close\r\n"
    b"retry-after: 1\r\ncontent-length: " + str(len(_BUSY)).encode() + b"\r\n\r\n" + _BUSY
)


def connection_limit(configured: int) -> int:
    """``configured``, lowered to what the process's file-descriptor limit leaves after the reserve."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return configured
    return max(1, min(configured, soft - RESERVED_FDS))


class ConnectionGuard:
    """What every connection of one server shares: the open ones, and those waiting for a request, oldest first.

    Everything runs on the event loop, so no lock is needed.
    """

    def __init__(
        self,
        *,
        max_connections: int,
        header_timeout_s: float,
        sweep_interval_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_connections < 1 or header_timeout_s <= 0 or sweep_interval_s <= 0:
            raise ValueError("max_connections must be >= 1, header_timeout_s and sweep_interval_s > 0")
        self.max_connections = max_connections
        self.header_timeout_s = header_timeout_s
        self._sweep_interval_s = sweep_interval_s
        self._clock = clock
        self._open: set[GuardedHttpProtocol] = set()
        # Waiting for a request since (monotonic seconds); insertion order, so the oldest waiting come first.
        self._waiting: dict[GuardedHttpProtocol, float] = {}
        self._sweeping = False
        self.evicted = 0  # connections closed to make room
        self.refused = 0  # connections answered 503 because all were busy
        self.timed_out = 0  # connections closed at the header deadline

    @property
    def open_connections(self) -> int:
        return len(self._open)

    def admit(self, connection: GuardedHttpProtocol) -> bool:
        """Make room for ``connection`` (evicting the oldest waiting one at the cap); False when there is none."""
        if len(self._open) >= self.max_connections:
            oldest = next(iter(self._waiting), None)
            if oldest is None:
                self.refused += 1
                return False
            self.evicted += 1
            self.closed(oldest)
            oldest.close_now()
        self._open.add(connection)
        self._waiting[connection] = self._clock()
        if not self._sweeping:
            self._sweeping = True
            asyncio.get_running_loop().call_later(self._sweep_interval_s, self._sweep_again)
        return True

    def waiting(self, connection: GuardedHttpProtocol) -> None:
        """``connection`` waits for its next request (the newest waiting)."""
        if connection in self._open:
            self._waiting.pop(connection, None)
            self._waiting[connection] = self._clock()

    def busy(self, connection: GuardedHttpProtocol) -> None:
        """``connection`` is serving a request: never evicted until it waits again."""
        self._waiting.pop(connection, None)

    def closed(self, connection: GuardedHttpProtocol) -> None:
        self._open.discard(connection)
        self._waiting.pop(connection, None)

    def sweep(self) -> None:
        """Close every connection that has waited past the header deadline (the oldest come first)."""
        late = self._clock() - self.header_timeout_s
        for connection, since in list(self._waiting.items()):
            if since > late:
                break  # the rest waited less
            self.timed_out += 1
            self.closed(connection)
            connection.close_now()

    def _sweep_again(self) -> None:
        """Sweep now, and again in ``sweep_interval_s`` while any connection is open."""
        self.sweep()
        self._sweeping = bool(self._open)
        if self._sweeping:
            asyncio.get_running_loop().call_later(self._sweep_interval_s, self._sweep_again)


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol under a :class:`ConnectionGuard` (made by :func:`guarded_protocol`)."""

    guard: ClassVar[ConnectionGuard]

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if not self.guard.admit(self):
            transport.write(BUSY_RESPONSE)
            transport.close()

    def on_headers_complete(self) -> None:
        self.guard.busy(self)
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        idle = self.cycle is None or self.cycle.response_complete  # no pipelined request started
        if idle and not self.transport.is_closing():
            self.guard.waiting(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.guard.closed(self)
        super().connection_lost(exc)

    def close_now(self) -> None:
        """Close this connection (it holds no request)."""
        if not self.transport.is_closing():
            self.transport.close()


def guarded_protocol(guard: ConnectionGuard) -> type[GuardedHttpProtocol]:
    """A protocol class for ``uvicorn.run(http=...)`` whose connections all share ``guard``."""
    return type("GuardedHttp", (GuardedHttpProtocol,), {"guard": guard})
