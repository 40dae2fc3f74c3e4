"""MetricsSource: one reading of the host's CPU, memory, disk and GPUs (§1.2)."""

from __future__ import annotations

from typing import Protocol

from computeadvisor.domain.hardware import SystemSample
from computeadvisor.ports.lifecycle import Lifecycle


class MetricsSource(Lifecycle, Protocol):
    """Takes hardware samples. Sampling may block, so the app calls it from a worker thread, never a handler."""

    def sample(self) -> SystemSample:
        """Take one sample now.

        Returns:
            The sample; a probe that fails leaves its fields None (or no GPUs with ``gpu_error`` set) and
            never raises.
        """
        ...
