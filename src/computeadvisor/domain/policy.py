"""The GPU policy (§1.3) and how it picks the selected GPU (§3.6)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import msgspec

from computeadvisor.domain.hardware import GpuInfo

MODES = ("auto", "manual", "sticky")
PolicyMode = Literal["auto", "manual", "sticky"]


class GpuPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """The shared GPU policy snapshot; ``sticky_device`` is recorded only in sticky mode."""

    mode: PolicyMode = "auto"
    preferred_id: str | None = None
    manual_device: str = "cpu"
    sticky_device: str | None = msgspec.field(default=None)


def _present(device: str | None, gpus: Sequence[GpuInfo]) -> GpuInfo | None:
    for gpu in gpus:
        if device == gpu.device_id:
            return gpu
    return None


def select_gpu(policy: GpuPolicy, gpus: Sequence[GpuInfo]) -> GpuInfo | None:
    """The GPU the advisor would use: manual, then preferred, then sticky, then the most free memory."""
    if not gpus:
        return None
    chosen = None
    if policy.mode == "manual":
        chosen = _present(policy.manual_device, gpus)
    chosen = chosen or _present(policy.preferred_id, gpus)
    if chosen is None and policy.mode == "sticky":
        chosen = _present(policy.sticky_device, gpus)
    if chosen is None:
        # max() keeps the first of equals, so ties go to the lowest index.
        chosen = max(sorted(gpus, key=lambda g: g.id), key=lambda g: g.mem_free or 0)
    return chosen


def pins_cpu(policy: GpuPolicy, gpus: Sequence[GpuInfo]) -> bool:
    """Manual mode on ``cpu``, or on a GPU that is not present, forbids a ``gpu`` answer."""
    return policy.mode == "manual" and _present(policy.manual_device, gpus) is None
