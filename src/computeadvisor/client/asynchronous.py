"""The asyncio client: the same methods as :class:`~computeadvisor.client.Client`, awaited."""

from __future__ import annotations

from collections.abc import Awaitable, Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar

import httpx

from computeadvisor import wire
from computeadvisor.client import _calls as calls
from computeadvisor.client.errors import ServerUnreachable
from computeadvisor.client.sync import DEFAULT_BASE, auth_headers

T = TypeVar("T")


class AsyncClient:
    """Talks to one computeadvisor server from asyncio; ``async with`` it or await :meth:`aclose`."""

    def __init__(
        self, base: str = DEFAULT_BASE, token: str | None = None, *, timeout_s: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:  # fmt: skip
        self.base = base.rstrip("/")
        self._http = httpx.AsyncClient(
            base_url=self.base, headers=auth_headers(token), timeout=timeout_s, transport=transport, trust_env=False
        )

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connections."""
        await self._http.aclose()

    async def send(self, call: calls.Call[T]) -> T:
        """Send one call and decode its answer."""
        timeout = httpx.USE_CLIENT_DEFAULT if call.timeout_s is None else call.timeout_s
        try:
            response = await self._http.request(
                call.method, call.path, json=call.body, params=call.params, timeout=timeout
            )
        except httpx.TransportError as exc:
            raise ServerUnreachable(f"{call.method} {self.base}{call.path}: {exc!r}") from exc
        return calls.decode(call, response.status_code, response.content)

    # -- GPUs and policy (§1) --------------------------------------------------------------------------------

    def gpu_list(self, *, debug: bool = False) -> Awaitable[wire.GpuListResponse]:
        """``GET /api/gpu/list``: the CPU and GPUs with the policy (``debug`` adds raw samples; needs the token)."""
        return self.send(calls.gpu_list(debug))

    def gpu_policy(self) -> Awaitable[wire.PolicyResponse]:
        """``GET /api/gpu/policy``."""
        return self.send(calls.gpu_policy())

    def set_gpu_policy(
        self, mode: str, *, preferred_id: str | None = None, manual_device: str | None = None
    ) -> Awaitable[wire.PolicySaved]:
        """``POST /api/gpu/policy``: ``auto``, ``sticky`` or ``manual``."""
        return self.send(calls.set_gpu_policy(mode, preferred_id, manual_device))

    # -- providers (§2) --------------------------------------------------------------------------------------

    def providers(self, *, debug: bool = False) -> Awaitable[wire.ProvidersResponse]:
        """``GET /api/providers``: the registry, secrets masked."""
        return self.send(calls.providers(debug))

    def save_provider(
        self, provider_id: str, *, kind: str | None = None, base: str | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> Awaitable[wire.ProviderSaved]:  # fmt: skip
        """``POST /api/providers``: insert or replace a provider record."""
        return self.send(calls.save_provider(provider_id, kind, base, meta))

    def delete_provider(self, provider_id: str) -> Awaitable[wire.ProviderDeleted]:
        """``DELETE /api/providers/{id}``."""
        return self.send(calls.delete_provider(provider_id))

    def provider_health(self, provider_id: str) -> Awaitable[wire.HealthOne]:
        """``GET /api/providers/health?id=``: probe one provider."""
        return self.send(calls.provider_health(provider_id))

    def providers_health(self) -> Awaitable[wire.HealthAll]:
        """``GET /api/providers/health``: probe every provider."""
        return self.send(calls.providers_health())

    def provider_quota(self, provider_id: str) -> Awaitable[wire.Unsupported]:
        """``GET /api/providers/quota`` (no vendor adapters: always ``unsupported``)."""
        return self.send(calls.provider_quota(provider_id))

    def provider_templates(self, provider_id: str) -> Awaitable[wire.Unsupported]:
        """``GET /api/providers/templates`` (no vendor adapters: always ``unsupported``)."""
        return self.send(calls.provider_templates(provider_id))

    # -- advice, costs, plan, model (§3, §4, §10) ------------------------------------------------------------

    def advise(self, body: Mapping[str, Any]) -> Awaitable[wire.AdviseResponse]:
        """``POST /api/compute/advise``: cpu, gpu or remote for ``{"job": {...}, ...}``."""
        return self.send(calls.advise(body))

    def costs(self, body: Mapping[str, Any]) -> Awaitable[wire.CostsResponse]:
        """``POST /api/compute/costs``: what a job would cost (never bills)."""
        return self.send(calls.costs(body))

    def plan(self, body: Mapping[str, Any]) -> Awaitable[wire.PlanResponse]:
        """``POST /api/compute/plan``: every place ranked by its learned ETA and cost."""
        return self.send(calls.plan(body))

    def model(self) -> Awaitable[wire.ModelResponse]:
        """``GET /api/compute/model``: what the run-time model learned, and its accuracy."""
        return self.send(calls.model())

    # -- scheduler (§5, §14, §15) ----------------------------------------------------------------------------

    def schedule_health(self) -> Awaitable[wire.ScheduleHealth]:
        """``GET /api/schedule/health``."""
        return self.send(calls.schedule_health())

    def state(self, *, limit: int | None = None) -> Awaitable[wire.StateResponse]:
        """``GET /api/schedule/state``: queued, running and finished jobs with totals."""
        return self.send(calls.state(limit))

    def board(self, *, limit: int | None = None) -> Awaitable[wire.BoardResponse]:
        """``GET /api/schedule/board``: timeline segments."""
        return self.send(calls.board(limit))

    def job(self, job_id: str) -> Awaitable[wire.JobResponse]:
        """``GET /api/schedule/jobs/{id}``: one full record."""
        return self.send(calls.job(job_id))

    def enqueue(self, job: Mapping[str, Any] | None = None, **fields: Any) -> Awaitable[wire.EnqueueResponse]:
        """``POST /api/schedule/enqueue`` with the §5.2 fields of ``job`` and ``fields`` (``fields`` win)."""
        return self.send(calls.enqueue({**(job or {}), **fields}))

    def claim(
        self, queue: str = "local", *, worker_id: str | None = None, device_id: str | None = None,
        lease_seconds: int | None = None, wait_seconds: int = 0,
    ) -> Awaitable[wire.ClaimResponse]:  # fmt: skip
        """``POST /api/schedule/claim``; with ``wait_seconds`` an empty queue waits for a job (long-poll)."""
        return self.send(calls.claim(queue, worker_id, device_id, lease_seconds, wait_seconds))

    def heartbeat(
        self, job_id: str, lease_token: str | None = None, *, lease_seconds: int | None = None
    ) -> Awaitable[wire.ClaimResponse]:
        """``POST /api/schedule/heartbeat``; :class:`LeaseLost` when the lease is no longer this one."""
        return self.send(calls.heartbeat(job_id, lease_token, lease_seconds))

    def complete(
        self, job_id: str, lease_token: str | None = None, *, status: str | None = None,
        duration_sec: float | None = None, bytes_tx: int | None = None, bytes_rx: int | None = None,
        vram_gb: float | None = None, cost_estimate: float | None = None, outputs: Sequence[str] | None = None,
    ) -> Awaitable[wire.JobResponse]:  # fmt: skip
        """``POST /api/schedule/complete``; :class:`LeaseLost` when the lease is no longer this one."""
        measured = {"status": status, "duration_sec": duration_sec, "bytes_tx": bytes_tx, "bytes_rx": bytes_rx,
                    "vram_gb": vram_gb, "cost_estimate": cost_estimate, "outputs": outputs}  # fmt: skip
        return self.send(calls.complete(job_id, lease_token, **measured))

    def fail(
        self, job_id: str, lease_token: str | None = None, *, error: str | None = None
    ) -> Awaitable[wire.JobResponse]:
        """``POST /api/schedule/fail``; :class:`LeaseLost` when the lease is no longer this one."""
        return self.send(calls.fail(job_id, lease_token, error))

    def requeue(self, job_id: str, *, priority: int | None = None) -> Awaitable[wire.JobResponse]:
        """``POST /api/schedule/requeue``: back to the end of its priority band."""
        return self.send(calls.requeue(job_id, priority))

    def cancel(self, job_id: str) -> Awaitable[wire.JobResponse]:
        """``POST /api/schedule/cancel``."""
        return self.send(calls.cancel(job_id))

    def metrics(self) -> Awaitable[str]:
        """``GET /metrics``: the Prometheus text."""
        return self.send(calls.metrics())
