"""HealthProbe: ask a provider whether it is up (§2.8)."""

from __future__ import annotations

from typing import Protocol

from computeadvisor.domain.health import ProbeResult
from computeadvisor.domain.providers import ProviderRecord
from computeadvisor.ports.lifecycle import Lifecycle


class HealthProbe(Lifecycle, Protocol):
    """Probes one provider. Echo providers and empty bases are answered without I/O (``domain.health.plan_probe``).

    An adapter that holds connections is opened once before the first probe and closed once at shutdown (the app
    lifespan); probes may run concurrently between the two.
    """

    async def probe(self, provider: ProviderRecord) -> ProbeResult:
        """Probe one provider now.

        Args:
            provider: The stored record, unmasked; nothing from ``meta`` is ever sent to the provider.

        Returns:
            The result of §2.8: ``ok`` with ``latency_ms`` (whole milliseconds), and ``status_code`` and
            ``payload``, or ``echo``, or ``error``.

        Raises:
            Nothing: every failure (bad base, blocked address, network error, timeout, any answer a server gives)
            is an ``ok: false`` result with ``error`` set. Only cancellation propagates.
        """
        ...
