"""The plan request (§10.1): the job to place and what the caller cares about, checked field by field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import msgspec

from computeadvisor.domain.errors import FieldError
from computeadvisor.domain.job_spec import parse_byte_count, parse_priority
from computeadvisor.domain.planner import OBJECTIVES, Objective
from computeadvisor.domain.runtime_model import MAX_MODEL_NAME
from computeadvisor.domain.values import as_number, debug_from_body, is_on
from computeadvisor.domain.work import WorkSize, work_size

VRAM_KEYS = ("vram_gb", "min_vram_gb", "required_vram_gb")
"""The job's VRAM need and its aliases, first given wins (as §3.3)."""


class PlanJob(msgspec.Struct, frozen=True, kw_only=True):
    """The job as the planner sees it; the answer echoes its size, VRAM need and priority."""

    size: WorkSize
    model: str | None = None
    vram_gb: float | None = None
    bytes_tx: int = 0
    bytes_rx: int = 0
    priority: int = 0


class PlanRequest(msgspec.Struct, frozen=True, kw_only=True):
    job: PlanJob
    objective: Objective = "fastest"
    time_value_per_hour: float = 1.0
    deadline_s: float | None = None
    budget: float | None = None
    allow_remote: bool = False
    debug: bool = False

    def without_remote(self) -> PlanRequest:
        """The request with remote offload off (the feature flag is off, §10.1)."""
        return msgspec.structs.replace(self, allow_remote=False)


def _number(body: Mapping[str, Any], key: str, field: str, *, minimum: float, inclusive: bool) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    number = as_number(value)
    bound = f">= {minimum:g}" if inclusive else f"> {minimum:g}"
    if number is None or number < minimum or (not inclusive and number == minimum):
        raise FieldError(field, f"must be a finite number {bound} (a JSON number or numeric string)")
    return number


def _model(job: Mapping[str, Any]) -> str | None:
    value = job.get("model")
    if value is None:
        return None
    if not isinstance(value, str) or len(value.strip()) > MAX_MODEL_NAME:
        raise FieldError("job.model", f"must be a string of at most {MAX_MODEL_NAME} characters")
    return value.strip() or None


def parse_plan_job(job: Mapping[str, Any]) -> PlanJob:
    """The job of a plan request (§10.1); FieldError naming ``job.<field>``."""
    vram = None
    for key in VRAM_KEYS:
        vram = _number(job, key, f"job.{key}", minimum=0, inclusive=True)
        if vram is not None:
            break
    return PlanJob(
        size=work_size(job),
        model=_model(job),
        vram_gb=vram,
        bytes_tx=parse_byte_count(job.get("bytes_tx"), "job.bytes_tx") or 0,
        bytes_rx=parse_byte_count(job.get("bytes_rx"), "job.bytes_rx") or 0,
        priority=parse_priority(job.get("priority"), "job.priority") or 0,
    )


def parse_plan_request(body: Mapping[str, Any]) -> PlanRequest:
    """A plan body (§10.1): ``job`` (else the whole body), the objective and the limits; 400s name the field."""
    job = body.get("job")
    if job is None:
        job = body
    elif not isinstance(job, dict):
        raise FieldError("job", "must be an object (or absent: then the whole body is the job)")
    objective = body.get("objective")
    if objective is None:
        objective = "fastest"
    if objective not in OBJECTIVES:
        raise FieldError("objective", "must be one of: " + ", ".join(OBJECTIVES))
    value_of_time = _number(body, "time_value_per_hour", "time_value_per_hour", minimum=0, inclusive=True)
    return PlanRequest(
        job=parse_plan_job(job),
        objective=cast(Objective, objective),
        time_value_per_hour=1.0 if value_of_time is None else value_of_time,
        deadline_s=_number(body, "deadline_s", "deadline_s", minimum=0, inclusive=False),
        budget=_number(body, "budget", "budget", minimum=0, inclusive=True),
        allow_remote=is_on(body.get("allow_remote")) or is_on(body.get("prefer_remote")),
        debug=debug_from_body(body),
    )
