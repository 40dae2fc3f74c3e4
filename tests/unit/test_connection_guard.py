"""The connection guard's bookkeeping: eviction order, refusal when every connection is busy, the deadline sweep.

Connections here are minimal stand-ins with the one method the guard calls (``close_now``); the protocol itself
is tested end to end against the real server in ``tests/e2e/test_held_connections.py``.
"""

from __future__ import annotations

import resource
from typing import Any, cast

import pytest

from computeadvisor.app.connection_guard import ConnectionGuard, GuardedHttpProtocol, connection_limit

pytestmark = pytest.mark.anyio


class Conn:
    def __init__(self, name: str) -> None:
        self.name = name
        self.closed = False

    def close_now(self) -> None:
        self.closed = True


def conn(name: str) -> GuardedHttpProtocol:
    return cast(GuardedHttpProtocol, Conn(name))


def closed(*connections: Any) -> list[str]:
    return [c.name for c in connections if c.closed]


async def test_at_the_cap_the_oldest_waiting_connection_is_evicted_and_busy_ones_never() -> None:
    guard = ConnectionGuard(max_connections=3, header_timeout_s=60)
    a, b, c, d, e = (conn(n) for n in "abcde")
    assert guard.admit(a) and guard.admit(b) and guard.admit(c)
    guard.busy(a)  # serving a request
    assert guard.admit(d)  # evicts b, the oldest waiting
    assert closed(a, b, c) == ["b"]
    guard.waiting(c)  # c finished a response: now the newest waiting
    assert guard.admit(e)  # evicts d, now the oldest waiting
    assert closed(a, b, c, d) == ["b", "d"]
    assert (guard.open_connections, guard.evicted, guard.refused) == (3, 2, 0)


async def test_when_every_connection_is_busy_a_new_one_is_refused() -> None:
    guard = ConnectionGuard(max_connections=2, header_timeout_s=60)
    a, b, c = (conn(n) for n in "abc")
    for x in (a, b):
        assert guard.admit(x)
        guard.busy(x)
    assert guard.admit(c) is False
    assert closed(a, b) == [] and guard.refused == 1
    guard.closed(a)
    assert guard.admit(c) is True


async def test_the_sweep_closes_connections_waiting_past_the_deadline() -> None:
    now = [100.0]
    guard = ConnectionGuard(max_connections=10, header_timeout_s=10, clock=lambda: now[0])
    waiting, busy, newer = conn("waiting"), conn("busy"), conn("newer")
    guard.admit(waiting)
    guard.admit(busy)
    guard.busy(busy)
    now[0] = 105.0
    guard.admit(newer)
    now[0] = 110.0  # "waiting" has waited exactly the deadline, "newer" only 5 s
    guard.sweep()
    assert closed(waiting, busy, newer) == ["waiting"]
    assert guard.timed_out == 1
    guard.waiting(busy)  # its response is done: the deadline runs from now
    now[0] = 119.0
    guard.sweep()
    assert closed(waiting, busy, newer) == ["waiting", "newer"]
    assert guard.open_connections == 1


def test_the_connection_limit_leaves_files_for_the_stores() -> None:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        pytest.skip("no open-file limit on this process")
    assert connection_limit(10) == min(10, soft - 128)
    assert connection_limit(10**9) == max(1, soft - 128)
