"""The GPU policy (§1.3): how it picks the selected GPU (§3.6), how a write is validated (§1.4) and read back (§1.5)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import msgspec

from computeadvisor.domain.errors import FieldError, InvalidInput
from computeadvisor.domain.hardware import GpuInfo

MODES = ("auto", "manual", "sticky")
PolicyMode = Literal["auto", "manual", "sticky"]
MODE_REQUIRED = "mode is required"
MODE_INVALID = "mode must be one of: auto, manual, sticky"

_MODE_BY_NAME: dict[str, PolicyMode] = {"auto": "auto", "manual": "manual", "sticky": "sticky"}
_DEVICE = re.compile(r"(?:gpu|cuda):([0-9]+)")


class GpuPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """The shared GPU policy snapshot; ``sticky_device`` is recorded only in sticky mode."""

    mode: PolicyMode = "auto"
    preferred_id: str | None = None
    manual_device: str = "cpu"
    sticky_device: str | None = msgspec.field(default=None)

    def as_stored(self) -> dict[str, Any]:
        """The ``gpu_policy`` object as stored and reported: the three keys, plus ``sticky_device`` when set."""
        stored: dict[str, Any] = {
            "mode": self.mode,
            "preferred_id": self.preferred_id,
            "manual_device": self.manual_device,
        }
        if self.sticky_device is not None:
            stored["sticky_device"] = self.sticky_device
        return stored


# -- device ids --------------------------------------------------------------------------------------------


def parse_device_id(value: str) -> str | None:
    """``cpu`` or ``gpu:<n>`` from an id that is trimmed, case-insensitive, with ``cuda:<n>`` as an alias.

    Returns None when the text is not a device id at all (presence is not checked here).
    """
    text = value.strip().lower()
    if text == "cpu":
        return "cpu"
    match = _DEVICE.fullmatch(text)
    return f"gpu:{int(match.group(1))}" if match else None


def present_gpu(device: str | None, gpus: Sequence[GpuInfo]) -> GpuInfo | None:
    """The present GPU ``device`` (``gpu:<n>``) names, or None."""
    for gpu in gpus:
        if device == gpu.device_id:
            return gpu
    return None


# -- choosing a GPU (§3.6) ---------------------------------------------------------------------------------


def select_gpu(policy: GpuPolicy, gpus: Sequence[GpuInfo]) -> GpuInfo | None:
    """The GPU the advisor would use: manual, then preferred, then sticky, then the most free memory."""
    if not gpus:
        return None
    chosen = None
    if policy.mode == "manual":
        chosen = present_gpu(policy.manual_device, gpus)
    chosen = chosen or present_gpu(policy.preferred_id, gpus)
    if chosen is None and policy.mode == "sticky":
        chosen = present_gpu(policy.sticky_device, gpus)
    if chosen is None:
        # max() keeps the first of equals, so ties go to the lowest index.
        chosen = max(sorted(gpus, key=lambda g: g.id), key=lambda g: g.mem_free or 0)
    return chosen


def pins_cpu(policy: GpuPolicy, gpus: Sequence[GpuInfo]) -> bool:
    """Manual mode on ``cpu``, or on a GPU that is not present, forbids a ``gpu`` answer."""
    return policy.mode == "manual" and present_gpu(policy.manual_device, gpus) is None


def sticky_choice(policy: GpuPolicy, gpus: Sequence[GpuInfo]) -> tuple[GpuInfo | None, GpuPolicy | None]:
    """The selected GPU and, in sticky mode, the policy to store when the sticky device must be (re)recorded.

    The second item is None when nothing needs recording: not sticky mode, no GPU at all, or the recorded
    ``sticky_device`` is still present. Otherwise the choice made like ``auto`` (preferred, then most free memory)
    becomes the new ``sticky_device`` (§1.3). Pure: storing the update is the caller's decision.
    """
    selected = select_gpu(policy, gpus)
    if policy.mode != "sticky" or selected is None or present_gpu(policy.sticky_device, gpus) is not None:
        return selected, None
    return selected, msgspec.structs.replace(policy, sticky_device=selected.device_id)


# -- writing (§1.4) ----------------------------------------------------------------------------------------


def _valid_mode(value: Any) -> PolicyMode:
    if not isinstance(value, str):
        raise InvalidInput(MODE_REQUIRED)
    mode = _MODE_BY_NAME.get(value.strip().lower())
    if mode is None:
        raise InvalidInput(MODE_INVALID)
    return mode


def _valid_device(field: str, value: Any, gpus: Sequence[GpuInfo]) -> str:
    if not isinstance(value, str):
        raise FieldError(field, "must be a device id string (cpu or gpu:<n>)")
    device = parse_device_id(value)
    if device is None:
        raise FieldError(field, f"{value.strip()!r} is not a device id (cpu or gpu:<n>)")
    if device != "cpu" and present_gpu(device, gpus) is None:
        present = ", ".join(["cpu", *(g.device_id for g in sorted(gpus, key=lambda g: g.id))])
        raise FieldError(field, f"device {device!r} is not present (present: {present})")
    return device


def apply_policy_update(current: GpuPolicy, body: Mapping[str, Any], gpus: Sequence[GpuInfo]) -> GpuPolicy:
    """The policy after a PUT/POST body (§1.4), checked against the GPUs of the current sample.

    ``mode`` is required; an omitted ``preferred_id``/``manual_device`` (or a null ``manual_device``) keeps its
    stored value, a null ``preferred_id`` clears it. ``sticky_device`` survives only while the mode stays sticky.

    Raises:
        InvalidInput: ``mode is required`` / ``mode must be one of: auto, manual, sticky``.
        FieldError: ``preferred_id`` or ``manual_device`` is not a present device id.
    """
    mode = _valid_mode(body.get("mode"))
    preferred_id = current.preferred_id
    if "preferred_id" in body:
        raw = body["preferred_id"]
        preferred_id = None if raw is None else _valid_device("preferred_id", raw, gpus)
    manual_device = current.manual_device
    if body.get("manual_device") is not None:
        manual_device = _valid_device("manual_device", body["manual_device"], gpus)
    sticky_device = current.sticky_device if mode == "sticky" and current.mode == "sticky" else None
    return GpuPolicy(mode=mode, preferred_id=preferred_id, manual_device=manual_device, sticky_device=sticky_device)


# -- reading (§1.5) ----------------------------------------------------------------------------------------


def _stored_device(value: Any) -> str | None:
    return parse_device_id(value) if isinstance(value, str) else None


def policy_from_stored(value: Any) -> GpuPolicy:
    """The policy from a stored ``gpu_policy`` value; each missing or invalid field falls back to its default.

    Device ids are normalised but not checked for presence (GPUs come and go; the choice rules skip absent ones).
    A ``sticky_device`` is kept only in sticky mode and only when it names a GPU.
    """
    if not isinstance(value, Mapping):
        return GpuPolicy()
    raw_mode = value.get("mode")
    mode = _MODE_BY_NAME.get(raw_mode.strip().lower(), "auto") if isinstance(raw_mode, str) else "auto"
    sticky = _stored_device(value.get("sticky_device")) if mode == "sticky" else None
    return GpuPolicy(
        mode=mode,
        preferred_id=_stored_device(value.get("preferred_id")),
        manual_device=_stored_device(value.get("manual_device")) or "cpu",
        sticky_device=sticky if sticky != "cpu" else None,
    )
