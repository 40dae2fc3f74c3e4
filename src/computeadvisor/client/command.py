"""Run a job as a command (§15): the record on stdin, where to write a result in the environment, stderr kept.

The command runs in its own session, so a Ctrl-C at the worker's terminal reaches the worker only and the worker
decides what the command gets: SIGTERM when its job must stop, SIGKILL ``kill_after_s`` later.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import msgspec

from computeadvisor.client.context import Handler, JobContext, JobFailed, Outcome

log = logging.getLogger("computeadvisor.worker")

JOB_ID_ENV = "COMPUTEADVISOR_JOB_ID"
RESULT_ENV = "COMPUTEADVISOR_RESULT"
"""What the worker sets in a command's environment: the job's id, and where the command may write its result."""
STDERR_TAIL_BYTES = 2048
KILL_AFTER_S = 10.0
TAIL_WAIT_S = 5.0


def gpu_index(device_id: str | None) -> str | None:
    """``"1"`` for ``gpu:1`` (the value of ``CUDA_VISIBLE_DEVICES``), None for any other device."""
    if device_id is None or not device_id.startswith("gpu:"):
        return None
    index = device_id.removeprefix("gpu:")
    return index if index.isdigit() else None


class _StderrTail(threading.Thread):
    """Copies a command's stderr to ours as it comes and keeps its last ``STDERR_TAIL_BYTES``."""

    def __init__(self, stream: IO[bytes], sink: IO[bytes] | None) -> None:
        super().__init__(name="stderr-tail", daemon=True)
        self.stream = stream
        self.sink = sink
        self.tail = bytearray()

    def run(self) -> None:
        while chunk := os.read(self.stream.fileno(), 65536):
            if self.sink is not None:
                self.sink.write(chunk)
                self.sink.flush()
            self.tail = (self.tail + chunk)[-STDERR_TAIL_BYTES:]
        self.stream.close()

    def text(self) -> str:
        return bytes(self.tail).decode(errors="replace").strip()


def _size(value: Any, integer: bool) -> float | int | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        return None
    return int(value) if integer else float(value)


def read_result(path: Path) -> Outcome:
    """The outcome a command wrote to ``COMPUTEADVISOR_RESULT`` (absent: nothing measured).

    Fields with a wrong type are left out with a warning, so that a sloppy result file never turns a succeeded
    job into a refused completion.
    """
    if not path.exists():
        return Outcome()
    try:
        data = msgspec.json.decode(path.read_bytes())
    except msgspec.DecodeError as exc:
        log.warning("result file %s is not JSON (%s); ignored", path, exc)
        return Outcome()
    if not isinstance(data, dict):
        log.warning("result file %s is not a JSON object; ignored", path)
        return Outcome()
    fields: dict[str, Any] = {}
    for name, integer in (("bytes_tx", True), ("bytes_rx", True), ("vram_gb", False)):
        if data.get(name) is not None:
            fields[name] = _size(data[name], integer)
            if fields[name] is None:
                log.warning("result file %s: %s must be a number >= 0; ignored", path, name)
    outputs = data.get("outputs")
    if isinstance(outputs, list):
        fields["outputs"] = tuple(str(o) for o in outputs)
    return Outcome(**fields)


def _stop(process: subprocess.Popen[bytes], kill_after_s: float) -> None:
    """SIGTERM to the command's process group, SIGKILL ``kill_after_s`` later if it is still there."""

    def signal_group(sig: signal.Signals) -> None:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, sig)

    signal_group(signal.SIGTERM)
    timer = threading.Timer(kill_after_s, signal_group, (signal.SIGKILL,))
    timer.daemon = True
    timer.start()


def _exit_text(status: int) -> str:
    if status < 0:
        return f"command killed by signal {signal.Signals(-status).name}"
    return f"command exited with status {status}"


def command_handler(
    argv: Sequence[str], *, env: Mapping[str, str] | None = None, kill_after_s: float = KILL_AFTER_S,
    stderr: IO[bytes] | None = None,
) -> Handler:  # fmt: skip
    """A handler that runs ``argv`` once per job (§15); ``stderr`` receives the command's stderr (ours by default)."""
    if not argv:
        raise ValueError("a command is needed")
    sink = stderr if stderr is not None else sys.stderr.buffer
    base_env = dict(os.environ if env is None else env)

    def run(ctx: JobContext) -> Outcome | None:
        with tempfile.TemporaryDirectory(prefix=f"computeadvisor-{ctx.job.id}-") as tmp:
            record = Path(tmp, "job.json")
            record.write_bytes(msgspec.json.encode(ctx.job))
            result = Path(tmp, "result.json")
            job_env = {**base_env, JOB_ID_ENV: ctx.job.id, RESULT_ENV: str(result)}
            if (index := gpu_index(ctx.device_id)) is not None:
                job_env["CUDA_VISIBLE_DEVICES"] = index
            with record.open("rb") as stdin:
                process = subprocess.Popen(
                    list(argv), stdin=stdin, stderr=subprocess.PIPE, env=job_env, start_new_session=True
                )
            assert process.stderr is not None
            tail = _StderrTail(process.stderr, sink)
            tail.start()
            ctx.on_stop(lambda: _stop(process, kill_after_s))
            status = process.wait()
            tail.join(TAIL_WAIT_S)  # a child the command left behind may hold stderr open
            if ctx.stop_reason is not None:
                return None
            if status != 0:
                text = tail.text()
                raise JobFailed(f"{_exit_text(status)}\n{text}" if text else _exit_text(status))
            return read_result(result)

    return run
