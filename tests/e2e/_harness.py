"""Start and stop the service as a real ``computeadvisor serve`` subprocess (end-to-end tests only)."""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

import httpx

T = TypeVar("T")

HOST = "127.0.0.1"
STARTUP_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 5.0
CLI_TIMEOUT_S = 30.0
REGISTRY_FILE = Path("config") / "compute_providers.json"


def json_body(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    """The response body as a JSON object, after checking the status code and content type."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert isinstance(body, dict), body
    return body


def poll(fetch: Callable[[], T], until: Callable[[T], bool], *, timeout_s: float, interval_s: float = 0.05) -> T:
    """``fetch()`` again every ``interval_s`` until ``until`` holds for its value or ``timeout_s`` passed; the last."""
    deadline = time.monotonic() + timeout_s
    value = fetch()
    while not until(value) and time.monotonic() < deadline:
        time.sleep(interval_s)
        value = fetch()
    return value


def free_port() -> int:
    """A port that was free a moment ago (the kernel picks it for a socket bound to 127.0.0.1:0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def client(base_url: str, *, timeout: float = 10.0) -> httpx.Client:
    """A sync client for one server; ``trust_env=False`` so proxy variables never divert loopback traffic."""
    return httpx.Client(base_url=base_url, timeout=timeout, trust_env=False)


def read_registry(root: Path) -> dict[str, Any]:
    """The registry file as JSON; fails the test when it is missing or not a JSON object."""
    data = json.loads((root / REGISTRY_FILE).read_bytes().decode("utf-8"))
    assert isinstance(data, dict), data
    return data


def registry_ids(root: Path) -> list[str]:
    """The provider ids stored in the registry file, in file order."""
    providers = read_registry(root)["providers"]
    assert isinstance(providers, list)
    return [str(entry["id"]) for entry in providers]


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without ``COMPUTEADVISOR_*`` variables, plus ``extra``; a wide terminal for rich."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPUTEADVISOR_")}
    env["COLUMNS"] = "200"
    env.update(extra or {})
    return env


def run_cli(
    *args: str,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = CLI_TIMEOUT_S,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m computeadvisor ARGS`` to completion (bounded by ``timeout``) and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "computeadvisor", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=clean_env(env),
        cwd=cwd,
        check=False,
    )


def write_json(path: Path, data: Any) -> None:
    """Write a JSON file (creating parent directories) the way a user editing the config would."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


@dataclass
class RunningServer:
    """One ``computeadvisor serve`` process."""

    root: Path
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    _log: IO[bytes] = field(repr=False)

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def log_text(self) -> str:
        """Everything the process wrote to stdout/stderr so far."""
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def client(self, *, timeout: float = 10.0) -> httpx.Client:
        return client(self.base_url, timeout=timeout)

    def kill_hard(self) -> None:
        """SIGKILL: no shutdown hooks, no flushing; what is on disk is all that survives."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=STOP_TIMEOUT_S)

    def stop(self) -> None:
        """Terminate, then kill if it does not exit in time, and reap the process."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_TIMEOUT_S)
        with contextlib.suppress(OSError):
            self._log.close()


class ServerLauncher:
    """Starts servers for a test and stops every one of them at teardown."""

    def __init__(self, log_dir: Path) -> None:
        self._log_dir = log_dir
        self._servers: list[RunningServer] = []

    def start(
        self, root: Path, *, args: Sequence[str] = (), nofile: int | None = None, port: int | None = None
    ) -> RunningServer:
        """Start a server on ``root`` and wait until GET /api/providers answers; retries a port lost to a race.

        ``args`` are extra ``serve`` options, e.g. ``("--token", "T")``; ``nofile`` limits the process's open files;
        ``port`` restarts a server where its clients expect it (else a free port is picked).
        """
        root.mkdir(parents=True, exist_ok=True)
        last_error = ""
        for _attempt in range(3):
            server = self._spawn(root, args, nofile, port)
            error = self._wait_ready(server)
            if error is None:
                return server
            last_error = error
            if "address already in use" not in error.lower():
                break
        raise AssertionError(last_error)

    def _spawn(
        self, root: Path, args: Sequence[str] = (), nofile: int | None = None, port: int | None = None
    ) -> RunningServer:
        port = port or free_port()
        log_path = self._log_dir / f"server-{len(self._servers)}-{port}.log"
        log = log_path.open("wb")
        env = {k: v for k, v in os.environ.items() if not k.startswith("COMPUTEADVISOR_")}
        command = [
            sys.executable,
            "-m",
            "computeadvisor",
            "serve",
            "--root",
            str(root),
            "--port",
            str(port),
            "--log-level",
            "warning",
            *args,
        ]

        def limit_files() -> None:
            if nofile is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, cwd=root, env=env, preexec_fn=limit_files
        )
        server = RunningServer(root=root, port=port, process=process, log_path=log_path, _log=log)
        self._servers.append(server)
        return server

    @staticmethod
    def _wait_ready(server: RunningServer) -> str | None:
        """None once the server answers; otherwise why it never did (the process is stopped then)."""
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        with server.client(timeout=1.0) as http:
            while time.monotonic() < deadline:
                if server.process.poll() is not None:
                    return f"server exited with {server.process.returncode} before answering:\n{server.log_text()}"
                try:
                    if http.get("/api/providers").status_code == 200:
                        return None
                except httpx.TransportError:
                    pass
                time.sleep(0.05)
        server.stop()
        return f"server did not answer GET /api/providers within {STARTUP_TIMEOUT_S} s:\n{server.log_text()}"

    def stop_all(self) -> None:
        for server in reversed(self._servers):
            server.stop()
        self._servers.clear()
