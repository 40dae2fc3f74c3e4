"""The event stream's cost to the scheduler and its delivery latency (issue 13, contract §11).

    .venv/bin/python bench/events.py [--streams 100] [--rounds 3] [--duration 5] [--workers 8] [--out FILE]

Starts ``computeadvisor serve`` on a fresh state root. Each round runs the same load twice, interleaved: ``--workers``
clients doing enqueue → claim → complete cycles for ``--duration`` seconds, once with no event stream open and once
with ``--streams`` streams open (held by a second process, ``readers`` below, so that reading them does not take the
load generator's CPU). One of those streams records when each job event arrives; set against the moment its
transition's 2xx reached the client (same clock, same machine), that is the delivery latency. Reports the median
cycles/s of each condition, their ratio, and the latency's p50 and p99.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx


async def cycles(base: str, workers: int, duration: float, acks: dict[tuple[str, str], float], tag: str) -> int:
    """Run enqueue → claim → complete cycles until ``duration`` passed; record each 2xx's time; count cycles."""
    done = 0
    end = time.monotonic() + duration
    limits = httpx.Limits(max_connections=workers)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as api:

        async def worker(n: int) -> None:
            nonlocal done
            k = 0
            while time.monotonic() < end:
                job_id = f"{tag}-{n}-{k}"
                k += 1
                (await api.post("/api/schedule/enqueue", json={"id": job_id})).raise_for_status()
                acks[(job_id, "queued")] = time.time()
                claimed = (await api.post("/api/schedule/claim", json={"worker_id": f"w{n}"})).json()
                if claimed["job"] is None:
                    continue
                taken = claimed["job"]["id"]
                acks[(taken, "running")] = time.time()
                body = {"job_id": taken, "lease_token": claimed["lease"]["token"], "duration_sec": 1}
                (await api.post("/api/schedule/complete", json=body)).raise_for_status()
                acks[(taken, "succeeded")] = time.time()
                done += 1

        await asyncio.gather(*(worker(n) for n in range(workers)))
    return done


MARKER = "end-of-round"
"""The job enqueued after a round's load: events arrive in id order, so once the recording stream has seen this
one, every event of the round has arrived."""


class _Drain(asyncio.Protocol):
    """A stream held open by a raw socket that discards what arrives: the cheapest possible client, so that the
    benchmark measures the server's cost of feeding 100 streams rather than an HTTP library's cost of reading them."""

    def __init__(self, request: bytes, opened: asyncio.Event) -> None:
        self._request = request
        self._opened = opened

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        transport.write(self._request)

    def data_received(self, data: bytes) -> None:
        if not self._opened.is_set():
            if not data.startswith(b"HTTP/1.1 200"):
                raise SystemExit(f"bench: a stream was refused: {data[:60]!r}")
            self._opened.set()


async def readers(base: str, count: int, out: Path) -> None:
    """Hold ``count`` streams open; the first records each job event's arrival time, and when it sees the marker
    job writes them to ``out`` and the process ends; the others drain their sockets (``_Drain``)."""
    arrivals: list[tuple[str, str, float]] = []
    stop = asyncio.Event()
    recording_open = asyncio.Event()

    async def record(client: httpx.AsyncClient) -> None:
        async with client.stream("GET", f"{base}/api/events?types=job") as response:
            response.raise_for_status()
            recording_open.set()
            async for line in response.aiter_lines():
                if line.startswith("data: "):
                    data = json.loads(line[6:])
                    if data["job_id"].startswith(MARKER):
                        stop.set()
                        return
                    arrivals.append((data["job_id"], data["to"], time.time()))

    host, port = base.removeprefix("http://").split(":")
    request = f"GET /api/events?types=job HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/event-stream\r\n\r\n"
    loop = asyncio.get_running_loop()
    drains: list[asyncio.BaseTransport] = []
    async with httpx.AsyncClient(timeout=httpx.Timeout(10, read=None)) as client:
        recorder = asyncio.create_task(record(client))
        await asyncio.wait_for(recording_open.wait(), timeout=60)
        for _ in range(count - 1):
            opened = asyncio.Event()
            drain = functools.partial(_Drain, request.encode(), opened)
            transport, _protocol = await loop.create_connection(drain, host, int(port))
            drains.append(transport)
            await asyncio.wait_for(opened.wait(), timeout=60)
        print("ready", flush=True)  # every stream has its headers: its position is fixed
        await stop.wait()
        recorder.cancel()
        for held in drains:
            held.close()
    await asyncio.to_thread(out.write_text, json.dumps(arrivals), encoding="utf-8")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "readers":
        asyncio.run(readers(sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])))
        return
    parser = argparse.ArgumentParser(prog="bench/events.py")
    parser.add_argument("--streams", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    result = run(args.streams, args.rounds, args.duration, args.workers)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


def run(streams: int, rounds: int, duration: float, workers: int) -> dict[str, Any]:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    rates: dict[str, list[float]] = {"none": [], "streams": []}
    latencies: list[float] = []
    with tempfile.TemporaryDirectory() as root:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "computeadvisor",
                "serve",
                "--root",
                root,
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--max-streams",
                str(streams + 1),
            ]
        )
        try:
            _wait(base)
            for r in range(rounds):
                acks: dict[tuple[str, str], float] = {}
                rates["none"].append(asyncio.run(cycles(base, workers, duration, acks, f"n{r}")) / duration)
                out = Path(root) / f"arrivals-{r}.json"
                holder = subprocess.Popen([sys.executable, __file__, "readers", base, str(streams), str(out)],
                                          stdout=subprocess.PIPE, text=True)  # fmt: skip
                assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
                acks = {}
                rates["streams"].append(asyncio.run(cycles(base, workers, duration, acks, f"s{r}")) / duration)
                # On the remote queue, out of the workers' way; it ends the readers once its event reached them.
                httpx.post(f"{base}/api/schedule/enqueue", json={"id": f"{MARKER}-{r}", "queue": "remote"})
                holder.wait(timeout=30)
                for job_id, to, arrived in json.loads(out.read_text(encoding="utf-8")):
                    if (job_id, to) in acks:
                        latencies.append(arrived - acks[(job_id, to)])
        finally:
            server.terminate()
            server.wait(timeout=20)
    latencies.sort()
    none, with_streams = statistics.median(rates["none"]), statistics.median(rates["streams"])
    return {
        "cycles_per_s": {"no_streams": round(none, 1), f"{streams}_streams": round(with_streams, 1)},
        "ratio": round(with_streams / none, 3),
        "rounds": rates,
        "delivery_latency_ms": {
            "events": len(latencies),
            "p50": round(latencies[len(latencies) // 2] * 1000, 2),
            "p99": round(latencies[int(len(latencies) * 0.99)] * 1000, 2),
        },
        "settings": {"streams": streams, "rounds": rounds, "duration_s": duration, "workers": workers},
    }


def _wait(base: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/api/schedule/health").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit("bench: the service did not start")


if __name__ == "__main__":
    main()
