"""CPU load, RAM and disk of the state root's filesystem through ``psutil``, without ever sleeping."""

from __future__ import annotations

import logging
import platform
from pathlib import Path
from typing import Any

import msgspec
import psutil  # type: ignore[import-untyped]  # no stubs; the module is used as Any

MIB = 1024 * 1024
GIB = 1024 * MIB
log = logging.getLogger("computeadvisor.metrics")


class HostReading(msgspec.Struct, frozen=True, kw_only=True):
    """CPU % and RAM/disk usage (percentages 2 dp, RAM in MiB, disk in GiB 2 dp); None where a probe failed."""

    cpu: float | None = None
    mem: float | None = None
    mem_used_mb: int | None = None
    mem_total_mb: int | None = None
    disk: float | None = None
    disk_used_gb: float | None = None
    disk_total_gb: float | None = None
    cpu_name: str = "CPU"

    @property
    def ok(self) -> bool:
        """CPU, RAM and disk were all sampled."""
        return self.cpu is not None and self.mem is not None and self.disk is not None


def processor_name(platform_name: str, cpuinfo: str | None) -> str:
    """``platform.processor()`` (what ComfyVN showed), else /proc/cpuinfo's ``model name``, else ``"CPU"``; trimmed."""
    name = platform_name.strip()
    if not name and cpuinfo:
        for line in cpuinfo.splitlines():
            key, sep, value = line.partition(":")
            if sep and key.strip() == "model name" and value.strip():
                name = value.strip()
                break
    return name or "CPU"


def _read_cpuinfo() -> str | None:
    try:
        return Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _existing(path: Path) -> Path:
    """The path itself or its nearest existing ancestor (the state root may not be created yet)."""
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return path


class PsutilMetrics:
    """One host reading per call; blocking (a few syscalls), meant for the sampler's worker thread.

    Args:
        root: the state root; the disk figures are those of the filesystem holding it.
        psutil_module: the ``psutil`` API (tests may pass a stand-in whose calls fail).
        cpu_name: the processor name; read from the platform when omitted.
    """

    def __init__(self, root: Path, *, psutil_module: Any = psutil, cpu_name: str | None = None) -> None:
        self._root = root
        self._psutil: Any = psutil_module
        self._cpu_name = cpu_name if cpu_name is not None else processor_name(platform.processor(), _read_cpuinfo())
        # cpu_percent(interval=None) reports the load since the previous call, so prime it once here: the
        # first real reading then covers the time until the first sample instead of sleeping for one.
        self._cpu_percent()

    def _cpu_percent(self) -> float | None:
        try:
            return round(float(self._psutil.cpu_percent(interval=None)), 2)
        except Exception as exc:  # psutil raises OSError/RuntimeError variants per platform; report, never raise
            log.warning("CPU load unavailable: %s", exc)
            return None

    def read(self) -> HostReading:
        """Sample CPU %, RAM and disk now; a failing probe leaves its fields None."""
        fields: dict[str, Any] = {"cpu": self._cpu_percent(), "cpu_name": self._cpu_name}
        try:
            vm = self._psutil.virtual_memory()
            # used = total - available, the same basis as psutil's percent (its own ``used`` excludes caches
            # differently per platform and would not match the percentage).
            fields.update(
                mem=round(float(vm.percent), 2),
                mem_used_mb=int(vm.total - vm.available) // MIB,
                mem_total_mb=int(vm.total) // MIB,
            )
        except Exception as exc:
            log.warning("memory usage unavailable: %s", exc)
        try:
            du = self._psutil.disk_usage(str(_existing(self._root)))
            fields.update(
                disk=round(float(du.percent), 2),
                disk_used_gb=round(du.used / GIB, 2),
                disk_total_gb=round(du.total / GIB, 2),
            )
        except Exception as exc:
            log.warning("disk usage of %s unavailable: %s", self._root, exc)
        return HostReading(**fields)
