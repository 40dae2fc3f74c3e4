"""FreshnessCache: a value read from files, reused while they keep their signature, read once under load."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from computeadvisor.adapters._files import FreshnessCache

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Reads:
    """A read that waits until released, counting how often it ran."""

    def __init__(self) -> None:
        self.count = 0
        self.release = asyncio.Event()
        self.started = asyncio.Event()

    async def __call__(self) -> int:
        self.count += 1
        number = self.count
        self.started.set()
        await self.release.wait()
        return number


async def test_callers_that_arrive_while_a_read_is_in_flight_share_it(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("1")
    cache: FreshnessCache[int] = FreshnessCache([tmp_path / "f"], max_age_s=60)
    read = Reads()
    waiting = [asyncio.ensure_future(cache.load(read)) for _ in range(16)]
    await read.started.wait()  # the first caller's read is in flight; the other 15 found it
    read.release.set()
    assert await asyncio.gather(*waiting) == [1] * 16
    assert read.count == 1
    assert await cache.load(read) == 1 and read.count == 1  # and it is remembered


async def test_a_change_of_the_files_reads_again(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("1")
    cache: FreshnessCache[int] = FreshnessCache([tmp_path / "f"], max_age_s=60)
    read = Reads()
    read.release.set()
    assert await cache.load(read) == 1
    (tmp_path / "f").write_text("22")  # another size: another signature
    assert await cache.load(read) == 2


async def test_a_read_begun_before_our_own_write_is_not_remembered(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("1")
    cache: FreshnessCache[int] = FreshnessCache([tmp_path / "f"], max_age_s=60)
    read = Reads()
    before = asyncio.ensure_future(cache.load(read))
    await read.started.wait()
    cache.clear()  # our write committed while that read was in flight
    read.started.clear()
    after = asyncio.ensure_future(cache.load(read))  # does not join the stale read
    await read.started.wait()
    read.release.set()
    assert (await before, await after) == (1, 2)
    assert await cache.load(read) == 2 and read.count == 2


async def test_a_failed_read_reaches_every_waiting_caller_and_is_not_remembered(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("1")
    cache: FreshnessCache[int] = FreshnessCache([tmp_path / "f"], max_age_s=60)
    gate, started = asyncio.Event(), asyncio.Event()

    async def failing() -> int:
        started.set()
        await gate.wait()
        raise OSError("disk gone")

    waiting = [asyncio.ensure_future(cache.load(failing)) for _ in range(3)]
    await started.wait()
    gate.set()
    results = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(r, OSError) for r in results)
    read = Reads()
    read.release.set()
    assert await cache.load(read) == 1
