"""NVML on a real NVIDIA GPU (marker ``gpu``); every test skips cleanly when there is no driver or no GPU."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from computeadvisor.adapters.host_metrics import HostMetrics
from computeadvisor.adapters.nvml_metrics import NvmlMetrics
from computeadvisor.adapters.psutil_metrics import PsutilMetrics
from computeadvisor.domain.hardware import device_entries

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="module")
def pynvml() -> Iterator[Any]:
    """The real bindings with NVML initialised, or a skip saying why not."""
    try:
        import pynvml as module
    except ImportError as exc:
        pytest.skip(f"nvidia-ml-py is not installed: {exc}")
    try:
        module.nvmlInit()
    except Exception as exc:  # NVMLError_LibraryNotFound / DriverNotLoaded / ...: no usable driver here
        pytest.skip(f"no NVIDIA driver: {exc}")
    try:
        if module.nvmlDeviceGetCount() == 0:
            pytest.skip("NVIDIA driver present but no GPU")
        yield module
    finally:
        module.nvmlShutdown()


def test_every_gpu_is_read_with_its_fields(pynvml: Any) -> None:
    metrics = NvmlMetrics(pynvml)
    metrics.open()
    try:
        reading = metrics.read()
    finally:
        metrics.close()
    assert (reading.source, reading.error) == ("nvml", None)
    assert [g.id for g in reading.gpus] == list(range(pynvml.nvmlDeviceGetCount()))
    for gpu, raw in zip(reading.gpus, reading.raw_devices, strict=True):
        assert gpu.name != "GPU" and gpu.name == gpu.name.strip()
        assert gpu.uuid is not None and gpu.uuid.startswith(("GPU-", "MIG-"))
        assert gpu.mem_total is not None and gpu.mem_used is not None and gpu.mem_free is not None
        assert gpu.mem_total > 0 and gpu.mem_free == gpu.mem_total - gpu.mem_used
        handle = pynvml.nvmlDeviceGetHandleByIndex(gpu.id)
        assert gpu.mem_total == pynvml.nvmlDeviceGetMemoryInfo(handle).total // 2**20
        if gpu.util is not None:
            assert 0 <= gpu.util <= 100
        if gpu.temp_c is not None:
            assert 0 < gpu.temp_c < 130
        if gpu.power_w is not None:
            assert 0 <= gpu.power_w < 2000
        msgspec.json.encode(raw)
        print(gpu, raw.get("errors"))  # which fields this card does not support, for the record (pytest -s)


def test_the_host_sample_lists_the_gpus_after_the_cpu(pynvml: Any, tmp_path: Path) -> None:
    source = HostMetrics(PsutilMetrics(tmp_path), NvmlMetrics(pynvml))
    asyncio.run(source.open())
    try:
        sample = source.sample()
        again = source.sample()
    finally:
        asyncio.run(source.close())
    assert sample.ok and sample.source == "nvml" and sample.gpu_error is None
    assert sample.first_gpu == sample.gpus[0]
    assert [g.id for g in again.gpus] == [g.id for g in sample.gpus]
    devices = msgspec.to_builtins(device_entries(sample))
    assert [d["id"] for d in devices] == ["cpu", *(f"gpu:{g.id}" for g in sample.gpus)]
    assert all(d["load"] == d["util"] and d["mem_total"] == d["mem_total_mb"] for d in devices[1:])
