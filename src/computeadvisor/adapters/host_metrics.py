"""MetricsSource for this host: psutil for CPU/RAM/disk plus NVML for GPUs, one ``SystemSample`` per call."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from computeadvisor.adapters.nvml_metrics import NvmlMetrics
from computeadvisor.adapters.psutil_metrics import PsutilMetrics
from computeadvisor.domain.hardware import SystemSample
from computeadvisor.domain.values import utc_timestamp
from computeadvisor.ports.metrics_source import MetricsSource


class HostMetrics(MetricsSource):
    """Combines a host reading and a GPU reading; ``open()``/``close()`` start and stop NVML.

    ``sample()`` blocks and belongs on a worker thread; it never raises.
    """

    def __init__(
        self,
        host: PsutilMetrics,
        gpus: NvmlMetrics,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._host = host
        self._gpus = gpus
        self._clock = clock

    async def open(self) -> None:
        """Initialise NVML in a worker thread (a failure is remembered as ``gpu_error``, not raised)."""
        await asyncio.to_thread(self._gpus.open)

    async def close(self) -> None:
        """Shut NVML down in a worker thread."""
        await asyncio.to_thread(self._gpus.close)

    def sample(self) -> SystemSample:
        """CPU, RAM, disk and every NVIDIA GPU, read now."""
        timestamp = utc_timestamp(self._clock())
        host = self._host.read()
        gpus = self._gpus.read()
        return SystemSample(
            ok=host.ok,
            cpu=host.cpu,
            mem=host.mem,
            mem_used_mb=host.mem_used_mb,
            mem_total_mb=host.mem_total_mb,
            disk=host.disk,
            disk_used_gb=host.disk_used_gb,
            disk_total_gb=host.disk_total_gb,
            gpus=gpus.gpus,
            first_gpu=gpus.gpus[0] if gpus.gpus else None,
            timestamp=timestamp,
            source=gpus.source,
            gpu_error=gpus.error,
            cpu_name=host.cpu_name,
            raw_devices=gpus.raw_devices,
        )
