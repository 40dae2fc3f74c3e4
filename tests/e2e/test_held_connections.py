"""Held connections cannot starve the service (the real process, raw sockets on 127.0.0.1).

Idle and slowloris connections are closed after the header deadline; at the connection cap the oldest idle one
makes room for a new client; under a small file-descriptor limit, with more idle connections held than the
process may open, a normal request is still answered and the background sampler keeps running.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ._harness import ServerLauncher, json_body, poll

pytestmark = pytest.mark.e2e
DRIP_S = 0.05


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.setblocking(False)
    return sock


def closed_by_server(sock: socket.socket) -> bool:
    """Whether the server closed ``sock`` (EOF or reset); False while it is still open and silent."""
    try:
        return sock.recv(4096) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


@contextlib.contextmanager
def held(port: int, count: int) -> Iterator[list[socket.socket]]:
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sockets.append(connect(port))
        yield sockets
    finally:
        for sock in sockets:
            sock.close()


def test_idle_and_slowloris_connections_are_closed_at_the_header_deadline(
    launcher: ServerLauncher, state_root: Path
) -> None:
    server = launcher.start(state_root, args=("--header-timeout", "0.5"))
    with held(server.port, 1) as (idle,), held(server.port, 1) as (slow,):
        slow.send(b"GET /api/schedule/health HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        while not closed_by_server(slow) and time.monotonic() - started < 10:
            with contextlib.suppress(OSError):  # the server may close it between the check and the send
                slow.send(b"X")  # a header byte now and then never completes the request
            time.sleep(DRIP_S)  # the slowloris client's pace, not a wait for a condition
        assert closed_by_server(slow)
        assert poll(lambda: closed_by_server(idle), bool, timeout_s=10)
    with server.client() as http:  # a real client is unaffected
        assert json_body(http.get("/api/schedule/health"))["ok"] is True


def test_at_the_cap_the_oldest_idle_connection_makes_room(launcher: ServerLauncher, state_root: Path) -> None:
    server = launcher.start(state_root, args=("--max-connections", "10", "--header-timeout", "60"))
    with held(server.port, 30) as idle:
        # Each connection beyond the cap evicted the oldest idle one: 20 were closed, the newest 10 are open.
        evicted = poll(lambda: sum(closed_by_server(s) for s in idle), lambda n: n >= 20, timeout_s=10)
        assert evicted >= 20
        with server.client() as http:
            assert json_body(http.get("/api/schedule/health"))["ok"] is True


def test_a_request_is_answered_with_more_idle_connections_than_file_descriptors(
    launcher: ServerLauncher, state_root: Path
) -> None:
    server = launcher.start(state_root, nofile=256)
    with server.client() as http:
        first = json_body(http.get("/api/gpu/list", params={"debug": "1"}))["metrics"]["timestamp"]
    # 600 idle connections: far past the 256 files the process may open.
    with held(server.port, 600), server.client() as http:
        for _ in range(20):
            assert json_body(http.get("/api/schedule/health"))["ok"] is True
        later = poll(
            lambda: json_body(http.get("/api/gpu/list", params={"debug": "1"}))["metrics"]["timestamp"],
            lambda stamp: stamp != first,
            timeout_s=10,
        )
        assert later != first  # the sampler still runs: it still has file descriptors to read /proc
        assert json_body(http.post("/api/schedule/enqueue", json={"id": "still-writes"}))["created"] is True
    assert "Too many open files" not in server.log_text()
