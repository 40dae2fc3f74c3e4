"""MetricsSource: one reading of the host's CPU, memory, disk and GPUs (§1.2)."""

from __future__ import annotations

from typing import Protocol

from computeadvisor.domain.hardware import SystemSample


class MetricsSource(Protocol):
    """Takes hardware samples. Sampling may block, so the app calls it from a worker thread, never a handler."""

    def open(self) -> None:
        """Acquire what sampling needs (e.g. initialise NVML); blocking, called once at start-up in a thread."""
        return

    def close(self) -> None:
        """Release what ``open`` acquired; blocking, called at shutdown after the last ``sample``."""
        return

    def sample(self) -> SystemSample:
        """Take one sample now.

        Returns:
            The sample; a probe that fails leaves its fields None (or no GPUs with ``gpu_error`` set) and
            never raises.
        """
        ...
