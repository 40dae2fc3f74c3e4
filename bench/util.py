"""Small helpers for bench/run.sh: free ports, waiting for servers, one-off requests.

python bench/util.py free-ports N
python bench/util.py wait URL PID [URL PID ...]      # every URL answers 2xx, or fail if a PID exits
python bench/util.py request METHOD URL [BODY] [--expect TEXT] [--out FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path


def free_ports(count: int) -> list[int]:
    """``count`` distinct TCP ports that were free on 127.0.0.1 a moment ago."""
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def fetch(method: str, url: str, body: str | None = None, timeout: float = 5.0) -> tuple[int, bytes]:
    """(status, body) of one request; HTTP error statuses are returned, not raised."""
    data = body.encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if data is not None else {}
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return int(resp.status), bytes(resp.read())
    except urllib.error.HTTPError as exc:
        return int(exc.code), bytes(exc.read())


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def wait(targets: list[tuple[str, int]], timeout: float) -> None:
    """Block until every URL answers 2xx; exit non-zero when its server PID has died or time runs out."""
    deadline = time.monotonic() + timeout
    pending = list(targets)
    while pending:
        url, pid = pending[0]
        if not alive(pid):
            sys.exit(f"bench: server for {url} (pid {pid}) exited before answering")
        try:
            status, _ = fetch("GET", url, timeout=1.0)
        except OSError:
            status = 0
        if 200 <= status < 300:
            pending.pop(0)
            continue
        if time.monotonic() > deadline:
            sys.exit(f"bench: {url} did not answer 2xx within {timeout:.0f}s (last status {status})")
        time.sleep(0.1)


@contextlib.contextmanager
def serving(root: str) -> Iterator[str]:
    """``computeadvisor serve`` on ``root`` at a free port, answering; its base URL. Stopped on exit."""
    port = free_ports(1)[0]
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "computeadvisor", "serve", "--root", root, "--port", str(port),
               "--log-level", "warning"]  # fmt: skip
    server = subprocess.Popen(command)
    try:
        wait([(f"{base}/api/schedule/health", server.pid)], timeout=30)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench/util.py")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p_ports = sub.add_parser("free-ports")
    p_ports.add_argument("count", type=int)
    p_wait = sub.add_parser("wait")
    p_wait.add_argument("pairs", nargs="+", help="URL PID pairs")
    p_wait.add_argument("--timeout", type=float, default=30.0)
    p_req = sub.add_parser("request")
    p_req.add_argument("method")
    p_req.add_argument("url")
    p_req.add_argument("body", nargs="?")
    p_req.add_argument("--expect", action="append", default=[], help="text the response body must contain")
    p_req.add_argument("--out", type=Path)
    args = parser.parse_args(argv)

    if args.cmd == "free-ports":
        print(" ".join(str(port) for port in free_ports(args.count)))
    elif args.cmd == "wait":
        pairs: list[str] = args.pairs
        if len(pairs) % 2:
            parser.error("wait takes URL PID pairs")
        wait([(pairs[i], int(pairs[i + 1])) for i in range(0, len(pairs), 2)], args.timeout)
    else:
        status, raw = fetch(args.method, args.url, args.body)
        text = raw.decode("utf-8", "replace")
        if args.out is not None:
            args.out.write_text(text + "\n", encoding="utf-8")
        if not 200 <= status < 300:
            sys.exit(f"bench: {args.method} {args.url} answered {status}: {text[:500]}")
        missing = [needle for needle in args.expect if needle not in text]
        if missing:
            sys.exit(f"bench: {args.method} {args.url} response lacks {missing}: {text[:500]}")


if __name__ == "__main__":
    main()
