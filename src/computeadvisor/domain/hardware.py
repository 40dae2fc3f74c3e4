"""What the hardware sampler saw: the system sample of §1.1 and its GPUs, and the ``devices`` list built from it."""

from __future__ import annotations

from typing import Any

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
    """One snapshot of CPU, RAM, disk and GPUs (the ``metrics`` debug object of §1.1).

    Percentages have 2 decimals, RAM is in MiB, disk in GiB (2 dp), ``timestamp`` is ISO-8601 UTC.
    ``raw_devices`` holds the per-GPU records as the probe captured them (the ``raw_devices`` debug key of §1.1);
    its inner shape is diagnostic only.
    """

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
    raw_devices: list[dict[str, Any]] = msgspec.field(default_factory=list)


# -- the ``devices`` list of GET /api/gpu/list (§1.1) ---------------------------------------------------------


class CpuDevice(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag="cpu"):
    """``devices[0]``: the CPU; ``load`` is the system CPU % (2 dp) or None. Encodes ``"type": "cpu"``."""

    id: str = "cpu"
    name: str = "CPU"
    load: float | None = None


class GpuDevice(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag="gpu"):
    """One GPU entry with both key sets (``util``/``mem_total``/... and ``load``/``mem_*_mb``); memory in MiB."""

    id: str
    name: str = "GPU"
    uuid: str | None = None
    load: int | None = None
    util: int | None = None
    mem_total: int | None = None
    mem_used: int | None = None
    mem_free: int | None = None
    mem_total_mb: int | None = None
    mem_used_mb: int | None = None
    temp_c: int | None = None
    power_w: float | None = None


Device = CpuDevice | GpuDevice


def cpu_device(sample: SystemSample) -> CpuDevice:
    """The CPU entry: processor name trimmed (``"CPU"`` when empty) and CPU % rounded to 2 dp."""
    return CpuDevice(
        name=sample.cpu_name.strip() or "CPU",
        load=None if sample.cpu is None else round(sample.cpu, 2),
    )


def gpu_device(gpu: GpuInfo) -> GpuDevice:
    """One GPU entry; the ComfyVN key set and the newer ``load``/``*_mb`` set carry the same values."""
    return GpuDevice(
        id=gpu.device_id,
        name=gpu.name.strip() or "GPU",
        uuid=gpu.uuid,
        load=gpu.util,
        util=gpu.util,
        mem_total=gpu.mem_total,
        mem_used=gpu.mem_used,
        mem_free=gpu.mem_free,
        mem_total_mb=gpu.mem_total,
        mem_used_mb=gpu.mem_used,
        temp_c=gpu.temp_c,
        power_w=gpu.power_w,
    )


def device_entries(sample: SystemSample) -> list[Device]:
    """``devices`` of §1.1: the CPU first, then one entry per GPU in index order."""
    return [cpu_device(sample), *(gpu_device(g) for g in sorted(sample.gpus, key=lambda g: g.id))]
