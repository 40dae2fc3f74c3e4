"""What the hardware sampler saw: the system sample of §1.1 and its GPUs."""

from __future__ import annotations

import msgspec


class GpuInfo(msgspec.Struct, frozen=True, kw_only=True):
    """One NVIDIA GPU as sampled; any field the driver could not give is None. Memory in MiB."""

    id: int
    name: str = "GPU"
    uuid: str | None = None
    util: int | None = None
    mem_used: int | None = None
    mem_total: int | None = None
    mem_free: int | None = None
    temp_c: int | None = None
    power_w: float | None = None

    @property
    def device_id(self) -> str:
        """The policy/advisor device id, ``gpu:<index>``."""
        return f"gpu:{self.id}"


class SystemSample(msgspec.Struct, frozen=True, kw_only=True):
    """One snapshot of CPU, RAM, disk and GPUs (the ``metrics`` debug object of §1.1)."""

    ok: bool = False
    cpu: float | None = None
    mem: float | None = None
    mem_used_mb: int | None = None
    mem_total_mb: int | None = None
    disk: float | None = None
    disk_used_gb: float | None = None
    disk_total_gb: float | None = None
    gpus: list[GpuInfo] = msgspec.field(default_factory=list)
    first_gpu: GpuInfo | None = None
    timestamp: str = ""
    source: str = "none"
    gpu_error: str | None = None
    cpu_name: str = "CPU"
