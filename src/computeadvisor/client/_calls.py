"""Every route as a :class:`Call`: method, path, body or query, and the Struct its answer decodes to.

:class:`~computeadvisor.client.Client` and :class:`~computeadvisor.client.AsyncClient` differ only in how they
send a call, so what each route takes and answers is written here once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import msgspec

from computeadvisor import wire
from computeadvisor.client.errors import ApiError, ClientError, LeaseLost

T = TypeVar("T")

LONG_POLL_SLACK_S = 10.0
"""How much longer than ``wait_seconds`` a long-poll claim may take before the client gives up on it."""


@dataclass(frozen=True)
class Call(Generic[T]):
    """One request and the type its 2xx answer decodes to."""

    method: str
    path: str
    answer: type[T]
    body: Mapping[str, Any] | None = None
    params: Mapping[str, str] | None = None
    timeout_s: float | None = None


def _fields(**fields: Any) -> dict[str, Any]:
    """A JSON body of the fields that were given (None means "not sent")."""
    return {name: value for name, value in fields.items() if value is not None}


def _flag(on: bool) -> dict[str, str]:
    return {"debug": "1"} if on else {}


def _segment(value: str) -> str:
    return quote(value, safe="")


# -- GPUs and policy (§1) ------------------------------------------------------------------------------------


def gpu_list(debug: bool = False) -> Call[wire.GpuListResponse]:
    return Call("GET", "/api/gpu/list", wire.GpuListResponse, params=_flag(debug))


def gpu_policy() -> Call[wire.PolicyResponse]:
    return Call("GET", "/api/gpu/policy", wire.PolicyResponse)


def set_gpu_policy(mode: str, preferred_id: str | None, manual_device: str | None) -> Call[wire.PolicySaved]:
    body = _fields(mode=mode, preferred_id=preferred_id, manual_device=manual_device)
    return Call("POST", "/api/gpu/policy", wire.PolicySaved, body=body)


# -- providers (§2) ------------------------------------------------------------------------------------------


def providers(debug: bool = False) -> Call[wire.ProvidersResponse]:
    return Call("GET", "/api/providers", wire.ProvidersResponse, params=_flag(debug))


def save_provider(
    provider_id: str, kind: str | None, base: str | None, meta: Mapping[str, Any] | None
) -> Call[wire.ProviderSaved]:
    body = _fields(id=provider_id, kind=kind, base=base, meta=meta)
    return Call("POST", "/api/providers", wire.ProviderSaved, body=body)


def delete_provider(provider_id: str) -> Call[wire.ProviderDeleted]:
    return Call("DELETE", f"/api/providers/{_segment(provider_id)}", wire.ProviderDeleted)


def provider_health(provider_id: str) -> Call[wire.HealthOne]:
    return Call("GET", "/api/providers/health", wire.HealthOne, params={"id": provider_id})


def providers_health() -> Call[wire.HealthAll]:
    return Call("GET", "/api/providers/health", wire.HealthAll)


def provider_quota(provider_id: str) -> Call[wire.Unsupported]:
    return Call("GET", "/api/providers/quota", wire.Unsupported, params={"id": provider_id})


def provider_templates(provider_id: str) -> Call[wire.Unsupported]:
    return Call("GET", "/api/providers/templates", wire.Unsupported, params={"id": provider_id})


# -- advice, costs, plan, model (§3, §4, §10) -----------------------------------------------------------------


def advise(body: Mapping[str, Any]) -> Call[wire.AdviseResponse]:
    return Call("POST", "/api/compute/advise", wire.AdviseResponse, body=body)


def costs(body: Mapping[str, Any]) -> Call[wire.CostsResponse]:
    return Call("POST", "/api/compute/costs", wire.CostsResponse, body=body)


def plan(body: Mapping[str, Any]) -> Call[wire.PlanResponse]:
    return Call("POST", "/api/compute/plan", wire.PlanResponse, body=body)


def model() -> Call[wire.ModelResponse]:
    return Call("GET", "/api/compute/model", wire.ModelResponse)


# -- scheduler (§5, §14, §15) --------------------------------------------------------------------------------


def schedule_health() -> Call[wire.ScheduleHealth]:
    return Call("GET", "/api/schedule/health", wire.ScheduleHealth)


def state(limit: int | None) -> Call[wire.StateResponse]:
    return Call("GET", "/api/schedule/state", wire.StateResponse, params=_fields(limit=_text(limit)))


def board(limit: int | None) -> Call[wire.BoardResponse]:
    return Call("GET", "/api/schedule/board", wire.BoardResponse, params=_fields(limit=_text(limit)))


def job(job_id: str) -> Call[wire.JobResponse]:
    return Call("GET", f"/api/schedule/jobs/{_segment(job_id)}", wire.JobResponse)


def enqueue(body: Mapping[str, Any]) -> Call[wire.EnqueueResponse]:
    return Call("POST", "/api/schedule/enqueue", wire.EnqueueResponse, body=body)


def claim(
    queue: str, worker_id: str | None, device_id: str | None, lease_seconds: int | None, wait_seconds: int
) -> Call[wire.ClaimResponse]:
    body = _fields(
        queue=queue, worker_id=worker_id, device_id=device_id, lease_seconds=lease_seconds, wait_seconds=wait_seconds
    )
    return Call(
        "POST", "/api/schedule/claim", wire.ClaimResponse, body=body, timeout_s=wait_seconds + LONG_POLL_SLACK_S
    )


def heartbeat(job_id: str, lease_token: str | None, lease_seconds: int | None) -> Call[wire.ClaimResponse]:
    body = _fields(job_id=job_id, lease_token=lease_token, lease_seconds=lease_seconds)
    return Call("POST", "/api/schedule/heartbeat", wire.ClaimResponse, body=body)


def complete(job_id: str, lease_token: str | None, **measured: Any) -> Call[wire.JobResponse]:
    body = _fields(job_id=job_id, lease_token=lease_token, **measured)
    return Call("POST", "/api/schedule/complete", wire.JobResponse, body=body)


def fail(job_id: str, lease_token: str | None, error: str | None) -> Call[wire.JobResponse]:
    body = {"job_id": job_id, "error": error, **_fields(lease_token=lease_token)}
    return Call("POST", "/api/schedule/fail", wire.JobResponse, body=body)


def requeue(job_id: str, priority: int | None) -> Call[wire.JobResponse]:
    return Call("POST", "/api/schedule/requeue", wire.JobResponse, body=_fields(job_id=job_id, priority=priority))


def cancel(job_id: str) -> Call[wire.JobResponse]:
    return Call("POST", "/api/schedule/cancel", wire.JobResponse, body={"job_id": job_id})


def metrics() -> Call[str]:
    return Call("GET", "/metrics", str)


def _text(value: int | None) -> str | None:
    return None if value is None else str(value)


def decode(call: Call[T], status: int, content: bytes) -> T:
    """The answer of ``call`` as its Struct (text for ``str`` answers); raises the error an error status means."""
    if status >= 400:
        try:
            body = msgspec.json.decode(content)
        except msgspec.DecodeError:
            body = content.decode(errors="replace")
        detail = str(body.get("detail", body)) if isinstance(body, dict) else str(body)
        lease_call = call.path in ("/api/schedule/heartbeat", "/api/schedule/complete", "/api/schedule/fail")
        kind = LeaseLost if status == 409 and lease_call else ApiError
        raise kind(status, detail, body)
    if call.answer is str:
        return content.decode()  # type: ignore[return-value]
    try:
        return msgspec.json.decode(content, type=call.answer)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ClientError(f"{call.method} {call.path}: unexpected answer: {exc}") from exc
