"""PsutilMetrics on the real host, plus the failure paths through a psutil stand-in (never raises, never sleeps)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from computeadvisor.adapters.psutil_metrics import GIB, MIB, PsutilMetrics, processor_name


def test_real_host_reading_is_complete_and_in_range(tmp_path: Path) -> None:
    reading = PsutilMetrics(tmp_path).read()
    assert reading.ok
    assert reading.cpu is not None and 0 <= reading.cpu <= 100
    assert reading.mem is not None and 0 <= reading.mem <= 100
    assert reading.mem_total_mb is not None and reading.mem_used_mb is not None
    assert 0 < reading.mem_used_mb <= reading.mem_total_mb
    assert reading.disk is not None and 0 <= reading.disk <= 100
    assert reading.disk_total_gb is not None and reading.disk_used_gb is not None
    assert 0 < reading.disk_used_gb <= reading.disk_total_gb
    assert reading.cpu_name == reading.cpu_name.strip() != ""
    for value in (reading.cpu, reading.mem, reading.disk, reading.disk_used_gb, reading.disk_total_gb):
        assert round(value, 2) == value


def test_a_state_root_not_created_yet_reads_its_parent_filesystem(tmp_path: Path) -> None:
    reading = PsutilMetrics(tmp_path / "var" / "not" / "yet").read()
    assert reading.disk is not None


class RecordingPsutil:
    """Answers like psutil with fixed numbers and records how ``cpu_percent`` was called."""

    def __init__(self) -> None:
        self.cpu_calls: list[Any] = []

    def cpu_percent(self, interval: Any = "unset") -> float:
        self.cpu_calls.append(interval)
        return 12.345

    def virtual_memory(self) -> Any:
        return SimpleNamespace(total=16 * GIB, available=12 * GIB, percent=25.0, used=1)

    def disk_usage(self, path: str) -> Any:
        return SimpleNamespace(total=500 * GIB, used=int(123.456 * GIB), free=1, percent=24.7)


def test_cpu_is_primed_once_and_never_waits(tmp_path: Path) -> None:
    fake = RecordingPsutil()
    metrics = PsutilMetrics(tmp_path, psutil_module=fake, cpu_name="x86_64")
    assert fake.cpu_calls == [None]  # primed at construction
    reading = metrics.read()
    assert fake.cpu_calls == [None, None]  # interval=None: the non-blocking reading
    assert (reading.cpu, reading.mem, reading.mem_used_mb, reading.mem_total_mb) == (12.35, 25.0, 4096, 16384)
    assert (reading.disk, reading.disk_used_gb, reading.disk_total_gb) == (24.7, 123.46, 500.0)
    assert reading.ok and reading.cpu_name == "x86_64"


class BrokenPsutil:
    def cpu_percent(self, interval: Any = None) -> float:
        raise RuntimeError("no /proc/stat")

    def virtual_memory(self) -> Any:
        raise OSError("no /proc/meminfo")

    def disk_usage(self, path: str) -> Any:
        raise PermissionError(path)


def test_failing_probes_leave_fields_none_and_never_raise(tmp_path: Path) -> None:
    reading = PsutilMetrics(tmp_path, psutil_module=BrokenPsutil(), cpu_name="").read()
    assert not reading.ok
    assert (reading.cpu, reading.mem, reading.mem_used_mb, reading.disk, reading.disk_total_gb) == (None,) * 5


CPUINFO = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t:  AMD EPYC 7B13 64-Core Processor \nflags\t: fpu\n"


@pytest.mark.parametrize(
    ("platform_name", "cpuinfo", "expected"),
    [
        (" x86_64 ", CPUINFO, "x86_64"),
        ("", CPUINFO, "AMD EPYC 7B13 64-Core Processor"),
        ("", "processor\t: 0\nmodel name\t:   \n", "CPU"),
        ("  ", None, "CPU"),
        ("", "", "CPU"),
    ],
)
def test_processor_name(platform_name: str, cpuinfo: str | None, expected: str) -> None:
    assert processor_name(platform_name, cpuinfo) == expected


def test_units() -> None:
    assert (MIB, GIB) == (2**20, 2**30)
