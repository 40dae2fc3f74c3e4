"""HTTP tests: Litestar's test client over ``create_app`` with in-memory adapters."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import pytest
from litestar.testing import TestClient

from computeadvisor.adapters.echo_health import EchoHealthProbe
from computeadvisor.adapters.memory import (
    MemoryJobStore,
    MemoryRegistry,
    MemorySettings,
    StaticFlags,
    StaticMetrics,
)
from computeadvisor.app.asgi import create_app
from computeadvisor.app.bootstrap import memory_adapters
from computeadvisor.config import Config
from computeadvisor.domain.hardware import GpuInfo, SystemSample
from computeadvisor.domain.policy import GpuPolicy
from computeadvisor.domain.providers import ProviderRecord
from computeadvisor.ports.health_probe import HealthProbe
from computeadvisor.ports.job_store import JobStore
from computeadvisor.ports.provider_registry import ProviderRegistry
from tests import seed_examples

ClientFactory = Callable[..., TestClient]  # type: ignore[type-arg]

RUNPOD_DEV = ProviderRecord(**seed_examples.RUNPOD_DEV)
RTX_4090 = GpuInfo(id=0, name="NVIDIA GeForce RTX 4090", mem_total=24564, mem_used=1024, mem_free=23540)


@pytest.fixture
def make_client() -> Iterator[ClientFactory]:
    """Build a started client; keyword arguments choose flag, providers, GPUs, policy and queue counts."""
    clients: list[TestClient] = []  # type: ignore[type-arg]

    def factory(
        *,
        flag: bool = False,
        providers: Sequence[ProviderRecord] = (),
        gpus: Sequence[GpuInfo] = (),
        policy: GpuPolicy | None = None,
        jobs: JobStore | None = None,
        flags: StaticFlags | None = None,
        token: str | None = None,
        health: HealthProbe | None = None,
        registry: ProviderRegistry | None = None,
    ) -> TestClient:  # type: ignore[type-arg]
        sample = SystemSample(ok=True, gpus=list(gpus), first_gpu=gpus[0] if gpus else None, source="nvml")
        adapters = memory_adapters(
            registry=registry or MemoryRegistry(providers),
            flags=flags or StaticFlags(enabled=flag),
            metrics=StaticMetrics(sample),
            jobs=jobs or MemoryJobStore(),
            settings=MemorySettings(policy),
            health=health or EchoHealthProbe(),
        )
        client = TestClient(create_app(Config(token=token), adapters=adapters))
        client.__enter__()
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: ClientFactory) -> TestClient:  # type: ignore[type-arg]
    """A GPU-less host, flag off, empty registry."""
    return make_client()
