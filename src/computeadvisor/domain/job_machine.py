"""The scheduler's state machine (§5.3-§5.7) as pure functions: a stored job in, the changed job out, or an error.

Every JobStore adapter applies these, so the in-memory and the SQLite store cannot drift apart; the one exception
is the claim, which SQLite must do as a single ``UPDATE ... RETURNING`` statement and which mirrors
:func:`claim` column by column (the contract suite and the state-machine test run both against the same model).

``seq`` is a store-wide counter the adapter hands out, rising on every change of status. The claim order uses the
seq a job got when it became queued (§5.4); the other orders use it to break ties between equal timestamps, so
that both adapters order equal timestamps the same way.
"""

from __future__ import annotations

import secrets

import msgspec

from computeadvisor.domain.costs import CostInputs, cost_parts
from computeadvisor.domain.errors import Conflict, InvalidInput, NotFound
from computeadvisor.domain.job_requests import ClaimRequest, CompleteRequest, FailRequest, HeartbeatRequest
from computeadvisor.domain.job_spec import JobSpec
from computeadvisor.domain.jobs import (
    FINISHED,
    LEASE_EXPIRED,
    Claimed,
    Job,
    JobStatus,
    Lease,
    PriceBook,
    Run,
)
from computeadvisor.domain.values import iso_utc


class LeaseState(msgspec.Struct, frozen=True, kw_only=True):
    """A running job's lease: the fencing token, the expiry (epoch seconds) and the claim's duration (seconds)."""

    token: str
    expires_ts: float
    seconds: int


class JobState(msgspec.Struct, frozen=True, kw_only=True):
    """What a store keeps per job: the record, its ordering seq, its lease, and the spec of its first enqueue."""

    job: Job
    seq: int
    lease: LeaseState | None
    spec: JobSpec

    def __post_init__(self) -> None:
        # The record shows when its lease ends (§11): derived here, from the one lease, so no transition can leave
        # a stale expiry in the record.
        expires = None if self.lease is None else iso_utc(self.lease.expires_ts)
        if self.job.lease_expires_at != expires:
            msgspec.structs.force_setattr(self, "job", msgspec.structs.replace(self.job, lease_expires_at=expires))


def not_found(job_id: str) -> NotFound:
    """The 404 of an unknown job id, detail exactly ``job 'X' not found``."""
    return NotFound(f"job '{job_id}' not found")


def new_lease_token() -> str:
    """An opaque, unguessable lease token (192 random bits)."""
    return secrets.token_urlsafe(24)


def new_state(spec: JobSpec, now: float, seq: int) -> JobState:
    """A freshly enqueued job at ``now`` (epoch seconds)."""
    job = Job(
        id=spec.id,
        name=spec.name,
        queue=spec.queue,
        priority=spec.priority,
        sticky=spec.sticky,
        sticky_device_id=spec.device_id,
        device_id=spec.device_id,
        provider_id=spec.provider_id,
        payload=spec.payload,
        meta=spec.meta,
        status=JobStatus.QUEUED,
        attempt=0,
        runs=(),
        worker_id=None,
        error=None,
        created_ts=now,
        updated_ts=now,
        started_ts=None,
        completed_ts=None,
        duration_sec=None,
        cost_estimate=None,
        bytes_tx=spec.bytes_tx,
        bytes_rx=spec.bytes_rx,
        vram_gb=spec.vram_gb,
        run_at_ts=spec.due_ts(now),
    )
    return JobState(job=job, seq=seq, lease=None, spec=spec)


def is_due(job: Job, now: float) -> bool:
    """Whether a queued job may be claimed at ``now``: it has no ``run_at``, or it has passed (§15)."""
    return job.run_at_ts is None or job.run_at_ts <= now


def check_same_spec(state: JobState, spec: JobSpec) -> None:
    """Idempotent enqueue (§5.6): Conflict naming the id unless ``spec`` equals the first enqueue's spec."""
    if state.spec != spec:
        raise Conflict(f"job '{spec.id}' already exists with a different spec (status {state.job.status})")


def _conflict(job: Job, operation: str, allowed: str, *, token: str | None = None) -> Conflict:
    # A token for a job that is no longer running is stale as well; saying so helps the worker that sent it.
    stale = "; the lease is stale" if token is not None else ""
    return Conflict(f"job '{job.id}' is {job.status}: cannot {operation} (only {allowed} jobs){stale}")


def _is_current(state: JobState, token: str) -> bool:
    return state.lease is not None and secrets.compare_digest(token.encode(), state.lease.token.encode())


def _require_running(state: JobState, operation: str, token: str | None) -> LeaseState:
    """The lease, or a Conflict unless the job runs under the lease ``token`` names (no token: any, §5.5)."""
    if state.job.status != JobStatus.RUNNING or state.lease is None:
        raise _conflict(state.job, operation, JobStatus.RUNNING, token=token)
    if token is not None and not _is_current(state, token):
        raise Conflict(f"job '{state.job.id}' is {state.job.status}: the lease is stale (not the current token)")
    return state.lease


