"""The worker loop (§15): long-poll claims, the handler with heartbeats beside it, the outcome reported once.

Threads, not asyncio, so that a handler may block or burn CPU: each of ``concurrency`` slots claims and runs one
job at a time, and each running job has its own heartbeat thread, which a busy handler cannot starve (the GIL
switches threads every few milliseconds; a command runs in its own process anyway).

What happens to a job, in order of precedence:

* its lease is lost (a heartbeat answers 409 or 404): the handler is asked to stop and the job is left alone;
* the worker gives up on a graceful stop (``grace_s`` passed): the handler is asked to stop, the job is requeued;
* the handler returns: the job completes with the duration measured around the handler and the outcome's sizes;
* the handler raises: the job fails with the message.

Reports (complete, fail, requeue) are retried with a capped backoff while the server is away, as long as the lease
could still be current; past that the server requeues the job by itself when the lease expires.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from computeadvisor.client.context import LEASE_LOST, SHUTDOWN, Handler, JobContext, JobFailed, Outcome
from computeadvisor.client.errors import ApiError, ClientError, LeaseLost, ServerUnreachable
from computeadvisor.client.sync import Client
from computeadvisor.domain.job_requests import MAX_OUTPUT_LENGTH, MAX_OUTPUTS
from computeadvisor.domain.jobs import Job, Lease

log = logging.getLogger("computeadvisor.worker")

BACKOFF_S = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0)
"""Waits between retries while the server is unreachable; the last one repeats (capped)."""


def backoff(failures: int) -> float:
    """Seconds to wait after ``failures`` consecutive failures (1 or more)."""
    return BACKOFF_S[min(failures, len(BACKOFF_S)) - 1]


def reportable(outputs: tuple[str, ...]) -> tuple[str, ...]:
    """The output names a completion can carry (§15): names too long for the server left out, at most its cap."""
    kept = tuple(name for name in outputs if len(name) <= MAX_OUTPUT_LENGTH)
    if len(kept) < len(outputs) or len(kept) > MAX_OUTPUTS:
        log.warning("%d output names reported, %d kept (at most %d, each up to %d characters)",
                    len(outputs), min(len(kept), MAX_OUTPUTS), MAX_OUTPUTS, MAX_OUTPUT_LENGTH)  # fmt: skip
    return kept[:MAX_OUTPUTS]


def default_worker_id() -> str:
    """``<host>:<pid>``: who holds a lease, as the board and the runs list show it."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class WorkerOptions:
    """How a worker claims: queue, device, parallel jobs, lease length, job budget and shutdown grace."""

    queue: str = "local"
    device_id: str | None = None
    worker_id: str = field(default_factory=default_worker_id)
    concurrency: int = 1
    lease_seconds: int = 60
    max_jobs: int | None = None
    grace_s: float = 30.0
    wait_seconds: int = 5
    """Long-poll per claim; also the longest a stop waits for a claim in flight."""

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if self.lease_seconds < 3:
            raise ValueError("lease_seconds must be at least 3 (heartbeats go every third of it)")
        if self.max_jobs is not None and self.max_jobs < 1:
            raise ValueError("max_jobs must be at least 1")


@dataclass
class WorkerReport:
    """What a worker did before it stopped."""

    succeeded: int = 0
    failed: int = 0
    requeued: int = 0
    lost: int = 0
    fatal: str | None = None
    """Why the worker stopped by itself (a permanent error such as 401), or None."""


