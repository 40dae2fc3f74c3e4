"""The request bodies as the OpenAPI document publishes them, with the rules the parsers enforce.

Handlers parse bodies with the domain's own functions (ComfyVN's lenient input rules: ``null`` means absent, a
falsy id means "generate one", numeric strings count as numbers), so Litestar never decodes these Structs; they
describe what the parsers accept, as exactly as JSON Schema can say it. ``tests/http/test_openapi_bodies.py``
fails when a parser reads a key not listed here, and the schemathesis test checks the rules both ways (valid data
accepted, invalid data refused).

Where acceptance depends on the server's state (a GPU that must be present, a cost that must not overflow, a
nesting depth), the schema cannot say so and the field's description does.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from computeadvisor.domain import costs, job_requests, job_spec, planner, work

# Patterns are ECMA-262 (JSON Schema) and anchored; the parsers trim strings first, hence the \s*.
NUMBER_TEXT = r"^\s*\+?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,2})?\s*$"
POSITIVE_TEXT = r"^\s*\+?(?:0*[1-9][0-9]*(?:\.[0-9]*)?|0*\.[0-9]*[1-9][0-9]*)(?:[eE][+-]?[0-9]{1,2})?\s*$"
INTEGER_TEXT = r"^\s*[+-]?[0-9]{1,18}\s*$"
PROVIDER_ID = r"^\s*[A-Za-z0-9][A-Za-z0-9._:-]{0,63}\s*$"
JOB_ID = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
QUEUE = r"^\s*(?:[Ll][Oo][Cc][Aa][Ll]|[Rr][Ee][Mm][Oo][Tt][Ee])?\s*$"
MODE = r"^\s*(?:[Aa][Uu][Tt][Oo]|[Mm][Aa][Nn][Uu][Aa][Ll]|[Ss][Tt][Ii][Cc][Kk][Yy])\s*$"
DEVICE = r"^\s*(?:[Cc][Pp][Uu]|(?:[Gg][Pp][Uu]|[Cc][Uu][Dd][Aa]):[0-9]+)\s*$"
BYTES_TEXT = r"^\s*\+?[0-9]{1,18}(?:\.[0-9]*)?\s*$"
SIZE_TEXT = r"^\s*\+?(?:0*[1-9][0-9]{0,11}(?:\.[0-9]*)?|0*\.[0-9]*[1-9][0-9]*)\s*$"  # > 0 and < 10^12


def present_devices(gpu_indices: Iterable[int]) -> str:
    """The pattern of the device ids valid on this host: ``cpu`` and its GPUs (under either name)."""
    indices = "|".join(str(index) for index in sorted(set(gpu_indices)))
    gpu = f"|(?:[Gg][Pp][Uu]|[Cc][Uu][Dd][Aa]):0*(?:{indices})" if indices else ""
    return rf"^\s*(?:[Cc][Pp][Uu]{gpu})\s*$"


BASE = (
    r"^\s*$|^\s*(?:[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9][A-Za-z0-9.-]*(?::[0-9]{1,5})?(?:[/?#]\S*)?"
    r"|(?:[Ss][Tt][Uu][Bb]|[Mm][Ee][Mm][Oo][Rr][Yy]):\S*)\s*$"
)

NonNegative = Annotated[float, Meta(ge=0)] | Annotated[str, Meta(pattern=NUMBER_TEXT)]
"""A finite number >= 0, or a numeric string of one."""
Minutes = Annotated[float, Meta(ge=0, le=costs.MAX_MINUTES)] | Annotated[str, Meta(pattern=NUMBER_TEXT)]
"""Minutes >= 0 that are still a finite number of seconds."""
Integer = (
    Annotated[int, Meta(ge=-(2**63), le=2**63 - 1)]
    | Annotated[str, Meta(pattern=INTEGER_TEXT, description="an integer string (18 digits at most)")]
)
Seconds = Annotated[float, Meta(ge=0, le=job_spec.MAX_DELAY_SECONDS)]
"""Seconds as a JSON number (§15 ``delay_seconds``, ``backoff_seconds``)."""
Loose = Any
"""A key read with plain truthiness or debug truthiness (§0.1, §0.4): any JSON value is accepted."""
AnyObject = Any
"""An object kept as given; any other value is ignored (taken as ``{}``)."""
Device = Annotated[str, Meta(pattern=DEVICE, description="cpu, or gpu:<n> (cuda:<n> too) of a GPU present on the host")]
ByteCount = Annotated[float, Meta(ge=0, lt=2**63)] | Annotated[str, Meta(pattern=BYTES_TEXT)]
"""Bytes: a number or numeric string >= 0, stored as a 64-bit integer."""
JobIdRef = Annotated[str, Meta(min_length=1)] | Annotated[int, Meta(ge=1)]
"""A job id in a transition body: a non-empty string, or an integer (converted); an unknown id is 404."""
LeaseSeconds = Annotated[int, Meta(ge=1, le=2**31 - 1)]


class ProviderBody(msgspec.Struct, kw_only=True):
    """POST /api/providers: insert or replace a provider (§2.3)."""

    id: Annotated[str, Meta(pattern=PROVIDER_ID)] | Annotated[int, Meta(ge=1)]
    kind: str | None = None
    base: Annotated[str, Meta(pattern=BASE)] | None = None
    base_url: Annotated[str, Meta(pattern=BASE)] | None = None
    endpoint: Annotated[str, Meta(pattern=BASE)] | None = None
    meta: ProviderMeta | None = None
    debug: Loose = None
    verbose: Loose = None


class ProviderMeta(msgspec.Struct, kw_only=True):
    """Free keys, except the rates and planner facts below; at most 32 levels deep and 64 KiB as JSON (§2.1)."""

    cost_per_minute: NonNegative | None = None
    egress_cost_per_gb: NonNegative | None = None
    ingress_cost_per_gb: NonNegative | None = None
    vram_cost_per_gb_minute: NonNegative | None = None
    default_vram_gb: NonNegative | None = None
    seconds_per_unit: NonNegative | None = None
    startup_s: NonNegative | None = None
    vram_gb: NonNegative | None = None
    bandwidth_mbps: Annotated[float, Meta(gt=0)] | Annotated[str, Meta(pattern=POSITIVE_TEXT)] | None = None
    concurrency: Annotated[int, Meta(ge=1)] | None = None


class PolicyBody(msgspec.Struct, kw_only=True):
    """PUT/POST /api/gpu/policy (§1.4)."""

    mode: Annotated[str, Meta(pattern=MODE)]
    preferred_id: Device | None = None
    manual_device: Device | None = None


class ContextOverride(msgspec.Struct, kw_only=True):
    """Override keys, each optional but never null when present; other keys are only echoed in debug (§3.1)."""

    has_gpu: bool | UnsetType = UNSET
    remote_available: bool | UnsetType = UNSET
    feature_enabled: bool | UnsetType = UNSET
    local_queue_depth: Annotated[int, Meta(ge=0)] | UnsetType = UNSET
    remote_queue_depth: Annotated[int, Meta(ge=0)] | UnsetType = UNSET
    local_vram_gb: Annotated[float, Meta(ge=0)] | UnsetType = UNSET


class AdviseJob(msgspec.Struct, kw_only=True):
    """The job of an advise request (§3.3): the keys the advisor reads. A value it cannot use is ignored."""

    width: Loose = None
    height: Loose = None
    pixels: Loose = None
    priority: Loose = None
    sticky: Loose = None
    sticky_device: Loose = None
    vram_gb: Loose = None
    min_vram_gb: Loose = None
    required_vram_gb: Loose = None
    device_id: Loose = None
    target_device: Loose = None
    provider_id: Loose = None
    context: ContextOverride | None = None


class AdviseBody(AdviseJob, kw_only=True):
    """POST /api/compute/advise (§3.1); when ``job`` is not an object the whole body is the job (its keys are
    listed here too). A falsy ``context`` means none."""

    job: Loose = None
    allow_remote: Loose = None
    prefer_remote: Loose = None
    debug: Loose = None
    verbose: Loose = None


# The cost preview's fields come from the domain's alias lists (§4.2), so a new alias is published by itself.
_COST_FIELDS: list[tuple[str, Any, Any]] = [
    ("queue", str | None, None),
    ("target", str | None, None),
    ("provider_id", str | int | None, None),
    *((name, (Minutes if name in costs.MINUTES_KEYS else NonNegative) | None, None) for name in costs.NUMBER_KEYS),
]
CostPayload = msgspec.defstruct(
    "CostPayload", _COST_FIELDS, kw_only=True, namespace={"__doc__": "Job keys also read from ``job.payload``."}
)
_COST_JOB_FIELDS = [*_COST_FIELDS, ("payload", CostPayload | Any, None)]
CostJob = msgspec.defstruct(
    "CostJob",
    _COST_JOB_FIELDS,
    kw_only=True,
    namespace={"__doc__": "The job to price: each quantity under any of its names (§4.2)."},
)
CostsBody = msgspec.defstruct(
    "CostsBody",
    [("job", CostJob | Any, None), ("debug", Loose, None), ("verbose", Loose, None), *_COST_JOB_FIELDS],
    kw_only=True,
    namespace={"__doc__": "POST /api/compute/costs (§4.1); without a ``job`` object the top-level keys are the job."},
)


Size = Annotated[float, Meta(gt=0, le=work.MAX_SIZE)] | Annotated[str, Meta(pattern=SIZE_TEXT)]
"""A size field of a job (§10.1): a number > 0 and at most 10^12, or a numeric string of one."""
Positive = Annotated[float, Meta(gt=0)] | Annotated[str, Meta(pattern=POSITIVE_TEXT)]


class PlanJob(msgspec.Struct, kw_only=True):
    """The job to place (§10.1): its size (default 1024 × 1024 at 20 steps), model, VRAM need and data."""

    width: Size | None = None
    height: Size | None = None
    pixels: Size | None = None
    steps: Size | None = None
    batch: Size | None = None
    batch_size: Size | None = None
    frames: Size | None = None
    work_units: Size | None = None
    model: Annotated[str, Meta(max_length=128)] | None = None
    vram_gb: NonNegative | None = None
    min_vram_gb: NonNegative | None = None
    required_vram_gb: NonNegative | None = None
    bytes_tx: ByteCount | None = None
    bytes_rx: ByteCount | None = None
    priority: Integer | None = None


class PlanBody(PlanJob, kw_only=True):
    """POST /api/compute/plan (§10.1); when ``job`` is absent or null the whole body is the job (its keys are
    listed here too). A remote price that overflows for this job is a 400 naming ``job.work_units``."""

    job: PlanJob | None = None
    objective: planner.Objective | None = None
    time_value_per_hour: NonNegative | None = None
    deadline_s: Positive | None = None
    budget: NonNegative | None = None
    allow_remote: Loose = None
    prefer_remote: Loose = None
    debug: Loose = None
    verbose: Loose = None


class EnqueueBody(msgspec.Struct, kw_only=True):
    """POST /api/schedule/enqueue (§5.2). A falsy ``id`` (absent, null, "", 0, false) gets a generated one."""

    id: (
        Annotated[str, Meta(pattern=f"^$|{JOB_ID}")]
        | Annotated[int, Meta(ge=0)]
        | Literal[False]
        | Annotated[dict[str, Any], Meta(max_length=0)]
        | Annotated[list[Any], Meta(max_length=0)]
        | None
    ) = None
    name: str | None = None
    title: str | None = None
    queue: Annotated[str, Meta(pattern=QUEUE)] | None = None
    target: Annotated[str, Meta(pattern=QUEUE)] | None = None
    priority: Integer | None = None
    sticky: Loose = None
    sticky_device: Loose = None
    device_id: str | None = None
    sticky_device_id: str | None = None
    provider_id: str | int | None = None
    payload: AnyObject = None
    meta: AnyObject = None
    bytes_tx: ByteCount | None = None
    bytes_rx: ByteCount | None = None
    vram_gb: NonNegative | None = None
    run_at: (
        Annotated[float, Meta(le=job_spec.LATEST_RUN_AT, description="epoch seconds; a past time is due at once")]
        | Annotated[str, Meta(pattern=job_spec.RUN_AT_TEXT, description="ISO-8601 date-time, UTC unless zoned")]
        | None
    ) = None
    delay_seconds: Seconds | None = None
    max_attempts: Annotated[int, Meta(ge=1, le=job_spec.MAX_ATTEMPTS)] | None = None
    backoff_seconds: Seconds | None = None


class ClaimBody(msgspec.Struct, kw_only=True):
    queue: Annotated[str, Meta(pattern=QUEUE)] | None = None
    worker_id: str | None = None
    device_id: str | None = None
    lease_seconds: LeaseSeconds | None = None
    wait_seconds: Annotated[int, Meta(ge=0, le=30)] | None = None


class JobBody(msgspec.Struct, kw_only=True):
    """The job a transition applies to."""

    job_id: JobIdRef


class FencedBody(JobBody, kw_only=True):
    """A transition that takes the lease token (§5.5): one that is not the current token is 409."""

    lease_token: str | None = None


class HeartbeatBody(FencedBody, kw_only=True):
    lease_seconds: LeaseSeconds | None = None


class CompleteBody(FencedBody, kw_only=True):
    status: Annotated[str, Meta(pattern=r"^(?:succeeded|failed|cancelled)?$")] | None = None
    duration_sec: NonNegative | None = None
    bytes_tx: ByteCount | None = None
    bytes_rx: ByteCount | None = None
    vram_gb: NonNegative | None = None
    cost_estimate: NonNegative | None = None
    outputs: (
        Annotated[
            list[Annotated[str, Meta(max_length=job_requests.MAX_OUTPUT_LENGTH)]],
            Meta(max_length=job_requests.MAX_OUTPUTS, description="names of the files the job wrote (§15)"),
        ]
        | None
    ) = None


class FailBody(FencedBody, kw_only=True):
    error: str | None = None


class RequeueBody(JobBody, kw_only=True):
    priority: Integer | None = None


class CancelBody(JobBody, kw_only=True):
    pass


# -- ComfyVN Studio (§16) -----------------------------------------------------------------------------------------

ProviderId = Annotated[str, Meta(pattern=PROVIDER_ID)] | Annotated[int, Meta(ge=0)]
Base = Annotated[str, Meta(pattern=BASE)]


class _StudioProviderFields(msgspec.Struct, kw_only=True):
    """What a register and a create both read (§16.4)."""

    name: str | None = None
    base_url: Base | None = None
    endpoint: Base | None = None
    base: Base | None = None
    active: bool | None = None
    priority: Integer | None = None
    meta: ProviderMeta | None = None
    config: dict[str, Any] | None = None


class LegacyProviderBody(_StudioProviderFields, kw_only=True):
    """POST /api/providers/register (§16.4). Without ``id``, the slug of ``name`` (else ``provider``) is the id."""

    id: ProviderId | None = None
    provider: str | None = None
    kind: str | None = None
    service: str | None = None


class CreateProviderBody(_StudioProviderFields, kw_only=True):
    """POST /api/providers/create (§16.5): ``template_id`` is a template's id or service (case-insensitive)."""

    template_id: str | int
    id: str | int | None = None