def lease_of(state: JobState) -> Lease:
    """The client's view of a running job's lease."""
    if state.lease is None:
        raise ValueError(f"job {state.job.id!r} has no lease")
    return Lease(token=state.lease.token, expires_at=iso_utc(state.lease.expires_ts))


def claimed(state: JobState) -> Claimed:
    """What claim and heartbeat answer: the running job and its lease."""
    return Claimed(job=state.job, lease=lease_of(state))


def claimed_device(job: Job, device_id: str | None) -> tuple[str | None, str | None]:
    """(device_id, sticky_device_id) after a claim from ``device_id`` (§5.4)."""
    if job.sticky and job.sticky_device_id is not None:
        return job.sticky_device_id, job.sticky_device_id
    if device_id is None:
        return job.device_id, job.sticky_device_id
    if job.sticky:  # sticky without a device yet: bind it for later attempts
        return device_id, device_id
    return device_id, job.sticky_device_id


def claim(state: JobState, request: ClaimRequest, now: float, token: str, seq: int) -> JobState:
    """A queued job claimed at ``now``: running, attempt + 1, one more run, a lease of ``lease_seconds``."""
    job = state.job
    if job.status != JobStatus.QUEUED:
        raise _conflict(job, "claim", JobStatus.QUEUED)
    if not is_due(job, now):
        raise Conflict(f"job '{job.id}' is not due before {job.run_at}")
    device_id, sticky_device_id = claimed_device(job, request.device_id)
    attempt = job.attempt + 1
    run = Run(attempt=attempt, device_id=device_id, worker_id=request.worker_id, started_at=iso_utc(now))
    claimed = msgspec.structs.replace(
        job,
        status=JobStatus.RUNNING,
        attempt=attempt,
        runs=(*job.runs, run),
        worker_id=request.worker_id,
        device_id=device_id,
        sticky_device_id=sticky_device_id,
        started_ts=now,
        updated_ts=now,
    )
    lease = LeaseState(token=token, expires_ts=now + request.lease_seconds, seconds=request.lease_seconds)
    return msgspec.structs.replace(state, job=claimed, seq=seq, lease=lease)


def heartbeat(state: JobState, request: HeartbeatRequest, now: float) -> JobState:
    """Extend a running job's lease to ``now`` + the given seconds, else the claim's duration; same token."""
    current = _require_running(state, "heartbeat", request.lease_token)
    seconds = request.lease_seconds or current.seconds
    lease = msgspec.structs.replace(current, expires_ts=now + seconds)
    return msgspec.structs.replace(state, job=msgspec.structs.replace(state.job, updated_ts=now), lease=lease)


def completion_cost(job: Job, prices: PriceBook) -> float:
    """The §4.4 cost of a finished job from its recorded values, rounded to 4 dp; null bytes count as 0.

    The job is priced by the entry of its own ``provider_id`` in ``prices`` (neutral defaults without one).
    """
    provider = prices.provider(job.provider_id)
    inputs = CostInputs(
        queue=job.queue,
        provider_id=job.provider_id,
        duration_sec=job.duration_sec or 0.0,
        bytes_tx=job.bytes_tx or 0,
        bytes_rx=job.bytes_rx or 0,
        vram_gb=job.vram_gb,
    )
    return round(cost_parts(inputs, provider).total, 4)


def complete(state: JobState, request: CompleteRequest, now: float, seq: int, prices: PriceBook) -> JobState:
    """Finish a running job with ``request.status``; measurements default as §5.7 says, cost included."""
    _require_running(state, "complete", request.lease_token)
    job = state.job
    started = job.started_ts if job.started_ts is not None else now
    duration = request.duration_sec if request.duration_sec is not None else max(0.0, now - started)
    finished = msgspec.structs.replace(
        job,
        status=request.status,
        error=None,  # a retried job shows its last error while it runs again (§15); done, the runs keep it
        completed_ts=now,
        updated_ts=now,
        duration_sec=round(float(duration), 3),
        bytes_tx=int(request.bytes_tx) if request.bytes_tx is not None else (job.bytes_tx or 0),
        bytes_rx=int(request.bytes_rx) if request.bytes_rx is not None else (job.bytes_rx or 0),
        vram_gb=float(request.vram_gb) if request.vram_gb is not None else job.vram_gb,
    )
    cost = request.cost_estimate
    cost = round(float(cost), 4) if cost is not None else completion_cost(finished, prices)
    runs = finished.runs
    if request.outputs is not None:
        runs = runs[:-1] + tuple(msgspec.structs.replace(run, outputs=request.outputs) for run in runs[-1:])
    finished = msgspec.structs.replace(finished, cost_estimate=cost, runs=runs)
    return msgspec.structs.replace(state, job=finished, seq=seq, lease=None)


