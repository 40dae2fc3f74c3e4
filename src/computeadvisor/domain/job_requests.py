"""Scheduler request bodies (§5.5, §5.7) parsed into plain values, so route handlers only call these.

Every function raises :class:`InvalidInput` (``Missing job_id``) or :class:`FieldError` naming the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from computeadvisor.domain.errors import FieldError, InvalidInput
from computeadvisor.domain.job_spec import (
    optional_non_negative,
    optional_string,
    parse_byte_count,
    parse_priority,
    parse_queue,
)
from computeadvisor.domain.jobs import DEFAULT_LEASE_SECONDS, FINISHED, JobStatus
from computeadvisor.domain.values import as_integer, id_text, plainly_truthy, whole_number

MISSING_JOB_ID = "Missing job_id"
MAX_LEASE_SECONDS = 2**31 - 1  # about 68 years: the expiry stays a representable date
MAX_WAIT_SECONDS = 30
MAX_OUTPUTS = 1000
MAX_OUTPUT_LENGTH = 1024
STATE_LIMIT_DEFAULT = 200
BOARD_LIMIT_DEFAULT = 100
LIMIT_MAX = 1000


class ClaimRequest(msgspec.Struct, frozen=True, kw_only=True):
    """POST claim: which queue, who claims, on which device, for how many seconds."""

    queue: str = "local"
    worker_id: str | None = None
    device_id: str | None = None
    lease_seconds: int = DEFAULT_LEASE_SECONDS
    wait_seconds: int = 0
    """How long an empty queue may keep the claim waiting for a job (§14 long-poll), 0…``MAX_WAIT_SECONDS``."""


class HeartbeatRequest(msgspec.Struct, frozen=True, kw_only=True):
    """POST heartbeat; ``lease_seconds`` None keeps the claim's duration."""

    job_id: str
    lease_token: str | None = None
    lease_seconds: int | None = None


class CompleteRequest(msgspec.Struct, frozen=True, kw_only=True):
    """POST complete; a None measurement takes the default of §5.7."""

    job_id: str
    lease_token: str | None = None
    status: JobStatus = JobStatus.SUCCEEDED
    duration_sec: float | None = None
    bytes_tx: int | None = None
    bytes_rx: int | None = None
    vram_gb: float | None = None
    cost_estimate: float | None = None
    outputs: tuple[str, ...] | None = None
    """Names of the files the job wrote (§15), kept in its last run."""


class FailRequest(msgspec.Struct, frozen=True, kw_only=True):
    """POST fail."""

    job_id: str
    error: str | None = None
    lease_token: str | None = None


class RequeueRequest(msgspec.Struct, frozen=True, kw_only=True):
    """POST requeue; ``priority`` None keeps the job's priority."""

    job_id: str
    priority: int | None = None


def parse_job_id(body: Mapping[str, Any]) -> str:
    """``job_id``: a string or an integer (converted); absent or falsy is InvalidInput ``Missing job_id``."""
    value = body.get("job_id")
    if not plainly_truthy(value):
        raise InvalidInput(MISSING_JOB_ID)
    job_id = id_text(value)
    if job_id is None:
        raise FieldError("job_id", "must be a string or an integer")
    return job_id


def parse_lease_seconds(value: Any) -> int | None:
    """A positive JSON integer of seconds up to 2**31 - 1; None when null."""
    if value is None:
        return None
    seconds = whole_number(value)
    if seconds is None or seconds <= 0:
        raise FieldError("lease_seconds", "must be a positive integer")
    if seconds > MAX_LEASE_SECONDS:
        raise FieldError("lease_seconds", f"must be at most {MAX_LEASE_SECONDS}")
    return seconds


def parse_wait_seconds(value: Any) -> int:
    """An integer of seconds, 0 to ``MAX_WAIT_SECONDS``; 0 when null."""
    if value is None:
        return 0
    seconds = whole_number(value)
    if seconds is None or not 0 <= seconds <= MAX_WAIT_SECONDS:
        raise FieldError("wait_seconds", f"must be an integer from 0 to {MAX_WAIT_SECONDS}")
    return seconds