class _Running:
    """One job in flight: its context and the heartbeat thread that keeps its lease."""

    def __init__(self, client: Client, ctx: JobContext, lease_seconds: int) -> None:
        self.client = client
        self.ctx = ctx
        self.lease_seconds = lease_seconds
        self.deadline = time.monotonic() + lease_seconds
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._beat, name=f"heartbeat-{ctx.job.id}", daemon=True)

    def _beat(self) -> None:
        interval = self.lease_seconds / 3
        failures = 0
        while not self.done.wait(min(interval, backoff(failures)) if failures else interval):
            try:
                self.client.heartbeat(self.ctx.job.id, self.ctx.lease.token)
            except (LeaseLost, ApiError) as exc:
                if isinstance(exc, ApiError) and exc.retryable:
                    failures += 1
                    continue
                log.warning("job %s: %s (%s); stopping it", self.ctx.job.id, LEASE_LOST, exc)
                self.ctx.request_stop(LEASE_LOST)
                return
            except ServerUnreachable as exc:
                failures += 1
                log.warning("job %s: heartbeat not delivered (%s); retrying", self.ctx.job.id, exc)
                continue
            failures = 0
            self.deadline = time.monotonic() + self.lease_seconds

    def __enter__(self) -> _Running:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join()


class Worker:
    """Claims jobs from one queue and runs ``handler`` on each; :meth:`run` blocks, :meth:`stop` ends it."""

    def __init__(self, client: Client, handler: Handler, options: WorkerOptions | None = None) -> None:
        self.client = client
        self.handler = handler
        self.options = options or WorkerOptions()
        self.report = WorkerReport()
        self._stopping = threading.Event()
        self._aborting = threading.Event()
        self._changed = threading.Event()
        self._lock = threading.Lock()
        self._taken = 0
        self._running: set[JobContext] = set()

    # -- control -------------------------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop claiming and let running jobs finish within the grace; a second call stops them at once."""
        if self._stopping.is_set():
            self._abort()
        self._stopping.set()
        self._changed.set()

    def _abort(self) -> None:
        self._aborting.set()
        with self._lock:
            running = list(self._running)
        for ctx in running:
            ctx.request_stop(SHUTDOWN)

    def run(self) -> WorkerReport:
        """Work until stopped, until ``max_jobs`` jobs were taken and finished, or a permanent error."""
        slots = [threading.Thread(target=self._slot, name=f"slot-{n}") for n in range(self.options.concurrency)]
        for slot in slots:
            slot.start()
        while any(slot.is_alive() for slot in slots) and not self._stopping.is_set():
            self._changed.wait()
            self._changed.clear()
        deadline = time.monotonic() + self.options.grace_s
        for slot in slots:
            slot.join(max(0.0, deadline - time.monotonic()))
        if any(slot.is_alive() for slot in slots):
            log.warning("grace of %.0f s over: stopping the running jobs and requeueing them", self.options.grace_s)
            self._abort()
        for slot in slots:
            slot.join()
        return self.report

    # -- one slot --------------------------------------------------------------------------------------------

    def _reserve(self) -> bool:
        with self._lock:
            if self.options.max_jobs is not None and self._taken >= self.options.max_jobs:
                return False
            self._taken += 1
            return True

    def _release(self) -> None:
        with self._lock:
            self._taken -= 1

    def _slot(self) -> None:
        try:
            self._claim_loop()
        finally:
            self._changed.set()

    def _claim_loop(self) -> None:
        options = self.options
        failures = 0
        while not self._stopping.is_set() and self._reserve():
            try:
                answer = self.client.claim(
                    options.queue, worker_id=options.worker_id, device_id=options.device_id,
                    lease_seconds=options.lease_seconds, wait_seconds=options.wait_seconds,
                )  # fmt: skip
            except ClientError as exc:
                self._release()
                if isinstance(exc, ApiError) and not exc.retryable:
                    self._give_up(f"claim refused: {exc}")
                    return
                failures += 1
                log.warning("claim failed (%s); retrying in %.1f s", exc, backoff(failures))
                self._stopping.wait(backoff(failures))
                continue
            failures = 0
            if answer.job is None or answer.lease is None:
                self._release()
                continue
            if self._stopping.is_set():  # claimed while the stop came in: give it straight back
                deadline = time.monotonic() + options.lease_seconds
                self._report(answer.job.id, deadline, "requeue", functools.partial(self.client.requeue, answer.job.id))
                self._tally("requeued")
                return
            self._run(answer.job, answer.lease)

    def _tally(self, outcome: str) -> None:
        with self._lock:  # slots finish jobs on several threads
            setattr(self.report, outcome, getattr(self.report, outcome) + 1)

    def _give_up(self, why: str) -> None:
        log.error("%s; the worker stops", why)
        self.report.fatal = why
        self.stop()

    def _device_of(self, job: Job) -> str | None:
        return job.device_id or self.options.device_id

    def _run(self, job: Job, lease: Lease) -> None:
        ctx = JobContext(job, lease, self._device_of(job))
        with self._lock:
            self._running.add(ctx)
        if self._aborting.is_set():
            ctx.request_stop(SHUTDOWN)
        log.info("job %s: claimed (attempt %d) on %s", job.id, job.attempt, ctx.device_id or "-")
        try:
            with _Running(self.client, ctx, self.options.lease_seconds) as running:
                outcome, error, seconds = self._call_handler(ctx)
                self._finish(ctx, running, outcome, error, seconds)
        finally:
            with self._lock:
                self._running.discard(ctx)

    def _call_handler(self, ctx: JobContext) -> tuple[Outcome | None, str | None, float]:
        started = time.monotonic()
        try:
            outcome = self.handler(ctx)
        except JobFailed as exc:
            return None, str(exc), time.monotonic() - started
        except Exception as exc:  # a handler's bug fails its job, never the worker
            log.exception("job %s: the handler raised", ctx.job.id)
            return None, f"{type(exc).__name__}: {exc}", time.monotonic() - started
        return outcome, None, time.monotonic() - started

    def _finish(
        self, ctx: JobContext, running: _Running, outcome: Outcome | None, error: str | None, seconds: float
    ) -> None:
        job_id, token = ctx.job.id, ctx.lease.token
        if ctx.stop_reason == LEASE_LOST:
            self._tally("lost")
            return
        if ctx.stop_reason == SHUTDOWN:
            if self._report(job_id, running.deadline, "requeue", lambda: self.client.requeue(job_id)):
                self._tally("requeued")
            return
        if error is not None:
            if self._report(job_id, running.deadline, "fail",
                            lambda: self.client.fail(job_id, token, error=error)):  # fmt: skip
                self._tally("failed")
                log.info("job %s: failed after %.2f s: %s", job_id, seconds, error.splitlines()[0] if error else "")
            return
        done = outcome or Outcome()
        complete = lambda: self.client.complete(  # noqa: E731
            job_id, token, duration_sec=round(seconds, 3), bytes_tx=done.bytes_tx, bytes_rx=done.bytes_rx,
            vram_gb=done.vram_gb, outputs=reportable(done.outputs) or None,
        )  # fmt: skip
        if self._report(job_id, running.deadline, "complete", complete):
            self._tally("succeeded")
            outputs = f"; outputs: {', '.join(done.outputs)}" if done.outputs else ""
            log.info("job %s: succeeded in %.2f s%s", job_id, seconds, outputs)

    def _report(self, job_id: str, deadline: float, what: str, send: Callable[[], object]) -> bool:
        """Send a report until it lands; False when the lease was lost or can no longer be current."""
        failures = 0
        while True:
            try:
                send()
                return True
            except LeaseLost as exc:
                note = " (an earlier try may have landed)" if failures else ""
                log.warning("job %s: %s refused: %s%s", job_id, what, exc.detail, note)
                self._tally("lost")
                return False
            except ApiError as exc:
                if not exc.retryable:
                    log.error("job %s: %s refused: %s", job_id, what, exc)
                    return False
                failures += 1
            except ServerUnreachable:
                failures += 1
            if time.monotonic() > deadline:
                log.warning("job %s: %s not delivered before the lease ended; the server will requeue it", job_id, what)
                return False
            time.sleep(backoff(failures))
