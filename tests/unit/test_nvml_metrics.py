"""NvmlMetrics over the fake NVML module: conversions, per-field failures, and never raising without a driver."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import msgspec

from computeadvisor.adapters.host_metrics import HostMetrics
from computeadvisor.adapters.nvml_metrics import NvmlMetrics
from computeadvisor.adapters.psutil_metrics import PsutilMetrics
from computeadvisor.domain.hardware import GpuInfo, device_entries
from computeadvisor.domain.values import utc_timestamp
from tests.unit.fake_nvml import FakeGpu, FakeNvml, NVMLError_DriverNotLoaded, driver_not_loaded, no_library, two_gpus


def test_two_gpus_are_converted_to_mib_watts_and_text() -> None:
    nvml = two_gpus()
    reading = NvmlMetrics(nvml).read()
    assert (reading.source, reading.error) == ("nvml", None)
    assert reading.gpus == [
        GpuInfo(
            id=0,
            name="NVIDIA GeForce RTX 4090",
            uuid="GPU-aaaa",
            util=37,
            mem_used=1024,
            mem_total=24564,
            mem_free=23540,
            temp_c=45,
            power_w=71.23,
        ),
        GpuInfo(
            id=1,
            name="NVIDIA A100-SXM4-80GB",
            uuid="GPU-bbbb",
            util=3,
            mem_used=512,
            mem_total=81920,
            mem_free=81408,
            temp_c=31,
            power_w=None,  # the one failing field; the device and its other fields stay
        ),
    ]
    assert [raw["index"] for raw in reading.raw_devices] == [0, 1]
    assert reading.raw_devices[1]["errors"] == {"power": "Not Supported"}
    assert "errors" not in reading.raw_devices[0]
    msgspec.json.encode(reading.raw_devices)  # diagnostic, but it must still be JSON


def test_every_field_can_fail_alone() -> None:
    fields = ("name", "uuid", "utilization", "memory", "temperature", "power")
    nvml = FakeNvml([FakeGpu(failing={name}) for name in fields])
    gpus = NvmlMetrics(nvml).read().gpus
    assert [g.id for g in gpus] == list(range(len(fields)))
    assert gpus[0].name == "GPU" and gpus[0].uuid is not None
    assert gpus[1].uuid is None and gpus[1].name != "GPU"
    assert gpus[2].util is None and gpus[2].temp_c == 45
    assert (gpus[3].mem_total, gpus[3].mem_used, gpus[3].mem_free) == (None, None, None)
    assert gpus[3].util == 37
    assert gpus[4].temp_c is None and gpus[4].power_w == 71.23
    assert gpus[5].power_w is None and gpus[5].mem_total == 24564


def test_a_device_whose_handle_fails_keeps_its_index_with_nothing_known() -> None:
    nvml = FakeNvml([FakeGpu(failing={"handle"}), FakeGpu(mem_used=0)])
    gpus = NvmlMetrics(nvml).read().gpus
    assert gpus[0] == GpuInfo(id=0)
    assert gpus[1].id == 1 and gpus[1].mem_free == 24564


def test_empty_names_fall_back_to_gpu() -> None:
    gpu = NvmlMetrics(FakeNvml([FakeGpu(name=b"  ", uuid="")])).read().gpus[0]
    assert (gpu.name, gpu.uuid) == ("GPU", None)


def test_init_runs_once_and_close_shuts_down() -> None:
    nvml = two_gpus()
    metrics = NvmlMetrics(nvml)
    metrics.open()
    metrics.open()
    metrics.read()
    metrics.read()
    assert (nvml.init_calls, nvml.shutdown_calls) == (1, 0)
    metrics.close()
    assert (nvml.initialised, nvml.shutdown_calls) == (False, 1)
    metrics.close()
    assert nvml.shutdown_calls == 1
    assert len(metrics.read().gpus) == 2  # a read after close opens again
    assert nvml.init_calls == 2


def test_driver_not_loaded_means_no_gpus_and_a_reason() -> None:
    nvml = driver_not_loaded()
    metrics = NvmlMetrics(nvml)
    metrics.open()
    reading = metrics.read()
    assert (reading.gpus, reading.raw_devices, reading.source) == ([], [], "none")
    assert reading.error == "NVML unavailable: Driver Not Loaded"
    metrics.read()
    assert nvml.init_calls == 1  # the failure is remembered, not retried on every sample
    metrics.close()
    assert nvml.shutdown_calls == 0


def test_no_library_and_no_module() -> None:
    assert NvmlMetrics(no_library()).read().error == "NVML unavailable: NVML Shared Library Not Found"
    reading = NvmlMetrics(None).read()
    assert (reading.gpus, reading.source) == ([], "none")
    assert reading.error is not None and "pynvml" in reading.error
    NvmlMetrics(None).close()


def test_device_count_failure_is_a_reason_too() -> None:
    nvml = two_gpus()
    nvml.count_error = NVMLError_DriverNotLoaded()
    reading = NvmlMetrics(nvml).read()
    assert (reading.gpus, reading.source, reading.error) == ([], "none", "NVML device count failed: Driver Not Loaded")


def test_driver_with_no_gpu_is_nvml_without_error() -> None:
    reading = NvmlMetrics(FakeNvml([])).read()
    assert (reading.gpus, reading.source, reading.error) == ([], "nvml", None)


# -- the combined MetricsSource ----------------------------------------------------------------------------

CLOCK = datetime(2025, 10, 23, 9, 15, 2, 123456, tzinfo=UTC)


def test_host_metrics_sample_has_every_metrics_key(tmp_path: Path) -> None:
    source = HostMetrics(PsutilMetrics(tmp_path, cpu_name="x86_64"), NvmlMetrics(two_gpus()), clock=lambda: CLOCK)
    asyncio.run(source.open())
    sample = source.sample()
    asyncio.run(source.close())
    assert sample.ok is True
    assert (sample.source, sample.gpu_error, sample.timestamp) == ("nvml", None, "2025-10-23T09:15:02.123456Z")
    assert sample.first_gpu == sample.gpus[0]
    assert len(sample.raw_devices) == 2
    metrics = msgspec.to_builtins(sample)
    for key in ("ok", "cpu", "mem", "mem_used_mb", "mem_total_mb", "disk", "disk_used_gb", "disk_total_gb"):
        assert key in metrics
    for key in ("gpus", "first_gpu", "timestamp", "source", "gpu_error"):
        assert key in metrics
    assert set(metrics["gpus"][0]) == {
        "id", "name", "uuid", "util", "mem_used", "mem_total", "mem_free", "temp_c", "power_w"
    }  # fmt: skip
    assert metrics["gpus"][0]["id"] == 0


def test_host_metrics_without_driver_matches_the_gpu_less_example(tmp_path: Path) -> None:
    source = HostMetrics(PsutilMetrics(tmp_path, cpu_name="x86_64"), NvmlMetrics(no_library()), clock=lambda: CLOCK)
    sample = source.sample()
    assert (sample.gpus, sample.first_gpu, sample.source, sample.raw_devices) == ([], None, "none", [])
    assert sample.gpu_error
    devices = msgspec.to_builtins(device_entries(sample))
    assert devices == [{"type": "cpu", "id": "cpu", "name": "x86_64", "load": sample.cpu}]


def test_utc_timestamp_drops_zero_microseconds_and_converts_to_utc() -> None:
    assert utc_timestamp(datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2025-01-02T03:04:05Z"
    plus_two = timezone(timedelta(hours=2))
    assert utc_timestamp(datetime(2025, 1, 2, 5, 4, 5, 7, tzinfo=plus_two)) == "2025-01-02T03:04:05.000007Z"
