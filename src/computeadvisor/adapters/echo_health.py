"""HealthProbe without any I/O: the echo adapter (§2.8), also for smoke tests and runs with no network."""

from __future__ import annotations

from computeadvisor.domain.health import ProbeResult, echo_result, plan_probe
from computeadvisor.domain.providers import ProviderRecord
from computeadvisor.ports.health_probe import HealthProbe


class EchoHealthProbe(HealthProbe):
    """Answers like ``HttpHealthProbe`` for echo providers and bad bases; a provider it would GET echoes instead.

    Never opens a socket, so an app built with it can be smoke-tested anywhere; a real http(s) provider then
    reads as healthy (``echo: true`` tells it apart from a real answer).
    """

    async def probe(self, provider: ProviderRecord) -> ProbeResult:
        plan = plan_probe(provider)
        return plan if isinstance(plan, ProbeResult) else echo_result()
