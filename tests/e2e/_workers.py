"""Run ``computeadvisor worker`` processes for tests, and read their jobs back from the server."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ._harness import STOP_TIMEOUT_S, clean_env, poll

WORKER_EXIT_TIMEOUT_S = 60.0


@dataclass
class WorkerProcess:
    """One worker process; its stderr (the job lines) goes to ``log_path``."""

    process: subprocess.Popen[bytes]
    log_path: Path
    _log: IO[bytes]

    def log_text(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def signal(self, sig: signal.Signals) -> None:
        self.process.send_signal(sig)

    def wait(self, timeout_s: float = WORKER_EXIT_TIMEOUT_S) -> int:
        """The exit status (the worker must exit within ``timeout_s``)."""
        return self.process.wait(timeout=timeout_s)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT_S)
        with contextlib.suppress(OSError):
            self._log.close()


class WorkerLauncher:
    """Starts workers for a test and kills whatever is left at teardown."""

    def __init__(self, log_dir: Path) -> None:
        self._log_dir = log_dir
        self._workers: list[WorkerProcess] = []

    def start(self, base_url: str, *options: str, command: Sequence[str] = ()) -> WorkerProcess:
        log_path = self._log_dir / f"worker-{len(self._workers)}.log"
        log = log_path.open("wb")
        argv = [sys.executable, "-m", "computeadvisor", "worker", "--base", base_url, *options]
        if command:
            argv += ["--", *command]
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=clean_env())
        worker = WorkerProcess(process=process, log_path=log_path, _log=log)
        self._workers.append(worker)
        return worker

    def stop_all(self) -> None:
        for worker in self._workers:
            worker.stop()


@contextlib.contextmanager
def workers(log_dir: Path) -> Iterator[WorkerLauncher]:
    launcher = WorkerLauncher(log_dir)
    try:
        yield launcher
    finally:
        launcher.stop_all()


def python_command(source: str) -> list[str]:
    """A command that runs ``source`` with this interpreter (portable where ``sh`` tricks are not)."""
    return [sys.executable, "-c", source]


def wait_for_file(path: Path, timeout_s: float = 30.0) -> str:
    """The text of ``path`` once it exists and is not empty."""
    text = poll(lambda: path.read_text() if path.exists() else "", bool, timeout_s=timeout_s)
    assert text, f"{path} did not appear within {timeout_s} s"
    return text
