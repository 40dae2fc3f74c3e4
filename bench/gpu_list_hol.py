"""GET /api/gpu/list never blocks other requests, and the sampler's own cost at 1 Hz (issue 3's benchmark).

Starts ``computeadvisor serve`` on a temporary root, then measures:

1. the server's CPU use while idle (the 1 Hz sampler and the 1 s lease-expiry tick), from /proc/<pid>/stat;
2. GET /api/providers latency (p50/p99 of sequential requests) alone, and while another connection requests
   GET /api/gpu/list back to back (head-of-line blocking would show here: a handler that probed hardware or slept
   would hold every other request behind it).

Usage: ``.venv/bin/python bench/gpu_list_hol.py [--requests N] [--idle-seconds S]``
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--idle-seconds", type=float, default=20.0)
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
            stop = threading.Event()
            gpu_calls = 0

            def hammer() -> None:
                nonlocal gpu_calls
                with httpx.Client(base_url=base, trust_env=False, timeout=10) as other:
                    while not stop.is_set():
                        other.get("/api/gpu/list").raise_for_status()
                        gpu_calls += 1

            thread = threading.Thread(target=hammer)
            thread.start()
            try:
                loaded = _latencies(client, "/api/providers", args.requests)
            finally:
                stop.set()
                thread.join()
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
