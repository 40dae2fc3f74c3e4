"""Request bodies and error responses in the OpenAPI document at ``/schema``.

Handlers read their bodies themselves (``app/body.py``) so that ComfyVN's input rules hold exactly (``null`` is
``{}``, a non-object is a 400 saying so, each field error names the field). Litestar therefore cannot see the
request types; these Structs describe them (``tests/http/test_openapi_bodies.py`` fails when a parser reads a key
they do not list), and :func:`complete_openapi` adds them, plus the error responses
every ``/api`` route can give, to the generated document when it is first served (generating it costs
~40 ms, which every app built in tests would otherwise pay).
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request
from litestar.openapi.plugins import JsonRenderPlugin

from computeadvisor.app.schemas import ErrorBody
from computeadvisor.domain import costs

Number = float | int | str  # numbers; numeric strings such as "0.1" are accepted where the contract allows
Debug = bool | int | float | str | None


class ProviderBody(msgspec.Struct, kw_only=True):
    """POST /api/providers: insert or replace a provider (§2.3)."""

    id: str | int
    kind: str | None = None
    base: str | None = None
    base_url: str | None = None
    endpoint: str | None = None
    meta: dict[str, Any] | None = None
    debug: Debug = None
    verbose: Debug = None


class PolicyBody(msgspec.Struct, kw_only=True):
    """PUT/POST /api/gpu/policy (§1.4)."""

    mode: str
    preferred_id: str | None = None
    manual_device: str | None = None


class ContextOverride(msgspec.Struct, kw_only=True):
    has_gpu: bool | None = None
    remote_available: bool | None = None
    feature_enabled: bool | None = None
    local_queue_depth: int | None = None
    remote_queue_depth: int | None = None
    local_vram_gb: float | None = None


class AdviseJob(msgspec.Struct, kw_only=True):
    """The job of an advise request (§3.3): the keys the advisor reads; any other key is ignored."""

    width: Number | None = None
    height: Number | None = None
    pixels: Number | None = None
    priority: Any = None
    sticky: Any = None
    sticky_device: Any = None
    vram_gb: Number | None = None
    min_vram_gb: Number | None = None
    required_vram_gb: Number | None = None
    device_id: str | None = None
    target_device: str | None = None
    provider_id: str | None = None
    context: ContextOverride | None = None


class AdviseBody(AdviseJob, kw_only=True):
    """POST /api/compute/advise (§3.1); without ``job`` the whole body is the job (its keys are listed here too)."""

    job: AdviseJob | None = None
    allow_remote: Debug = None
    prefer_remote: Debug = None
    debug: Debug = None
    verbose: Debug = None


# The cost preview's fields come from the domain's alias lists (§4.2), so a new alias is published by itself.
_COST_FIELDS: list[tuple[str, Any, Any]] = [
    ("queue", str | None, None),
    ("target", str | None, None),
    ("provider_id", str | int | None, None),
    *((name, Number | None, None) for name in costs.NUMBER_KEYS),
]
CostPayload = msgspec.defstruct(
    "CostPayload", _COST_FIELDS, kw_only=True, namespace={"__doc__": "Job keys also read from ``job.payload``."}
)
_COST_JOB_FIELDS = [*_COST_FIELDS, ("payload", CostPayload | None, None)]
CostJob = msgspec.defstruct(
    "CostJob",
    _COST_JOB_FIELDS,
    kw_only=True,
    namespace={"__doc__": "The job to price: each quantity under any of its names (§4.2)."},
)
CostsBody = msgspec.defstruct(
    "CostsBody",
    [
        ("job", CostJob | None, None),
        ("debug", Debug, None),
        ("verbose", Debug, None),
        *_COST_JOB_FIELDS,
    ],
    kw_only=True,
    namespace={"__doc__": "POST /api/compute/costs (§4.1); without ``job`` the top-level keys are the job."},
)


class EnqueueBody(msgspec.Struct, kw_only=True):
    """POST /api/schedule/enqueue (§5.2)."""

    id: str | int | None = None
    name: str | None = None
    title: str | None = None
    queue: str | None = None
    target: str | None = None
    priority: int | str | None = None
    sticky: bool | None = None
    sticky_device: bool | None = None
    device_id: str | None = None
    sticky_device_id: str | None = None
    provider_id: str | None = None
    payload: dict[str, Any] | None = None
    meta: dict[str, Any] | None = None
    bytes_tx: Number | None = None
    bytes_rx: Number | None = None
    vram_gb: Number | None = None


class ClaimBody(msgspec.Struct, kw_only=True):
    queue: str | None = None
    worker_id: str | None = None
    device_id: str | None = None
    lease_seconds: int | None = None


class HeartbeatBody(msgspec.Struct, kw_only=True):
    job_id: str | int
    lease_token: str | None = None
    lease_seconds: int | None = None


class CompleteBody(msgspec.Struct, kw_only=True):
    job_id: str | int
    lease_token: str | None = None
    status: str | None = None
    duration_sec: Number | None = None
    bytes_tx: Number | None = None
    bytes_rx: Number | None = None
    vram_gb: Number | None = None
    cost_estimate: Number | None = None


class FailBody(msgspec.Struct, kw_only=True):
    job_id: str | int
    error: str | None = None
    lease_token: str | None = None


class RequeueBody(msgspec.Struct, kw_only=True):
    job_id: str | int
    priority: int | str | None = None


class CancelBody(msgspec.Struct, kw_only=True):
    job_id: str | int


REQUEST_BODIES: dict[tuple[str, str], type[msgspec.Struct]] = {
    ("/api/providers", "post"): ProviderBody,
    ("/api/gpu/policy", "put"): PolicyBody,
    ("/api/gpu/policy", "post"): PolicyBody,
    ("/api/compute/advise", "post"): AdviseBody,
    ("/api/compute/costs", "post"): CostsBody,
    ("/api/schedule/enqueue", "post"): EnqueueBody,
    ("/api/schedule/claim", "post"): ClaimBody,
    ("/api/schedule/heartbeat", "post"): HeartbeatBody,
    ("/api/schedule/complete", "post"): CompleteBody,
    ("/api/schedule/fail", "post"): FailBody,
    ("/api/schedule/requeue", "post"): RequeueBody,
    ("/api/schedule/cancel", "post"): CancelBody,
}
ERROR_STATUSES = {
    "400": "Invalid JSON, a non-object body, or a field of the wrong type, format or range (the detail names it).",
    "401": "A token is configured and the request lacks it (mutations, probes, debug).",
    "404": "Unknown provider or job id.",
    "409": "A scheduler state conflict or a stale lease token.",
    "413": "Body over the server's limit (max_body_bytes, 1 MiB by default).",
}
_REF = "#/components/schemas/{name}"


def complete_openapi(document: dict[str, Any]) -> None:
    """Add the request bodies and the error responses to a generated OpenAPI document, in place."""
    _, components = msgspec.json.schema_components([*REQUEST_BODIES.values(), ErrorBody], ref_template=_REF)
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in components.items():
        schemas.setdefault(name, schema)
    error_ref = {"$ref": _REF.format(name=ErrorBody.__name__)}
    for path, item in document.get("paths", {}).items():
        if not path.startswith("/api/"):
            continue
        for method, operation in item.items():
            body = REQUEST_BODIES.get((path, method))
            if body is not None:
                operation["requestBody"] = {
                    "required": False,
                    "content": {"application/json": {"schema": {"$ref": _REF.format(name=body.__name__)}}},
                }
            responses = operation.setdefault("responses", {})
            for status, description in ERROR_STATUSES.items():
                responses[status] = {"description": description, "content": {"application/json": {"schema": error_ref}}}


class CompletedJsonRenderPlugin(JsonRenderPlugin):
    """Serves ``/schema/openapi.json`` with the request bodies and error responses added."""

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        complete_openapi(openapi_schema)  # idempotent, and the plugin renders the cached document once
        return super().render(request, openapi_schema)
