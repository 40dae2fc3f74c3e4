"""A small closed-loop HTTP/1.1 load client for the scheduler benchmark (bench/scheduler.py).

wrk cannot chain enqueue -> claim -> complete per connection or stop when the claimable jobs run out, so this
client does it: ``connections`` keep-alive connections on uvloop, hand-written requests, bodies decoded with
msgspec, and the latency of every request kept (perf_counter around write + read). A phase ends after ``seconds``
or when its work runs out, and requests/s is counted over the time it really ran. Any non-2xx answer (or an
unexpected one, such as a claim that took a job this client did not enqueue) aborts the benchmark.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec

BENCH_PRIORITY = 1_000_000  # above every prefilled job (priorities 0..9), so claims take the bench's own jobs
CYCLE_PRIORITY = 2_000_000
SEQ_PRIORITY = 3_000_000
LEASE_SECONDS = 3600
_decode = msgspec.json.decode
_encode = msgspec.json.encode


class BenchError(RuntimeError):
    """A request failed or answered something the benchmark cannot count."""


class Connection:
    """One keep-alive connection; ``request`` sends one request and reads its whole answer."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()

    async def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        if self._reader is None or self._writer is None:
            raise BenchError("connection is not open")
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n"
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        self._writer.write(head.encode() + b"\r\n" + (body or b""))
        raw = await self._reader.readuntil(b"\r\n\r\n")
        status = int(raw[9:12])
        length = None
        for line in raw.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length is None:
            raise BenchError(f"{method} {path}: answer without Content-Length")
        return status, await self._reader.readexactly(length)


@dataclass
class Phase:
    """Requests/s and latencies (ms) of one timed phase."""

    name: str
    requests: int = 0
    units: int = 0  # what the phase counts: requests, or full cycles
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        """Units (requests, or cycles) per second."""
        return self.units / self.seconds if self.seconds else 0.0

    @property
    def request_rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        """The q-quantile (0..1) of the latencies, nearest rank; 0 when there are none."""
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


@dataclass
class Pool:
    """Connections to one server, and the jobs the benchmark has enqueued but not claimed, claimed but not done."""

    host: str
    port: int
    size: int
    conns: list[Connection] = field(default_factory=list)
    claimable: int = 0
    running: list[tuple[str, str]] = field(default_factory=list)
    ids: itertools.count[int] = field(default_factory=itertools.count)

    async def reconnect(self) -> None:
        """Fresh connections: the servers close keep-alive connections idle for 5 s (uvicorn's default)."""
        for conn in self.conns:
            conn.close()
        self.conns = [Connection(self.host, self.port) for _ in range(self.size)]
        await asyncio.gather(*(conn.open() for conn in self.conns))

    async def __aenter__(self) -> Pool:
        await self.reconnect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        for conn in self.conns:
            conn.close()


async def call(conn: Connection, method: str, path: str, body: Any, phase: Phase | None) -> Any:
    """One request; its latency goes to ``phase``; the decoded JSON answer, or BenchError on a non-2xx."""
    raw = None if body is None else _encode(body)
    start = time.perf_counter()
    status, answer = await conn.request(method, path, raw)
    if phase is not None:
        phase.latencies_ms.append((time.perf_counter() - start) * 1000)
        phase.requests += 1
    if not 200 <= status < 300:
        raise BenchError(f"{method} {path} answered {status}: {answer[:300]!r}")
    return _decode(answer)


def _claimed(answer: Any, priority: int) -> tuple[str, str]:
    job = answer["job"]
    if job is None or job["priority"] != priority:
        raise BenchError(f"claim did not return a bench job (priority {priority}): {str(answer)[:300]}")
    return job["id"], answer["lease"]["token"]


async def run_phase(
    pool: Pool, name: str, seconds: float, step: Callable[[Connection, Phase], Awaitable[bool]], *, conns: int = 0
) -> Phase:
    """Every connection (or the first ``conns``) runs ``step`` until ``seconds`` pass or a step returns False."""
    phase = Phase(name)
    await pool.reconnect()
    deadline = time.perf_counter() + seconds

    async def worker(conn: Connection) -> None:
        while time.perf_counter() < deadline and await step(conn, phase):
            pass

    start = time.perf_counter()
    await asyncio.gather(*(worker(conn) for conn in pool.conns[: conns or len(pool.conns)]))
    phase.seconds = time.perf_counter() - start
    if phase.units == 0:
        phase.units = phase.requests
    return phase