class ActivateBody(msgspec.Struct, kw_only=True):
    """POST /api/providers/activate (§16.6)."""

    id: str | int
    active: bool | None = None


class OrderBody(msgspec.Struct, kw_only=True):
    """POST /api/providers/order (§16.6): each listed id gets its index as priority."""

    order: list[str]


class ProviderProbeBody(msgspec.Struct, kw_only=True):
    """POST /api/providers/health (§16.7): one provider, or (no id) every active one."""

    id: str | int | None = None


class ImportBody(msgspec.Struct, kw_only=True):
    """POST /api/providers/import (§16.8): entries as an export holds them (or v1 records)."""

    providers: list[Any]
    replace: bool | None = None
    overwrite: bool | None = None


StudioMinutes = Annotated[float, Meta(ge=0, le=costs.MAX_MINUTES)]


class SelectRequirements(msgspec.Struct, kw_only=True):
    memory_min_mb: Annotated[float, Meta(ge=0)] | None = None
    min_vram_gb: Annotated[float, Meta(ge=0)] | None = None


class SelectBody(msgspec.Struct, kw_only=True):
    """POST /api/gpu/select (§16.9)."""

    prefer: str | None = None
    requirements: SelectRequirements | None = None


class StudioRequirements(msgspec.Struct, kw_only=True):
    type: Loose = None
    min_vram_gb: Annotated[float, Meta(ge=0)] | None = None
    min_vram: Annotated[float, Meta(ge=0)] | None = None
    estimated_minutes: StudioMinutes | None = None


