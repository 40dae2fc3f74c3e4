"""The §2.8 health memory: each provider's latest probe result in this process, forgotten on restart."""

from __future__ import annotations

import time

import msgspec
from msgspec import UNSET

from computeadvisor.domain.health import ProbeResult
from computeadvisor.domain.legacy_providers import NEVER_CHECKED, LastHealth
from computeadvisor.domain.values import iso_utc
from computeadvisor.wire import ProviderHealth


class _Entry(msgspec.Struct, frozen=True):
    ok: bool
    ts: float
    error: str | None


class HealthMemory:
    """Latest result per provider id; bounded by the registry (entries go when a provider is saved or removed)."""

    def __init__(self) -> None:
        self._latest: dict[str, _Entry] = {}

    def remember(self, provider_id: str, result: ProbeResult, now: float | None = None) -> bool:
        """Keep ``result``; True when it is the provider's first result or flips ok <-> failed (an event, §11)."""
        before = self._latest.get(provider_id)
        error = result.error if isinstance(result.error, str) else None
        self._latest[provider_id] = _Entry(result.ok, time.time() if now is None else now, error)
        return before is None or before.ok != result.ok

    def forget(self, provider_id: str) -> None:
        """After a save or a removal (§2.3, §2.4): the provider is unchecked again."""
        self._latest.pop(provider_id, None)

    def unhealthy(self) -> frozenset[str]:
        """Providers whose latest probe failed (§2.8)."""
        return frozenset(pid for pid, entry in self._latest.items() if not entry.ok)

    def up(self) -> dict[str, bool]:
        """``provider_up`` for the metrics (§13)."""
        return {pid: entry.ok for pid, entry in self._latest.items()}

    def v1(self, provider_id: str) -> ProviderHealth | None:
        """The ``health`` entry of ``GET /api/providers`` (§11), or None when never checked."""
        entry = self._latest.get(provider_id)
        return None if entry is None else ProviderHealth(ok=entry.ok, checked_at=iso_utc(entry.ts))

    def last(self, provider_id: str) -> LastHealth:
        """The Studio's ``last_health`` (§16.1): ``{ok, ts}`` in epoch ms, plus ``error`` when the probe failed."""
        entry = self._latest.get(provider_id)
        if entry is None:
            return NEVER_CHECKED
        error = entry.error if not entry.ok and entry.error is not None else UNSET
        return LastHealth(ok=entry.ok, ts=int(entry.ts * 1000), error=error)
