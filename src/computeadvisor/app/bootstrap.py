"""The composition root: the only place that chooses an adapter for each port and wires the services.

``create_app`` (and the CLI) call these; nothing else builds an adapter or a service. Every adapter, and every
resource adapters share, is a :class:`Lifecycle` opened and closed through :func:`opened`.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import msgspec

from computeadvisor.adapters.dns_resolver import SystemResolver
from computeadvisor.adapters.echo_health import EchoHealthProbe
from computeadvisor.adapters.file_flags import FileFeatureFlags
from computeadvisor.adapters.file_signatures import STAT_SIGNATURES, FileSignatures, watched_signatures
from computeadvisor.adapters.host_metrics import HostMetrics
from computeadvisor.adapters.http_health import HttpHealthProbe
from computeadvisor.adapters.json_registry import JsonFileRegistry
from computeadvisor.adapters.memory import MemoryJobStore, MemoryRegistry, MemorySettings, StaticFlags, StaticMetrics
from computeadvisor.adapters.nvml_metrics import NvmlMetrics
from computeadvisor.adapters.postgres_jobs import PostgresJobStore
from computeadvisor.adapters.postgres_registry import PostgresRegistry
from computeadvisor.adapters.psutil_metrics import PsutilMetrics
from computeadvisor.adapters.sqlite_jobs import SqliteJobStore
from computeadvisor.adapters.sqlite_settings import SqliteSettings
from computeadvisor.app.event_hub import STREAM_BUFFER, EventHub
from computeadvisor.app.metrics import Metrics
from computeadvisor.app.schedule_services import ScheduleService
from computeadvisor.app.services import Adapters, Services
from computeadvisor.config import Config
from computeadvisor.ports.job_store import JobStore
from computeadvisor.ports.lifecycle import Lifecycle
from computeadvisor.ports.provider_registry import ProviderRegistry

log = logging.getLogger("computeadvisor")


def load_nvml() -> Any | None:
    """The ``pynvml`` module of nvidia-ml-py, or None when it cannot be imported (the adapter then reports why)."""
    try:
        return importlib.import_module("pynvml")
    except ImportError as exc:
        log.info("pynvml unavailable: %s", exc)
        return None


def host_metrics(config: Config) -> HostMetrics:
    """CPU, RAM and disk of the state root's filesystem through psutil, GPUs through NVML."""
    return HostMetrics(PsutilMetrics(config.root_path), NvmlMetrics(load_nvml()))


def settings_store(config: Config, signatures: FileSignatures = STAT_SIGNATURES) -> SqliteSettings:
    """The GPU policy store of the state root (``data/comfyvn.db`` and its ``settings/config.json`` mirror)."""
    return SqliteSettings(config.root_path, signatures=signatures)


def job_store(config: Config, signatures: FileSignatures) -> JobStore:
    """PostgreSQL when ``database_url`` is set (several replicas, §14), else SQLite under the state root."""
    options: dict[str, Any] = {
        "attempt_cap": config.attempt_cap,
        "retention": config.retention,
        "min_samples": config.min_samples,
        "event_retention": config.event_retention,
    }
    if config.database_url:
        return PostgresJobStore(config.database_url, pool_size=config.database_pool_size, **options)
    return SqliteJobStore(config.root_path, signatures=signatures, **options)


def provider_registry(config: Config, signatures: FileSignatures) -> ProviderRegistry:
    """In the database with ``database_url`` (one registry for every replica, §14), else the JSON file."""
    if config.database_url:
        return PostgresRegistry(config.database_url, event_retention=config.event_retention)
    return JsonFileRegistry(config.root_path, signatures=signatures)


def build_adapters(config: Config, signatures: FileSignatures | None = None) -> Adapters:
    """The real adapters for a state root; nothing is opened here (see :func:`opened`).

    Args:
        config: the process configuration.
        signatures: how the file-backed adapters notice other processes' changes; by default one inotify
            instance shared by all of them (``stat`` where the platform has no inotify).
    """
    root = config.root_path
    signatures = signatures if signatures is not None else watched_signatures()
    return Adapters(
        registry=provider_registry(config, signatures),
        flags=FileFeatureFlags(root, signatures=signatures),
        metrics=host_metrics(config),
        jobs=job_store(config, signatures),
        settings=settings_store(config, signatures),
        health=HttpHealthProbe(
            SystemResolver(), timeout_s=config.health_timeout, deny_private=config.deny_private_health
        ),
        shared=(signatures,),
    )


SHARED_POLL_S = 0.1
"""How often a replica on PostgreSQL looks for other replicas' events and jobs while someone waits for them."""


def memory_adapters(**overrides: Any) -> Adapters:
    """Adapters that touch nothing outside the process (tests, embedding); keyword arguments replace single ones."""
    adapters = Adapters(
        registry=MemoryRegistry(),
        flags=StaticFlags(),
        metrics=StaticMetrics(),
        jobs=MemoryJobStore(),
        settings=MemorySettings(),
        health=EchoHealthProbe(),
    )
    return msgspec.structs.replace(adapters, **overrides)


def build_services(adapters: Adapters, config: Config) -> Services:
    """The use cases over one set of adapters (one registry instance serves every route, §0.7)."""
    # On a shared database other replicas write too: their events and jobs are looked for more often (§14).
    poll_s = SHARED_POLL_S if config.database_url else 1.0
    events = EventHub(
        adapters.jobs, max_streams=config.max_streams, buffer=STREAM_BUFFER, keepalive_s=config.event_keepalive,
        poll_s=poll_s,
    )  # fmt: skip
    metrics = Metrics()
    schedule = ScheduleService(
        adapters.jobs, adapters.registry, adapters.flags, metrics, notify=events.poke, poll_s=poll_s
    )
    return Services(
        adapters, schedule, events, metrics, probe_deadline_s=config.health_timeout, min_samples=config.min_samples,
        allow_secret_export=config.allow_secret_export,
    )  # fmt: skip


@asynccontextmanager
async def opened(*parts: Lifecycle) -> AsyncIterator[None]:
    """Open ``parts`` in order and close, in reverse, exactly those that opened, however the block ends.

    A start that fails half-way therefore leaves no database thread behind that keeps the process alive.
    """
    async with AsyncExitStack() as stack:
        for part in parts:
            await part.open()
            stack.push_async_callback(part.close)
        yield
