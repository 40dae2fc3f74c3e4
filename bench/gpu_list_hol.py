"""GET /api/gpu/list never blocks other requests, and the sampler's own cost at 1 Hz (issue 3's benchmark).

Starts ``computeadvisor serve`` on a temporary root, then measures:

1. the server's CPU use while idle (the 1 Hz sampler and the 1 s lease-expiry tick), from /proc/<pid>/stat;
2. GET /api/providers latency (p50/p99 of sequential requests) alone, and while another connection sends
   GET /api/gpu/list at a steady rate (``--load-rate``, default 200/s, a few % of the server's capacity).
   Head-of-line blocking shows here: a handler that probed hardware or slept (ComfyVN's sleeps 50 ms, so it
   cannot even serve 20/s) holds every other request behind it. ``--load-rate 0`` sends back to back instead,
   which measures plain CPU sharing between two clients rather than blocking.

Usage: ``.venv/bin/python bench/gpu_list_hol.py [--requests N] [--idle-seconds S] [--load-rate R]``
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _latencies(client: httpx.Client, path: str, count: int) -> list[float]:
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        client.get(path).raise_for_status()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def _summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {statistics.median(ordered):.2f} ms, p99 {p99:.2f} ms"


_LOAD = """
import signal, sys, time, httpx
base, rate = sys.argv[1], float(sys.argv[2])
calls, interval = 0, (1 / rate if rate > 0 else 0.0)
signal.signal(signal.SIGTERM, lambda *_: (print(calls, flush=True), sys.exit(0)))
next_at = time.perf_counter()
with httpx.Client(base_url=base, trust_env=False, timeout=10) as client:
    while True:
        client.get("/api/gpu/list").raise_for_status()
        calls += 1
        next_at += interval
        time.sleep(max(0.0, next_at - time.perf_counter()))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--idle-seconds", type=float, default=20.0)
    parser.add_argument("--load-rate", type=float, default=200.0, help="gpu/list requests per second; 0 = no pause")
    args = parser.parse_args()
    port = _free_port()
    root = tempfile.mkdtemp(prefix="gpu-hol-")
    command = [sys.executable, "-m", "computeadvisor", "serve", "--root", root, "--port", str(port)]
    server = subprocess.Popen([*command, "--log-level", "warning"])
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, trust_env=False, timeout=10) as client:
            for _ in range(100):
                try:
                    client.get("/api/providers")
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            time.sleep(2)
            before = _cpu_seconds(server.pid)
            time.sleep(args.idle_seconds)
            idle = (_cpu_seconds(server.pid) - before) / args.idle_seconds * 100
            print(f"idle server CPU (sampler at 1 Hz + lease tick): {idle:.2f} % of one core")
            _latencies(client, "/api/providers", 200)  # warm-up
            alone = _latencies(client, "/api/providers", args.requests)
            # The load runs in its own process: a second thread here would share the GIL with the measuring loop
            # and show up as latency that the server never caused.
            load = subprocess.Popen([sys.executable, "-c", _LOAD, base, str(args.load_rate)], stdout=subprocess.PIPE)
            time.sleep(1.0)
            try:
                loaded = _latencies(client, "/api/providers", args.requests)
            finally:
                load.terminate()
                gpu_calls = int((load.communicate(timeout=10)[0] or b"0").decode().strip() or 0)
        print(f"GET /api/providers alone:                 {_summary(alone)}")
        print(
            f"GET /api/providers with /api/gpu/list load: {_summary(loaded)} ({gpu_calls} gpu/list requests meanwhile)"
        )
        ratio = statistics.median(loaded) / statistics.median(alone)
        print(f"median ratio loaded/alone: {ratio:.2f}")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
