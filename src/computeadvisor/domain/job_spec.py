"""The enqueue body as a normalized job spec (§5.2) and the field rules the other scheduler bodies share.

The spec is what idempotent enqueue compares (§5.6): every field derived at enqueue except the timestamps and the
state. Two bodies that normalize to equal specs are the same job.
"""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import msgspec

from computeadvisor.domain.errors import FieldError
from computeadvisor.domain.jobs import QUEUES
from computeadvisor.domain.values import as_integer, id_text, non_negative_number, plainly_truthy, whole_number

JOB_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
DEFAULT_BACKOFF_SECONDS = 10.0
MAX_ATTEMPTS = 1000
MAX_DELAY_SECONDS = float(2**31 - 1)
"""The longest delay, backoff or retry wait (about 68 years): every due time stays a representable date."""
LATEST_RUN_AT = 253402300799.0  # 9999-12-31T23:59:59Z
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


class JobSpec(msgspec.Struct, frozen=True, kw_only=True):
    """A job as enqueued, normalized; ``device_id`` is the enqueue hint (both device fields start from it)."""

    id: str
    name: str
    queue: str = "local"
    priority: int = 0
    sticky: bool = False
    device_id: str | None = None
    provider_id: str | None = "local"
    payload: dict[str, Any] = msgspec.field(default_factory=dict)
    meta: dict[str, Any] = msgspec.field(default_factory=dict)
    bytes_tx: int | None = None
    bytes_rx: int | None = None
    vram_gb: float | None = None
    run_at: float | None = None
    """When the job becomes claimable, epoch seconds as given (§15); None: at once, or after ``delay_seconds``."""
    delay_seconds: float | None = None
    """Seconds after the first enqueue before the job becomes claimable (kept as given, so a retry compares equal)."""
    max_attempts: int = 1
    backoff_seconds: float = DEFAULT_BACKOFF_SECONDS

    def __post_init__(self) -> None:
        # Specs built in code (tests, embedding scripts) get the checks a parsed body gets, and VRAM is always a
        # float so that every store returns 16.0, never 16.
        if self.vram_gb is not None:
            msgspec.structs.force_setattr(self, "vram_gb", float(self.vram_gb))
        if self.queue not in QUEUES:
            raise ValueError(f"queue must be one of {QUEUES}")
        if not INT64_MIN <= self.priority <= INT64_MAX:
            raise ValueError("priority must fit in a signed 64-bit integer")
        if any(v is not None and not 0 <= v <= INT64_MAX for v in (self.bytes_tx, self.bytes_rx)):
            raise ValueError("bytes must be >= 0 and below 2**63")
        if self.vram_gb is not None and not 0 <= self.vram_gb < math.inf:
            raise ValueError("vram_gb must be a finite number >= 0")
        if not 1 <= self.max_attempts <= MAX_ATTEMPTS:
            raise ValueError(f"max_attempts must be from 1 to {MAX_ATTEMPTS}")

    def due_ts(self, enqueued_ts: float) -> float | None:
        """When a job enqueued at ``enqueued_ts`` becomes claimable (epoch seconds; the later of ``run_at`` and
        the delay when both are given); None: at once."""
        delayed = None if self.delay_seconds is None else enqueued_ts + self.delay_seconds
        due = [t for t in (self.run_at, delayed) if t is not None]
        return max(due) if due else None

    def retry_delay(self, attempt: int) -> float:
        """Seconds before a failed ``attempt`` (1, 2, …) is retried: ``backoff_seconds × 2^(attempt − 1)``, capped."""
        return min(self.backoff_seconds * 2.0 ** min(attempt - 1, 62), MAX_DELAY_SECONDS)


def new_job_id() -> str:
    """A fresh job id: 12 random lowercase hex characters (§5.1)."""
    return secrets.token_hex(6)


def parse_priority(value: Any, field: str = "priority") -> int | None:
    """A JSON integer or integer string within int64 (§5.2); None when null; FieldError naming ``field`` else."""
    if value is None:
        return None
    number = as_integer(value)
    if number is None:
        raise FieldError(field, "must be an integer or an integer string")
    if not INT64_MIN <= number <= INT64_MAX:
        raise FieldError(field, "must fit in a signed 64-bit integer")
    return number