def parse_claim(body: Mapping[str, Any]) -> ClaimRequest:
    """A claim body (may be ``{}``); the default lease is 3600 s, and an empty queue answers at once."""
    return ClaimRequest(
        queue=parse_queue(body),
        worker_id=optional_string(body.get("worker_id"), "worker_id"),
        device_id=optional_string(body.get("device_id"), "device_id"),
        lease_seconds=parse_lease_seconds(body.get("lease_seconds")) or DEFAULT_LEASE_SECONDS,
        wait_seconds=parse_wait_seconds(body.get("wait_seconds")),
    )


def parse_heartbeat(body: Mapping[str, Any]) -> HeartbeatRequest:
    """A heartbeat body."""
    return HeartbeatRequest(
        job_id=parse_job_id(body),
        lease_token=optional_string(body.get("lease_token"), "lease_token"),
        lease_seconds=parse_lease_seconds(body.get("lease_seconds")),
    )


def parse_complete(body: Mapping[str, Any]) -> CompleteRequest:
    """A complete body: status succeeded/failed/cancelled; measurements >= 0, rounded when stored."""
    job_id = parse_job_id(body)
    status = body.get("status")
    if status is None or status == "":
        status = JobStatus.SUCCEEDED
    if not isinstance(status, str) or status not in FINISHED:
        raise FieldError("status", "must be one of: succeeded, failed, cancelled")
    status = JobStatus(status)
    return CompleteRequest(
        job_id=job_id,
        lease_token=optional_string(body.get("lease_token"), "lease_token"),
        status=status,
        duration_sec=optional_non_negative(body.get("duration_sec"), "duration_sec"),
        bytes_tx=parse_byte_count(body.get("bytes_tx"), "bytes_tx"),
        bytes_rx=parse_byte_count(body.get("bytes_rx"), "bytes_rx"),
        vram_gb=optional_non_negative(body.get("vram_gb"), "vram_gb"),
        cost_estimate=optional_non_negative(body.get("cost_estimate"), "cost_estimate"),
        outputs=_parse_outputs(body.get("outputs")),
    )


def _parse_outputs(value: Any) -> tuple[str, ...] | None:
    """``outputs``: a list of file names (strings up to ``MAX_OUTPUT_LENGTH``), at most ``MAX_OUTPUTS``; or null."""
    if value is None:
        return None
    if not isinstance(value, list) or len(value) > MAX_OUTPUTS:
        raise FieldError("outputs", f"must be a list of at most {MAX_OUTPUTS} file names")
    if not all(isinstance(name, str) and len(name) <= MAX_OUTPUT_LENGTH for name in value):
        raise FieldError("outputs", f"must hold strings of at most {MAX_OUTPUT_LENGTH} characters")
    return tuple(value)


def parse_fail(body: Mapping[str, Any]) -> FailRequest:
    """A fail body: ``error`` is a string or null."""
    job_id = parse_job_id(body)
    error = body.get("error")
    if error is not None and not isinstance(error, str):
        raise FieldError("error", "must be a string or null")
    return FailRequest(
        job_id=job_id,
        error=error,
        lease_token=optional_string(body.get("lease_token"), "lease_token"),
    )


def parse_requeue(body: Mapping[str, Any]) -> RequeueRequest:
    """A requeue body: ``priority`` follows the enqueue rule."""
    return RequeueRequest(job_id=parse_job_id(body), priority=parse_priority(body.get("priority")))


def parse_limit(value: Any, default: int) -> int:
    """A page ``limit`` (query string or integer) in 1..1000; ``default`` when absent; FieldError ``limit``."""
    if value is None:
        return default
    number = as_integer(value)
    if number is None or not 1 <= number <= LIMIT_MAX:
        raise FieldError("limit", f"must be an integer from 1 to {LIMIT_MAX}")
    return number
