"""Test helpers for the JobStore and scheduler suites: a clock that moves only when told and the key lists of the
job objects."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from computeadvisor.adapters.memory_jobs import MemoryJobStore
from computeadvisor.adapters.postgres_jobs import PostgresJobStore
from computeadvisor.adapters.sqlite_jobs import SqliteJobStore
from computeadvisor.domain.providers import ProviderRecord
from computeadvisor.ports.job_store import JobStore
from tests import _postgres, seed_examples

T0 = 1_761_210_902.0  # 2025-10-23T09:15:02Z
# The keys of a job record, of its public view and of a board segment (§5.3, §5.4), in the contract's order.
JOB_RECORD_KEYS = {
    "id", "name", "queue", "priority", "sticky", "sticky_device_id", "device_id", "provider_id", "payload", "meta",
    "status", "attempt", "runs", "worker_id", "error", "created_ts", "created_at", "updated_ts", "updated_at",
    "started_ts", "started_at", "completed_ts", "completed_at", "duration_sec", "cost_estimate", "bytes_tx",
    "bytes_rx", "vram_gb", "lease_expires_at", "run_at_ts", "run_at",
}  # fmt: skip
JOB_VIEW_KEYS = [
    "id", "name", "queue", "priority", "status", "sticky", "device_id", "sticky_device_id", "provider_id",
    "created_at", "started_at", "updated_at", "completed_at", "duration_sec", "bytes_tx", "bytes_rx", "vram_gb",
    "cost_estimate", "attempt", "runs", "lease_expires_at",
]  # fmt: skip
BOARD_SEGMENT_KEYS = [
    "id", "name", "queue", "status", "priority", "provider_id", "cost_estimate", "bytes_tx", "bytes_rx", "vram_gb",
    "device", "start", "end", "duration_sec",
]  # fmt: skip

RUNPOD_DEV = ProviderRecord(**seed_examples.RUNPOD_DEV)


class FakeClock:
    """Epoch seconds that advance only through :meth:`advance`."""

    def __init__(self, start: float = T0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


MakeJobStore = Callable[..., JobStore]


def _memory(root: Path, **options: Any) -> JobStore:
    return MemoryJobStore(**options)


def _sqlite(root: Path, **options: Any) -> JobStore:
    return SqliteJobStore(root, **options)


def _postgres_store(root: Path, **options: Any) -> JobStore:
    return PostgresJobStore(_postgres.database_url(), schema=_postgres.schema_for(root), pool_size=4, **options)


JOB_STORES: dict[str, MakeJobStore] = {"memory": _memory, "sqlite": _sqlite}
if _postgres.reachable() is None:  # else tests/contract/test_job_store_postgres.py says why, and fails in CI
    JOB_STORES["postgres"] = _postgres_store
MakeStore = Callable[..., Awaitable[JobStore]]
"""The contract suites' ``make_store`` fixture: ``await make_store(**options)`` opens one more store."""
"""Every JobStore adapter, by name: ``make(root, clock=..., attempt_cap=..., retention=...)`` builds an unopened
store keeping its files (if any) under ``root``. The contract suite and the state machine run over all of them, so a
new adapter is one entry here."""
