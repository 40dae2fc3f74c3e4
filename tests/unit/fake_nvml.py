"""An in-memory stand-in for the ``pynvml`` module: the calls NvmlMetrics makes, over scripted GPUs.

Handed to ``NvmlMetrics`` as its module argument; nothing is monkeypatched. Call names and error classes
follow nvidia-ml-py.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MIB = 1024 * 1024


class NVMLError(Exception):
    """Base of the fake's errors, like ``pynvml.NVMLError``."""


class NVMLError_LibraryNotFound(NVMLError):
    def __init__(self) -> None:
        super().__init__("NVML Shared Library Not Found")


class NVMLError_DriverNotLoaded(NVMLError):
    def __init__(self) -> None:
        super().__init__("Driver Not Loaded")


class NVMLError_NotSupported(NVMLError):
    def __init__(self) -> None:
        super().__init__("Not Supported")


class NVMLError_Uninitialized(NVMLError):
    def __init__(self) -> None:
        super().__init__("Uninitialized")


@dataclass
class FakeGpu:
    """One scripted GPU; ``failing`` names the calls (``name``, ``uuid``, ``utilization``, ``memory``,
    ``temperature``, ``power``, ``handle``) that raise NotSupported on it."""

    name: bytes | str = "NVIDIA GeForce RTX 4090"
    uuid: bytes | str = "GPU-00000000-0000-0000-0000-000000000000"
    util: int = 37
    mem_total: int = 24564 * MIB
    mem_used: int = 1024 * MIB
    temp: int = 45
    power_mw: int = 71234
    failing: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class _Utilization:
    gpu: int
    memory: int


@dataclass(frozen=True)
class _Memory:
    total: int
    used: int
    free: int


class FakeNvml:
    """A module-like object: ``nvmlInit``, ``nvmlDeviceGet*``, ``nvmlShutdown`` and ``NVML_TEMPERATURE_GPU``."""

    NVML_TEMPERATURE_GPU = 0

    def __init__(self, gpus: list[FakeGpu], *, init_error: NVMLError | None = None) -> None:
        self.gpus = gpus
        self.init_error = init_error
        self.count_error: NVMLError | None = None
        self.initialised = False
        self.init_calls = 0
        self.shutdown_calls = 0

    # -- lifecycle ---------------------------------------------------------------------------------------------

    def nvmlInit(self) -> None:
        self.init_calls += 1
        if self.init_error is not None:
            raise self.init_error
        self.initialised = True

    def nvmlShutdown(self) -> None:
        if not self.initialised:
            raise NVMLError_Uninitialized()
        self.shutdown_calls += 1
        self.initialised = False

    # -- devices -----------------------------------------------------------------------------------------------

    def _gpu(self, handle: int, call: str) -> FakeGpu:
        if not self.initialised:
            raise NVMLError_Uninitialized()
        gpu = self.gpus[handle]
        if call in gpu.failing:
            raise NVMLError_NotSupported()
        return gpu

    def nvmlDeviceGetCount(self) -> int:
        if not self.initialised:
            raise NVMLError_Uninitialized()
        if self.count_error is not None:
            raise self.count_error
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> int:
        self._gpu(index, "handle")
        return index

    def nvmlDeviceGetName(self, handle: int) -> bytes | str:
        return self._gpu(handle, "name").name

    def nvmlDeviceGetUUID(self, handle: int) -> bytes | str:
        return self._gpu(handle, "uuid").uuid

    def nvmlDeviceGetUtilizationRates(self, handle: int) -> _Utilization:
        return _Utilization(gpu=self._gpu(handle, "utilization").util, memory=5)

    def nvmlDeviceGetMemoryInfo(self, handle: int) -> _Memory:
        gpu = self._gpu(handle, "memory")
        # NVML's own ``free`` also excludes reserved memory, so it is deliberately not total - used here.
        return _Memory(total=gpu.mem_total, used=gpu.mem_used, free=gpu.mem_total - gpu.mem_used - 300 * MIB)

    def nvmlDeviceGetTemperature(self, handle: int, sensor: int) -> int:
        assert sensor == self.NVML_TEMPERATURE_GPU
        return self._gpu(handle, "temperature").temp

    def nvmlDeviceGetPowerUsage(self, handle: int) -> int:
        return self._gpu(handle, "power").power_mw


def two_gpus() -> FakeNvml:
    """A 4090 named in bytes (older bindings) and an A100 named in str, whose power reading is unsupported."""
    return FakeNvml(
        [
            FakeGpu(name=b"NVIDIA GeForce RTX 4090", uuid=b"GPU-aaaa"),
            FakeGpu(
                name="NVIDIA A100-SXM4-80GB",
                uuid="GPU-bbbb",
                util=3,
                mem_total=81920 * MIB,
                mem_used=512 * MIB + 12345,  # a part-MiB remainder is dropped, not rounded up
                temp=31,
                power_mw=60000,
                failing={"power"},
            ),
        ]
    )


def driver_not_loaded() -> FakeNvml:
    """The library loads but ``nvmlInit`` fails (driver missing or broken)."""
    return FakeNvml([FakeGpu()], init_error=NVMLError_DriverNotLoaded())


def no_library() -> FakeNvml:
    """No ``libnvidia-ml.so`` on the host: what pynvml raises on a machine with no NVIDIA driver at all."""
    return FakeNvml([], init_error=NVMLError_LibraryNotFound())
