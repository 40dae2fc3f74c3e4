"""The advisor (§3): where a job should run, and why.

``advise`` is a pure function of the job, the derived context and the policy; ``app/services.py`` derives the
context from the sampler, the scheduler and the registry.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import msgspec

from computeadvisor.domain.errors import FieldError
from computeadvisor.domain.hardware import GpuInfo
from computeadvisor.domain.policy import GpuPolicy, pins_cpu, select_gpu
from computeadvisor.domain.values import (
    as_int_loose,
    as_number,
    debug_from_body,
    is_on,
    plainly_truthy,
    whole_number,
)

Target = Literal["cpu", "gpu", "remote"]
_JOB_EXCLUDED = ("debug", "verbose", "context", "job", "allow_remote", "prefer_remote")
_BOOL_KEYS = ("has_gpu", "remote_available", "feature_enabled")
_COUNT_KEYS = ("local_queue_depth", "remote_queue_depth")
POLICY_PINS_CPU = "GPU policy pins CPU"


class Thresholds(msgspec.Struct, frozen=True, kw_only=True):
    """The advisor's cut-offs (§3.8); pixels are width × height, VRAM in GiB."""

    tiny_pixels: int = 262144
    large_pixels: int = 16777216
    queue_remote_soft: int = 3
    queue_cpu_saturation: int = 5
    vram_slack_gb: float = 0.5
    remote_queue_saturation: int = 8


THRESHOLDS = Thresholds()


class AdvisorContext(msgspec.Struct, frozen=True, kw_only=True):
    """The five context keys a response reports (§3.7)."""

    has_gpu: bool = False
    local_queue_depth: int = 0
    remote_available: bool = False
    remote_queue_depth: int = 0
    local_vram_gb: float = 0.0


class AdviseRequest(msgspec.Struct, frozen=True, kw_only=True):
    """A parsed advise body (§3.1): the job copy, the requested offload, the context override."""

    job: dict[str, Any]
    allow_remote: bool
    override: dict[str, Any] | None
    debug: bool


class JobEcho(msgspec.Struct, frozen=True, kw_only=True):
    """``debug.advisor.job`` (§3.8)."""

    priority: Any
    sticky: bool
    preferred_device: Any
    pixels: int
    vram_requested_gb: float | None
    payload_keys: list[str]


class RawDecision(msgspec.Struct, frozen=True, kw_only=True):
    choice: Target
    reason: str


class AdviceAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """What an advise response shows of the advice (§3.7); the HTTP answer extends exactly this."""

    decision: Target
    reason: str
    target: Target
    device: str
    context: AdvisorContext
    remote_allowed: bool


class Advice(AdviceAnswer, frozen=True, kw_only=True):
    """The advisor's answer; ``raw`` is the rule table's answer before fallback and policy (debug only)."""

    raw: RawDecision
    job: JobEcho


def parse_advise_request(body: Mapping[str, Any]) -> AdviseRequest:
    """Split an advise body into job, offload switch, context override and debug (§3.1)."""
    job_value = body.get("job")
    job = dict(job_value) if isinstance(job_value, dict) else dict(body)
    job_context = job.get("context")
    for key in _JOB_EXCLUDED:
        job.pop(key, None)
    override = body.get("context") if plainly_truthy(body.get("context")) else job_context
    if override is not None and not isinstance(override, dict):
        raise FieldError("context", "must be an object")
    if override is not None:
        override = _checked_override(override)
    return AdviseRequest(
        job=job,
        allow_remote=is_on(body.get("allow_remote")) or is_on(body.get("prefer_remote")),
        override=override,
        debug=debug_from_body(body),
    )


def _checked_override(override: Mapping[str, Any]) -> dict[str, Any]:
    """The override with its typed keys checked (§3.1) and counts as ints; other keys as given."""
    checked = dict(override)
    for key in _BOOL_KEYS:
        if key in override and not isinstance(override[key], bool):
            raise FieldError(f"context.{key}", "must be a boolean")
    for key in _COUNT_KEYS:
        if key in override:
            count = whole_number(override[key])
            if count is None or count < 0:
                raise FieldError(f"context.{key}", "must be an integer >= 0")
            checked[key] = count
    if "local_vram_gb" in override:
        value = override["local_vram_gb"]
        if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
            raise FieldError("context.local_vram_gb", "must be a number >= 0")
        if as_number(value) is None:
            raise FieldError("context.local_vram_gb", "must be a finite number")
    return checked


def derive_context(
    gpus: Sequence[GpuInfo],
    selected: GpuInfo | None,
    *,
    local_queue_depth: int,
    remote_queue_depth: int,
    remote_available: bool,
) -> AdvisorContext:
    """What the host says (§3.2), before the flag and any override: a GPU is there when the sample lists one, and
    ``local_vram_gb`` is the selected GPU's total memory in GiB (2 dp)."""
    return AdvisorContext(
        has_gpu=bool(gpus),
        local_queue_depth=local_queue_depth,
        remote_available=remote_available,
        remote_queue_depth=remote_queue_depth,
        local_vram_gb=round((selected.mem_total or 0) / 1024, 2) if selected else 0.0,
    )


def merge_context(
    derived: AdvisorContext, override: Mapping[str, Any] | None, *, feature_enabled: bool
) -> tuple[AdvisorContext, dict[str, Any]]:
    """Apply §3.2's order: flag off clears remote_available, then the override wins; returns (context, full)."""
    full: dict[str, Any] = msgspec.structs.asdict(derived)
    full["feature_enabled"] = feature_enabled
    if not feature_enabled:
        full["remote_available"] = False
    if override:
        full.update(override)
    context = AdvisorContext(
        has_gpu=full["has_gpu"],
        local_queue_depth=full["local_queue_depth"],
        remote_available=full["remote_available"],
        remote_queue_depth=full["remote_queue_depth"],
        local_vram_gb=float(full["local_vram_gb"]),
    )
    full.update(msgspec.structs.asdict(context))  # the debug echo shows the values the rules used
    return context, full


