"""The JobStore fixtures shared by the contract suites: one store per adapter of ``JOB_STORES``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from computeadvisor.ports.job_store import JobStore
from tests.contract._job_support import JOB_STORES, FakeClock, MakeStore


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=sorted(JOB_STORES))
async def make_store(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> AsyncIterator[MakeStore]:
    opened: list[JobStore] = []

    async def factory(**kwargs: Any) -> JobStore:
        store = JOB_STORES[request.param](tmp_path / f"root{len(opened)}", clock=clock, **kwargs)
        await store.open()
        opened.append(store)
        return store

    yield factory
    for store in opened:
        await store.close()


@pytest.fixture
async def store(make_store: MakeStore) -> JobStore:
    return await make_store()
