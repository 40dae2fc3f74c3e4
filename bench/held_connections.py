"""Latency of a normal GET while an attacker holds idle and slowloris connections (issue: held connections).

    .venv/bin/python bench/held_connections.py [--idle 2000] [--slow 200] [--nofile 1024] [--requests 300]

Starts ``computeadvisor serve`` on a fresh state root with its open-file limit set to ``--nofile``, measures
GET /api/schedule/health (a new connection per request, the worst case for the server) with no attack, then
again while ``--idle`` connections that never send anything and ``--slow`` connections that drip one header byte
every 100 ms are held by a separate attacker process (so it does not slow the measuring client down); an attacker
whose connection the server closes opens a new one after ``--reconnect-delay`` seconds (0: at once), so the
numbers of held connections stay up all along. ``--server-python`` and ``--src`` run another checkout's server
(the previous commit) for a baseline. Prints medians, p99, failures and how often the attacker reconnected.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HEALTH = b"GET /api/schedule/health HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(python: str, src: str | None, port: int, nofile: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = src
    root = tempfile.mkdtemp(prefix="bench-held-")

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    command = [python, "-m", "computeadvisor", "serve", "--root", root, "--port", str(port), "--log-level", "warning"]
    return subprocess.Popen(command, env=env, preexec_fn=limit, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


async def one_request(port: int, timeout_s: float) -> float | None:
    """Seconds for one GET on a new connection; None when it failed or took longer than ``timeout_s``."""
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout_s):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(HEALTH)
            answer = await reader.read()
            writer.close()
    except (OSError, TimeoutError):
        return None
    return time.perf_counter() - started if answer.startswith(b"HTTP/1.1 200") else None


async def measure(port: int, count: int) -> list[float | None]:
    results: list[float | None] = []
    for _ in range(count):
        results.append(await one_request(port, timeout_s=2.0))
        await asyncio.sleep(0.01)
    return results


class Attacker:
    """Holds ``idle`` + ``slow`` connections, reopening any the server closes."""

    def __init__(self, port: int, idle: int, slow: int, reconnect_delay_s: float) -> None:
        self.port, self.idle, self.slow = port, idle, slow
        self.reconnect_delay_s = reconnect_delay_s
        self.reopened = 0
        self.stop = asyncio.Event()

    async def hold(self, drip: bool) -> None:
        while not self.stop.is_set():
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            try:
                if drip:
                    writer.write(b"GET /api/schedule/health HTTP/1.1\r\nHost: x\r\n")
                while not self.stop.is_set() and not reader.at_eof():
                    if drip:
                        writer.write(b"X")
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(0.1):
                            if await reader.read(1024) == b"":
                                break
            except OSError:
                pass
            finally:
                writer.close()
            self.reopened += 1
            await asyncio.sleep(self.reconnect_delay_s)

    async def run_until_stdin_closes(self) -> None:
        tasks = [asyncio.create_task(self.hold(False)) for _ in range(self.idle)]
        tasks += [asyncio.create_task(self.hold(True)) for _ in range(self.slow)]
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        self.stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        print(self.reopened, flush=True)


def summary(name: str, results: list[float | None]) -> str:
    good = sorted(r * 1000 for r in results if r is not None)
    failed = len(results) - len(good)
    if not good:
        return f"{name:28} all {failed} requests failed"
    p99 = good[min(len(good) - 1, int(len(good) * 0.99))]
    return f"{name:28} p50 {statistics.median(good):7.2f} ms  p99 {p99:7.2f} ms  failed {failed}/{len(results)}"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--idle", type=int, default=2000)
    parser.add_argument("--slow", type=int, default=200)
    parser.add_argument("--nofile", type=int, default=1024)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--server-python", default=sys.executable)
    parser.add_argument("--src", help="PYTHONPATH for the server (another checkout's src/)")
    parser.add_argument("--reconnect-delay", type=float, default=0.0)
    parser.add_argument("--attack", type=int, help=argparse.SUPPRESS)  # the attacker process: the port to attack
    args = parser.parse_args()
    resource.setrlimit(resource.RLIMIT_NOFILE, (20000, 20000))  # the attacker needs far more files than the server
    if args.attack is not None:
        await Attacker(args.attack, args.idle, args.slow, args.reconnect_delay).run_until_stdin_closes()
        return

    port = free_port()
    server = start(args.server_python, args.src, port, args.nofile)
    try:
        deadline = time.monotonic() + 30
        while await one_request(port, 1.0) is None:
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("server did not start")
            await asyncio.sleep(0.2)
        print(summary("no attack", await measure(port, args.requests)))
        attack = [sys.executable, __file__, "--attack", str(port), "--idle", str(args.idle), "--slow", str(args.slow)]
        attack += ["--reconnect-delay", str(args.reconnect_delay)]
        attacker = await asyncio.create_subprocess_exec(
            *attack, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
        )
        await asyncio.sleep(3.0)  # every attacking connection opened (or queued) before measuring
        under_attack = await measure(port, args.requests)
        reopened, _ = await attacker.communicate(b"")
        label = f"{args.idle} idle + {args.slow} slowloris"
        print(summary(label, under_attack) + f"  (attacker reconnects: {reopened.decode().strip()})")
    finally:
        server.terminate()
        server.wait(timeout=30)
        errors = server.stderr.read().decode(errors="replace") if server.stderr else ""
        print(f"server log: {errors.count('Too many open files')} 'Too many open files' lines")


if __name__ == "__main__":
    import uvloop

    uvloop.run(main())