class StudioEstimate(msgspec.Struct, kw_only=True):
    duration_minutes: StudioMinutes | None = None


class StudioWorkload(msgspec.Struct, kw_only=True):
    type: Loose = None
    requires_gpu: Loose = None
    estimated_minutes: StudioMinutes | None = None
    estimate: StudioEstimate | None = None
    requirements: StudioRequirements | None = None


class GpuAdviseBody(msgspec.Struct, kw_only=True):
    """POST /api/gpu/advise (§16.10); the flags are on/off as §0.4 says."""

    workload: StudioWorkload | None = None
    prefer_remote: Loose = None
    hardware_override: Loose = None


REQUEST_BODIES: dict[tuple[str, str], type[msgspec.Struct]] = {
    ("/api/providers/register", "post"): LegacyProviderBody,
    ("/api/providers/create", "post"): CreateProviderBody,
    ("/api/providers/activate", "post"): ActivateBody,
    ("/api/providers/order", "post"): OrderBody,
    ("/api/providers/health", "post"): ProviderProbeBody,
    ("/api/providers/import", "post"): ImportBody,
    ("/api/gpu/select", "post"): SelectBody,
    ("/api/gpu/advise", "post"): GpuAdviseBody,
    ("/api/providers", "post"): ProviderBody,
    ("/api/gpu/policy", "put"): PolicyBody,
    ("/api/gpu/policy", "post"): PolicyBody,
    ("/api/compute/advise", "post"): AdviseBody,
    ("/api/compute/costs", "post"): CostsBody,
    ("/api/compute/plan", "post"): PlanBody,
    ("/api/schedule/enqueue", "post"): EnqueueBody,
    ("/api/schedule/claim", "post"): ClaimBody,
    ("/api/schedule/heartbeat", "post"): HeartbeatBody,
    ("/api/schedule/complete", "post"): CompleteBody,
    ("/api/schedule/fail", "post"): FailBody,
    ("/api/schedule/requeue", "post"): RequeueBody,
    ("/api/schedule/cancel", "post"): CancelBody,
}
"""The body of every route that reads one; ``null`` or no body at all counts as ``{}`` (§0.1)."""
_COST_IGNORED = ["job", "debug", "verbose", "allow_remote", "prefer_remote", "context"]
SCHEMA_RULES: dict[str, dict[str, Any]] = {
    # Costs needs something to price (§4.1): a non-empty ``job`` object, or a key that is not one of those the
    # preview removes from the job.
    "CostJob": {"minProperties": 1},
    "CostsBody": {
        "anyOf": [
            {"required": ["job"], "properties": {"job": {"type": "object", "minProperties": 1}}},
            {"not": {"propertyNames": {"enum": _COST_IGNORED}}},
        ]
    },
}
"""Rules a Struct cannot state, added to the named schemas (a body with rules is never empty)."""