def optional_string(value: Any, field: str) -> str | None:
    """A string, or None for null and ``""``; FieldError naming ``field`` for any other type."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise FieldError(field, "must be a string")
    return value


def parse_byte_count(value: Any, field: str) -> int | None:
    """Bytes: a number or numeric string >= 0, truncated to an integer below 2**63; None when null."""
    if value is None:
        return None
    number = int(non_negative_number(value, field))
    if number > INT64_MAX:  # stored as a 64-bit integer; a bigger count is no real transfer
        raise FieldError(field, "must be below 2**63")
    return number


def optional_non_negative(value: Any, field: str) -> float | None:
    """A number or numeric string >= 0 (VRAM in GiB, seconds, a cost); None when null; FieldError naming ``field``."""
    return None if value is None else non_negative_number(value, field)


def parse_queue(body: Mapping[str, Any], aliases: tuple[str, ...] = ("queue",)) -> str:
    """The queue named by the first alias that is neither null nor ``""``, trimmed and lower-cased; else ``local``.

    Every alias given is checked, not only the one that names the queue: a wrong ``target`` beside a good
    ``queue`` is still a 400 naming ``target``.
    """
    queues = []
    for alias in aliases:
        value = body.get(alias)
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            raise FieldError(alias, "must be a string")
        queue = value.strip().lower() or "local"
        if queue not in QUEUES:
            raise FieldError(alias, "queue must be 'local' or 'remote'")
        queues.append(queue)
    return queues[0] if queues else "local"


def _parse_id(value: Any) -> str | None:
    if not plainly_truthy(value):
        return None
    job_id = id_text(value)
    if job_id is None:
        raise FieldError("id", "must be a string or an integer")
    if not JOB_ID_PATTERN.fullmatch(job_id):
        # Every id accepted must be readable back at /api/schedule/jobs/{id}: no "/", no control characters.
        raise FieldError("id", f"must match {JOB_ID_PATTERN.pattern}")
    return job_id


def _parse_name(body: Mapping[str, Any], job_id: str) -> str:
    for field in ("name", "title"):
        value = body.get(field)
        if value is None:
            continue
        if not isinstance(value, str):
            raise FieldError(field, "must be a string")
        if value:
            return value
    return job_id


def _parse_device_hint(body: Mapping[str, Any]) -> str | None:
    hint: str | None = None
    for field in ("device_id", "sticky_device_id"):
        value = optional_string(body.get(field), field)
        if hint is None and value:
            hint = value
    return hint


def _parse_provider(body: Mapping[str, Any], queue: str) -> str | None:
    payload = body.get("payload")
    sources = [("provider_id", body.get("provider_id"))]
    if isinstance(payload, dict):
        sources.append(("payload.provider_id", payload.get("provider_id")))
    for field, value in sources:
        if value is None:
            continue
        # Same rule as the cost preview (§4.2): a string or an integer id, trimmed; "" counts as absent.
        text = id_text(value)
        if text is None:
            raise FieldError(field, "must be a string")
        text = text.strip()
        if text:
            return text
    return "local" if queue == "local" else None


RUN_AT_TEXT = (
    r"^\s*[1-9][0-9]{3}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])[Tt ](?:[01][0-9]|2[0-3]):[0-5][0-9]"
    r"(?::(?:[0-5][0-9]|60)(?:\.[0-9]{1,9})?)?(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])?\s*$"
)
"""An ISO-8601 (RFC 3339) date-time; UTC when it names no zone. A day past its month's end rolls over."""
_RUN_AT = re.compile(RUN_AT_TEXT)
_RUN_AT_PARTS = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(?:([Zz])|([+-])(\d{2}):(\d{2}))?"
)


def _iso_seconds(text: str) -> float:
    """Epoch seconds of a ``RUN_AT_TEXT`` date-time (checked by the caller)."""
    match = _RUN_AT_PARTS.search(text)
    assert match is not None
    year, month, day, hour, minute, second, fraction, _z, sign, off_h, off_m = match.groups()
    month_start = datetime(int(year), int(month), 1, tzinfo=UTC).timestamp()
    seconds = (int(day) - 1) * 86400 + int(hour) * 3600 + int(minute) * 60 + int(second or 0) + float(fraction or 0)
    offset = 0 if sign is None else (1 if sign == "+" else -1) * (int(off_h) * 3600 + int(off_m) * 60)
    return month_start + seconds - offset


def _parse_run_at(value: Any) -> float | None:
    """``run_at``: epoch seconds (a JSON number) or an ISO-8601 date-time; None when null. A past one is due now."""
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        if value <= LATEST_RUN_AT:
            return float(value)
    elif isinstance(value, str) and _RUN_AT.fullmatch(value):
        return _iso_seconds(value)
    raise FieldError("run_at", "must be an ISO-8601 date-time or epoch seconds (a number up to year 9999)")


def _seconds(value: Any, field: str) -> float | None:
    """Seconds as a JSON number from 0 to ``MAX_DELAY_SECONDS``; None when null."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= MAX_DELAY_SECONDS:
        raise FieldError(field, f"must be a number of seconds from 0 to {MAX_DELAY_SECONDS:.0f}")
    return float(value)


def _parse_schedule(body: Mapping[str, Any]) -> dict[str, Any]:
    """The §15 enqueue additions: ``run_at`` and/or ``delay_seconds``, ``max_attempts``, ``backoff_seconds``."""
    attempts = body.get("max_attempts")
    max_attempts = 1 if attempts is None else whole_number(attempts)
    if max_attempts is None or not 1 <= max_attempts <= MAX_ATTEMPTS:
        raise FieldError("max_attempts", f"must be an integer from 1 to {MAX_ATTEMPTS}")
    backoff = _seconds(body.get("backoff_seconds"), "backoff_seconds")
    return {
        "run_at": _parse_run_at(body.get("run_at")),
        "delay_seconds": _seconds(body.get("delay_seconds"), "delay_seconds"),
        "max_attempts": max_attempts,
        "backoff_seconds": DEFAULT_BACKOFF_SECONDS if backoff is None else backoff,
    }


def parse_enqueue(body: Mapping[str, Any], new_id: Callable[[], str] = new_job_id) -> JobSpec:
    """The normalized spec of an enqueue body (§5.2); FieldError naming the first bad field."""
    job_id = _parse_id(body.get("id")) or new_id()
    queue = parse_queue(body, ("queue", "target"))
    payload = body.get("payload")
    meta = body.get("meta")
    return JobSpec(
        id=job_id,
        name=_parse_name(body, job_id),
        queue=queue,
        priority=parse_priority(body.get("priority")) or 0,
        sticky=plainly_truthy(body.get("sticky_device") or body.get("sticky")),
        device_id=_parse_device_hint(body),
        provider_id=_parse_provider(body, queue),
        payload=dict(payload) if isinstance(payload, dict) else {},
        meta=dict(meta) if isinstance(meta, dict) else {},
        bytes_tx=parse_byte_count(body.get("bytes_tx"), "bytes_tx"),
        bytes_rx=parse_byte_count(body.get("bytes_rx"), "bytes_rx"),
        vram_gb=optional_non_negative(body.get("vram_gb"), "vram_gb"),
        **_parse_schedule(body),
    )