async def enqueue_phase(pool: Pool, seconds: float) -> Phase:
    async def step(conn: Connection, phase: Phase) -> bool:
        body = {"id": f"bench-e{next(pool.ids)}", "priority": BENCH_PRIORITY, "payload": {"frames": 24}}
        await call(conn, "POST", "/api/schedule/enqueue", body, phase)
        pool.claimable += 1
        return True

    return await run_phase(pool, "enqueue", seconds, step)


async def claim_phase(pool: Pool, seconds: float) -> Phase:
    async def step(conn: Connection, phase: Phase) -> bool:
        if pool.claimable <= 0:
            return False
        pool.claimable -= 1
        body = {"queue": "local", "worker_id": "bench", "lease_seconds": LEASE_SECONDS}
        pool.running.append(_claimed(await call(conn, "POST", "/api/schedule/claim", body, phase), BENCH_PRIORITY))
        return True

    return await run_phase(pool, "claim", seconds, step)


async def complete_phase(pool: Pool, seconds: float) -> Phase:
    async def step(conn: Connection, phase: Phase) -> bool:
        if not pool.running:
            return False
        job_id, token = pool.running.pop()
        body = {"job_id": job_id, "lease_token": token, "duration_sec": 12.5, "bytes_tx": 1024, "bytes_rx": 2048}
        await call(conn, "POST", "/api/schedule/complete", body, phase)
        return True

    return await run_phase(pool, "complete", seconds, step)


async def finish_running(pool: Pool) -> None:
    """Complete, untimed, what the complete phase left running (so running jobs do not pile up over rounds)."""
    await complete_phase(pool, 3600.0)


async def cycle_phase(pool: Pool, seconds: float) -> Phase:
    """Full enqueue -> claim -> complete cycles; the phase counts cycles."""

    async def step(conn: Connection, phase: Phase) -> bool:
        body = {"id": f"bench-c{next(pool.ids)}", "priority": CYCLE_PRIORITY, "payload": {"frames": 24}}
        await call(conn, "POST", "/api/schedule/enqueue", body, phase)
        claim = {"queue": "local", "worker_id": "bench", "lease_seconds": LEASE_SECONDS}
        job_id, token = _claimed(await call(conn, "POST", "/api/schedule/claim", claim, phase), CYCLE_PRIORITY)
        done = {"job_id": job_id, "lease_token": token, "duration_sec": 12.5}
        await call(conn, "POST", "/api/schedule/complete", done, phase)
        phase.units += 1
        return True

    return await run_phase(pool, "cycle", seconds, step)


async def bare_phase(pool: Pool, seconds: float, body: Any) -> Phase:
    async def step(conn: Connection, phase: Phase) -> bool:
        await call(conn, "POST", "/bare", body, phase)
        return True

    return await run_phase(pool, "bare-post", seconds, step)


async def sequential_claims(pool: Pool, samples: int) -> Phase:
    """Claim latency with no other load: enqueue (untimed), claim (timed), complete (untimed), one at a time."""
    phase = Phase("claim-seq")
    await pool.reconnect()
    conn = pool.conns[0]
    start = time.perf_counter()
    for _ in range(samples):
        body = {"id": f"bench-s{next(pool.ids)}", "priority": SEQ_PRIORITY}
        await call(conn, "POST", "/api/schedule/enqueue", body, None)
        claim = {"queue": "local", "worker_id": "bench-seq", "lease_seconds": LEASE_SECONDS}
        job_id, token = _claimed(await call(conn, "POST", "/api/schedule/claim", claim, phase), SEQ_PRIORITY)
        await call(conn, "POST", "/api/schedule/complete", {"job_id": job_id, "lease_token": token}, None)
    phase.seconds = time.perf_counter() - start
    phase.units = phase.requests
    return phase


async def sequential_gets(pool: Pool, name: str, path: str, samples: int) -> Phase:
    """Latency of ``samples`` GETs of ``path``, one at a time."""
    phase = Phase(name)
    await pool.reconnect()
    conn = pool.conns[0]
    start = time.perf_counter()
    for _ in range(samples):
        await call(conn, "GET", path, None, phase)
    phase.seconds = time.perf_counter() - start
    phase.units = phase.requests
    return phase