def _failed(state: JobState, error: str | None, now: float, seq: int, prices: PriceBook) -> JobState:
    job = state.job
    started = job.started_ts if job.started_ts is not None else now
    # Unrounded (§5.7 fail); clamped so that a clock stepping backwards cannot make a negative duration.
    failed = msgspec.structs.replace(
        job,
        status=JobStatus.FAILED,
        error=error,
        completed_ts=now,
        updated_ts=now,
        duration_sec=max(0.0, now - started),
    )
    failed = msgspec.structs.replace(failed, cost_estimate=completion_cost(failed, prices))
    return msgspec.structs.replace(state, job=failed, seq=seq, lease=None)


def fail(state: JobState, request: FailRequest, now: float, seq: int, prices: PriceBook) -> JobState:
    """Fail a running job: error and completion set, duration now - started (unrounded), cost included.

    A job with attempts left (``max_attempts``, §15) is retried instead: back to ``queued``, due after the backoff
    of this attempt, the error kept on the job and in its last run.
    """
    _require_running(state, "fail", request.lease_token)
    if state.job.attempt < state.spec.max_attempts:
        return _retried(state, request.error, now, seq)
    return _failed(state, request.error, now, seq, prices)


def _retried(state: JobState, error: str | None, now: float, seq: int) -> JobState:
    queued = _requeued(state, None, now, seq)
    job = queued.job
    runs = job.runs[:-1] + tuple(msgspec.structs.replace(run, error=error) for run in job.runs[-1:])
    due = now + state.spec.retry_delay(state.job.attempt)
    return msgspec.structs.replace(queued, job=msgspec.structs.replace(job, runs=runs, error=error, run_at_ts=due))


def _requeued(state: JobState, priority: int | None, now: float, seq: int) -> JobState:
    job = msgspec.structs.replace(
        state.job,
        status=JobStatus.QUEUED,
        priority=state.job.priority if priority is None else priority,
        worker_id=None,
        started_ts=None,
        completed_ts=None,
        duration_sec=None,
        cost_estimate=None,
        error=None,
        run_at_ts=None,
        updated_ts=now,
    )
    return msgspec.structs.replace(state, job=job, seq=seq, lease=None)


def requeue(state: JobState, priority: int | None, now: float, seq: int) -> JobState:
    """Back to the end of its priority band (§5.7 requeue); a queued job is returned unchanged."""
    if state.job.status == JobStatus.QUEUED:
        return state
    return _requeued(state, priority, now, seq)


def cancel(state: JobState, now: float, seq: int) -> JobState:
    """Cancel a queued or running job; duration and cost are left as they are."""
    job = state.job
    if job.status in FINISHED:
        raise _conflict(job, "cancel", "queued or running")
    cancelled = msgspec.structs.replace(job, status=JobStatus.CANCELLED, completed_ts=now, updated_ts=now)
    return msgspec.structs.replace(state, job=cancelled, seq=seq, lease=None)


def lease_expired(state: JobState, now: float) -> bool:
    """Whether a running job's lease has ended at ``now`` (epoch seconds)."""
    return state.job.status == JobStatus.RUNNING and state.lease is not None and state.lease.expires_ts <= now


def expire(state: JobState, now: float, seq: int, attempt_cap: int, prices: PriceBook) -> JobState:
    """Lease expiry (§5.5): requeue (priority kept) below the attempt cap, else fail with ``lease expired``."""
    if not lease_expired(state, now):
        return state
    if state.job.attempt < attempt_cap:
        return _requeued(state, None, now, seq)
    try:
        return _failed(state, LEASE_EXPIRED, now, seq, prices)
    except InvalidInput:
        # No client to tell: a job whose recorded sizes price to no finite number still fails, at neutral rates.
        return _failed(state, LEASE_EXPIRED, now, seq, PriceBook())


# -- orders shared by every adapter (SQLite spells the same in ORDER BY clauses) ----------------------------


def claim_key(state: JobState) -> tuple[int, int]:
    """Claim order among queued jobs of one queue: highest priority first, then FIFO by seq."""
    return -state.job.priority, state.seq


def active_key(state: JobState) -> tuple[float, int]:
    """Order of running jobs: oldest ``started_ts`` first."""
    return state.job.started_ts or 0.0, state.seq


def finished_key(state: JobState) -> tuple[float, int]:
    """Order of finished jobs: newest ``completed_ts`` first (also the order retention keeps)."""
    return -(state.job.completed_ts or 0.0), -state.seq


def expiry_key(state: JobState) -> tuple[float, int]:
    """Order in which expired leases are processed: earliest expiry first."""
    return (state.lease.expires_ts if state.lease else 0.0), state.seq
