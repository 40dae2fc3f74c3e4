"""What a worker hands its handler for one job, and what the handler hands back."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from computeadvisor.domain.jobs import Job, Lease

LEASE_LOST = "lease lost"
SHUTDOWN = "shutdown"


@dataclass(frozen=True)
class Outcome:
    """What a succeeded job reports besides its duration (§5.7 complete; None: not measured)."""

    bytes_tx: int | None = None
    bytes_rx: int | None = None
    vram_gb: float | None = None
    outputs: tuple[str, ...] = ()
    """Names of the files the job wrote: the completion keeps them in the job's last run (``runs[-1].outputs``)."""


class JobFailed(Exception):
    """Raised by a handler to fail its job with this message."""


class JobContext:
    """One claimed job while it runs: the record, the lease, the device, and a stop request the handler heeds.

    A stop is requested when the lease is lost (a heartbeat answered 409) or when the worker gives up on a
    graceful shutdown; whatever the handler returns afterwards is ignored.
    """

    def __init__(self, job: Job, lease: Lease, device_id: str | None) -> None:
        self.job = job
        self.lease = lease
        self.device_id = device_id
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._reason: str | None = None
        self._callbacks: list[Callable[[], None]] = []

    @property
    def stop_reason(self) -> str | None:
        """``"lease lost"``, ``"shutdown"``, or None while the job may go on."""
        return self._reason

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``, waking early on a stop request; True when a stop was requested."""
        return self._stop.wait(seconds)

    def on_stop(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (from another thread) when a stop is requested; at once if one already was."""
        with self._lock:
            if self._reason is None:
                self._callbacks.append(callback)
                return
        callback()

    def request_stop(self, reason: str) -> None:
        """Ask the handler to stop (the first reason is kept) and run the registered callbacks once."""
        with self._lock:
            if self._reason is not None:
                return
            self._reason = reason
            callbacks, self._callbacks = self._callbacks, []
        self._stop.set()
        for callback in callbacks:
            callback()


Handler = Callable[[JobContext], Outcome | None]
"""Runs one job: returns normally to complete it, raises (:class:`JobFailed` or any exception) to fail it."""
