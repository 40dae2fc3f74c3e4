"""The composition root: the only place that chooses an adapter for each port."""

from __future__ import annotations

from computeadvisor.adapters.file_flags import FileFeatureFlags
from computeadvisor.adapters.json_registry import JsonFileRegistry
from computeadvisor.adapters.memory import (
    MemoryJobStore,
    MemoryRegistry,
    MemorySettings,
    StaticFlags,
    StaticMetrics,
)
from computeadvisor.app.services import Adapters
from computeadvisor.config import Config


def build_adapters(config: Config) -> Adapters:
    """The real adapters for a state root.

    The scheduler, the hardware sampler and the settings store still use in-memory stand-ins (zero queues,
    no GPU, the default policy) until their real adapters exist.
    """
    root = config.root_path
    return Adapters(
        registry=JsonFileRegistry(root),
        flags=FileFeatureFlags(root),
        metrics=StaticMetrics(),
        jobs=MemoryJobStore(),
        settings=MemorySettings(),
    )


def memory_adapters(*, flag: bool = False) -> Adapters:
    """Adapters that touch nothing outside the process (tests, embedding)."""
    return Adapters(
        registry=MemoryRegistry(),
        flags=StaticFlags(enabled=flag),
        metrics=StaticMetrics(),
        jobs=MemoryJobStore(),
        settings=MemorySettings(),
    )
