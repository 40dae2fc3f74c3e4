"""NVIDIA GPUs through NVML (the ``nvidia-ml-py`` bindings, imported as ``pynvml``); never a subprocess.

The NVML module is a constructor argument so tests hand in a fake and the composition root hands in ``pynvml``
(or None when it cannot be imported). Nothing here raises: a broken driver means no GPUs and a reason.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import msgspec

from computeadvisor.domain.hardware import GpuInfo

T = TypeVar("T")
MIB = 1024 * 1024


class GpuReading(msgspec.Struct, frozen=True, kw_only=True):
    """One NVML probe: GPUs in index order, their raw records, ``source`` (``nvml``/``none``) and why it failed."""

    gpus: list[GpuInfo] = msgspec.field(default_factory=list)
    raw_devices: list[dict[str, Any]] = msgspec.field(default_factory=list)
    source: str = "none"
    error: str | None = None


def _text(value: Any) -> str:
    """NVML strings are bytes in older bindings and str in newer ones."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace").strip()
    return str(value).strip()


def _describe(exc: BaseException) -> str:
    return str(exc).strip() or type(exc).__name__


class NvmlMetrics:
    """Reads every NVIDIA GPU; ``open()`` runs ``nvmlInit`` once, ``close()`` runs ``nvmlShutdown``.

    All methods block (the driver answers in microseconds to milliseconds) and are meant for a worker thread.
    """

    def __init__(self, nvml: Any | None) -> None:
        self._nvml: Any = nvml  # Any: pynvml has no type stubs, and tests pass a fake
        self._lock = threading.Lock()
        self._opened = False
        self._init_error: str | None = None

    def open(self) -> None:
        """Initialise NVML; on failure remember the reason (idempotent, never raises)."""
        with self._lock:
            self._open_locked()

    def _open_locked(self) -> None:
        if self._opened:
            return
        self._opened = True
        if self._nvml is None:
            self._init_error = "NVML unavailable: nvidia-ml-py (pynvml) is not installed"
            return
        try:
            self._nvml.nvmlInit()
        # NVML raises its own NVMLError subclasses, but a missing symbol or a broken library can raise
        # anything; the sampler must keep running, so every failure becomes a reason string.
        except Exception as exc:
            self._init_error = f"NVML unavailable: {_describe(exc)}"
        else:
            self._init_error = None

    def close(self) -> None:
        """Shut NVML down if ``open()`` initialised it; a later ``read()`` opens it again."""
        with self._lock:
            if self._opened and self._init_error is None and self._nvml is not None:
                # Shutting down a driver that already went away is not worth reporting.
                with contextlib.suppress(Exception):
                    self._nvml.nvmlShutdown()
            self._opened = False
            self._init_error = None

    def read(self) -> GpuReading:
        """Probe every GPU now; opens NVML first if needed. One failing field leaves only that field None."""
        with self._lock:
            self._open_locked()
            if self._init_error is not None:
                return GpuReading(error=self._init_error)
            try:
                count = int(self._nvml.nvmlDeviceGetCount())
            except Exception as exc:
                return GpuReading(error=f"NVML device count failed: {_describe(exc)}")
            gpus: list[GpuInfo] = []
            raws: list[dict[str, Any]] = []
            for index in range(count):
                gpu, raw = self._device(index)
                gpus.append(gpu)
                raws.append(raw)
            return GpuReading(gpus=gpus, raw_devices=raws, source="nvml")

    def _device(self, index: int) -> tuple[GpuInfo, dict[str, Any]]:
        nvml = self._nvml
        raw: dict[str, Any] = {"index": index}
        errors: dict[str, str] = {}

        def field(name: str, call: Callable[[], T]) -> T | None:
            try:
                return call()
            except Exception as exc:
                errors[name] = _describe(exc)
                return None

        handle = field("handle", lambda: nvml.nvmlDeviceGetHandleByIndex(index))
        if handle is None:
            raw["errors"] = errors
            return GpuInfo(id=index), raw
        name = field("name", lambda: _text(nvml.nvmlDeviceGetName(handle)))
        uuid = field("uuid", lambda: _text(nvml.nvmlDeviceGetUUID(handle)))
        util = field("utilization", lambda: int(nvml.nvmlDeviceGetUtilizationRates(handle).gpu))
        memory = field("memory", lambda: nvml.nvmlDeviceGetMemoryInfo(handle))
        temp_kind = getattr(nvml, "NVML_TEMPERATURE_GPU", 0)
        temp = field("temperature", lambda: int(nvml.nvmlDeviceGetTemperature(handle, temp_kind)))
        power_mw = field("power", lambda: float(nvml.nvmlDeviceGetPowerUsage(handle)))

        mem_total = mem_used = None
        if memory is not None:
            total_b = field("memory.total", lambda: int(memory.total))
            used_b = field("memory.used", lambda: int(memory.used))
            mem_total = None if total_b is None else total_b // MIB
            mem_used = None if used_b is None else used_b // MIB
            raw["memory_bytes"] = {"total": total_b, "used": used_b, "free": getattr(memory, "free", None)}
        raw.update(name=name, uuid=uuid, utilization_gpu=util, temperature_c=temp, power_mw=power_mw)
        if errors:
            raw["errors"] = errors
        gpu = GpuInfo(
            id=index,
            name=name or "GPU",
            uuid=uuid or None,
            util=util,
            mem_used=mem_used,
            mem_total=mem_total,
            # The contract defines free as total - used (NVML's own ``free`` also excludes reserved memory).
            mem_free=None if mem_total is None or mem_used is None else mem_total - mem_used,
            temp_c=temp,
            power_w=None if power_mw is None else round(power_mw / 1000.0, 2),
        )
        return gpu, raw
