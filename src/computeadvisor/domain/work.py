"""A job's size in work units (§10.1): megapixel-steps, the measure the planner's run-time model is per."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from computeadvisor.domain.errors import FieldError, InvalidInput
from computeadvisor.domain.values import as_number

MEGAPIXEL = 1_048_576
DEFAULT_SIDE = 1024
DEFAULT_STEPS = 20
DEFAULT_UNITS = DEFAULT_SIDE * DEFAULT_SIDE / MEGAPIXEL * DEFAULT_STEPS
"""The size of a job that states none: 1024 × 1024 at 20 steps, 20 units."""
MAX_SIZE = 1e12
"""The largest value of any size field, so that work units (a product of five of them) stay finite."""


class WorkSize(msgspec.Struct, frozen=True, kw_only=True):
    """A job's size (§10.1): work units are megapixel-steps, ``pixels / 2**20 × steps × batch × frames``."""

    work_units: float
    pixels: int
    steps: float
    batch: float
    frames: float


def _positive(job: Mapping[str, Any], field: str, *aliases: str) -> float | None:
    for name in (field, *aliases):
        value = job.get(name)
        if value is None:
            continue
        number = as_number(value)
        if number is None or not 0 < number <= MAX_SIZE:
            raise FieldError(f"job.{name}", f"must be a number > 0 and <= {MAX_SIZE:g} (or a numeric string)")
        return number
    return None


def work_size(job: Mapping[str, Any]) -> WorkSize:
    """The size of a job (a plan request's ``job``, or a finished job's ``payload``).

    ``work_units`` wins when given; otherwise ``pixels`` (or ``width × height``, default 1024 × 1024), ``steps``
    (20), ``batch`` (alias ``batch_size``, 1) and ``frames`` (1). Each at most ``MAX_SIZE``; raises FieldError
    naming ``job.<field>``.
    """
    width, height = _positive(job, "width"), _positive(job, "height")
    pixels = _positive(job, "pixels")
    if pixels is None:
        pixels = (width or DEFAULT_SIDE) * (height or DEFAULT_SIDE)
    steps = _positive(job, "steps") or DEFAULT_STEPS
    batch = _positive(job, "batch", "batch_size") or 1.0
    frames = _positive(job, "frames") or 1.0
    units = _positive(job, "work_units")
    if units is None:
        units = pixels / MEGAPIXEL * steps * batch * frames
    return WorkSize(work_units=units, pixels=round(pixels), steps=steps, batch=batch, frames=frames)


def payload_units(payload: Mapping[str, Any]) -> float | None:
    """The work units a stored job's ``payload`` states (§10.3), or None when a size field is not valid."""
    try:
        units = work_size(payload).work_units
    except InvalidInput:
        return None
    return units if units > 0 else None