def job_pixels(job: Mapping[str, Any], default: int = THRESHOLDS.tiny_pixels) -> int:
    """Pixels from ``pixels``, else ``width × height``, else 512² (§3.3)."""
    pixels = as_int_loose(job.get("pixels"))
    if pixels is not None:
        return max(1, pixels)
    width, height = job.get("width"), job.get("height")
    if plainly_truthy(width) and plainly_truthy(height):
        w, h = as_int_loose(width), as_int_loose(height)
        if w is None or h is None:
            return default
        return max(1, w * h)
    return default


def job_vram_gb(job: Mapping[str, Any]) -> float:
    """The first parseable of vram_gb, min_vram_gb, required_vram_gb, clamped at 0 (GiB)."""
    for key in ("vram_gb", "min_vram_gb", "required_vram_gb"):
        number = as_number(job.get(key))
        if number is not None:
            return max(0.0, number)
    return 0.0


def job_echo(job: Mapping[str, Any]) -> JobEcho:
    """What the advisor read from the job, for ``debug.advisor.job``."""
    vram = job_vram_gb(job)
    preferred = next((job[k] for k in ("device_id", "target_device") if plainly_truthy(job.get(k))), None)
    return JobEcho(
        priority=job.get("priority"),
        sticky=plainly_truthy(job.get("sticky")) or plainly_truthy(job.get("sticky_device")),
        preferred_device=preferred,
        pixels=job_pixels(job),
        vram_requested_gb=vram or None,
        payload_keys=sorted(str(k) for k in job),
    )


def apply_rules(
    pixels: int, vram_required: float, ctx: AdvisorContext, t: Thresholds = THRESHOLDS
) -> tuple[Target, str, int]:
    """The ordered rules of §3.4; returns (choice, reason, rule number)."""
    if not ctx.has_gpu:
        return "cpu", "no GPU detected on this host", 1
    if ctx.local_vram_gb > 0 and ctx.local_vram_gb + t.vram_slack_gb < vram_required:
        choice: Target = "remote" if ctx.remote_available else "cpu"
        return choice, "job requires more VRAM than local GPU provides", 2
    if pixels >= t.large_pixels:
        if ctx.remote_available:
            return "remote", "large render; remote GPU suggested", 3
        return "gpu", "large job but remote providers unavailable", 3
    if pixels <= t.tiny_pixels:
        return "cpu", "job is tiny; CPU is sufficient", 4
    if ctx.local_queue_depth >= t.queue_remote_soft and ctx.remote_available:
        return "remote", "local GPU queue is busy", 5
    if ctx.local_queue_depth >= t.queue_cpu_saturation:
        return "cpu", "local queue saturated; remote unavailable, fallback to CPU", 6
    if ctx.remote_queue_depth >= t.remote_queue_saturation and ctx.local_queue_depth < t.queue_remote_soft:
        return "gpu", "remote queue saturated; favor local GPU", 7
    return "gpu", "local GPU available and queue is light", 8


def advise(
    job: Mapping[str, Any],
    context: AdvisorContext,
    *,
    allow_remote: bool,
    feature_enabled: bool,
    policy: GpuPolicy,
    gpus: Sequence[GpuInfo],
    remote_provider_ids: Sequence[str] = (),
    thresholds: Thresholds = THRESHOLDS,
) -> Advice:
    """Decide cpu, gpu or remote for ``job`` (§3.4-§3.6); ``allow_remote`` is the caller's request."""
    echo = job_echo(job)
    choice, reason, rule = apply_rules(echo.pixels, echo.vram_requested_gb or 0.0, context, thresholds)
    raw = RawDecision(choice=choice, reason=reason)
    allowed = allow_remote and feature_enabled
    remote_ok = allowed and context.remote_available
    if choice == "remote" and not remote_ok:
        choice = "cpu" if rule == 2 else "gpu"  # rules 3 and 5 come after rule 1: there is a GPU
        if not feature_enabled:
            blocker = "compute feature disabled"
        elif not allowed:
            blocker = "remote offload disabled"
        else:
            blocker = "no remote providers configured"
        reason = f"{reason}; {blocker}"
    if choice == "gpu" and pins_cpu(policy, gpus):
        choice, reason = "cpu", f"{reason}; {POLICY_PINS_CPU}"
    return Advice(
        decision=choice,
        reason=reason,
        target=choice,
        device=_device(choice, job, policy, gpus, remote_provider_ids),
        context=context,
        remote_allowed=remote_ok,
        raw=raw,
        job=echo,
    )


def _device(
    choice: Target,
    job: Mapping[str, Any],
    policy: GpuPolicy,
    gpus: Sequence[GpuInfo],
    remote_ids: Sequence[str],
) -> str:
    if choice == "cpu":
        return "cpu"
    if choice == "gpu":
        selected = select_gpu(policy, gpus)
        # Only a context override can claim a GPU the sampler did not see; CUDA's default is index 0.
        return selected.device_id if selected is not None else "gpu:0"
    wanted = job.get("provider_id")
    if isinstance(wanted, str) and wanted in remote_ids:
        return f"remote:{wanted}"
    return f"remote:{remote_ids[0]}" if remote_ids else "remote"
