"""Test helpers for the JobStore suites: a clock that moves only when told, and a provider lookup over records."""

from __future__ import annotations

from computeadvisor.domain.jobs import ProviderLookup
from computeadvisor.domain.providers import ProviderRecord

T0 = 1_761_210_902.0  # 2025-10-23T09:15:02Z

RUNPOD_DEV = ProviderRecord(
    id="runpod-dev",
    kind="runpod",
    base="https://api.runpod.io/v2",
    meta={"cost_per_minute": 0.12, "egress_cost_per_gb": 0.09, "vram_cost_per_gb_minute": 0.001},
)


class FakeClock:
    """Epoch seconds that advance only through :meth:`advance`."""

    def __init__(self, start: float = T0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def lookup(*records: ProviderRecord) -> ProviderLookup:
    """A ProviderLookup that knows exactly these records."""
    by_id = {record.id: record for record in records}

    async def find(provider_id: str) -> ProviderRecord | None:
        return by_id.get(provider_id)

    return find
