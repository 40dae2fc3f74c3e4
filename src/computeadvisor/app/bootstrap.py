"""The composition root: the only place that chooses an adapter for each port."""

from __future__ import annotations

import importlib
import logging
from typing import Any

import msgspec

from computeadvisor.adapters._watch import STAT_SIGNATURES, FileSignatures
from computeadvisor.adapters.dns_resolver import SystemResolver
from computeadvisor.adapters.echo_health import EchoHealthProbe
from computeadvisor.adapters.file_flags import FileFeatureFlags
from computeadvisor.adapters.host_metrics import HostMetrics
from computeadvisor.adapters.http_health import HttpHealthProbe
from computeadvisor.adapters.json_registry import JsonFileRegistry
from computeadvisor.adapters.memory import MemoryJobStore, MemoryRegistry, MemorySettings, StaticFlags, StaticMetrics
from computeadvisor.adapters.nvml_metrics import NvmlMetrics
from computeadvisor.adapters.psutil_metrics import PsutilMetrics
from computeadvisor.adapters.sqlite_jobs import SqliteJobStore
from computeadvisor.adapters.sqlite_settings import SqliteSettings
from computeadvisor.app.services import Adapters
from computeadvisor.config import Config

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


def build_adapters(config: Config, signatures: FileSignatures = STAT_SIGNATURES) -> Adapters:
    """The real adapters for a state root; ``signatures`` is how the file-backed ones notice changes.

    Nothing is opened here: the app's lifespan opens and closes them.
    """
    root = config.root_path
    return Adapters(
        registry=JsonFileRegistry(root, signatures=signatures),
        flags=FileFeatureFlags(root, signatures=signatures),
        metrics=host_metrics(config),
        jobs=SqliteJobStore(root, attempt_cap=config.attempt_cap, retention=config.retention, signatures=signatures),
        settings=settings_store(config, signatures),
        health=HttpHealthProbe(
            SystemResolver(), timeout_s=config.health_timeout, deny_private=config.deny_private_health
        ),
    )


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
