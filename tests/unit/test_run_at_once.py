"""``run_at_once``: how SQLite's writer thread runs the shared transitions (coroutines over a transaction whose
statements complete at once) without an event loop."""

from __future__ import annotations

from collections.abc import Generator

import pytest

from computeadvisor.adapters._sql_jobs import run_at_once


async def _adds(values: list[int]) -> int:
    async def one(n: int) -> int:
        return n

    return sum([await one(n) for n in values])


def test_a_coroutine_that_never_suspends_gives_its_result() -> None:
    assert run_at_once(_adds([1, 2, 3])) == 6


def test_its_exception_comes_out_as_it_is() -> None:
    async def fails() -> None:
        raise KeyError("missing")

    with pytest.raises(KeyError, match="missing"):
        run_at_once(fails())


class _Suspends:
    """An awaitable that gives control back once, as a statement waiting for a server would."""

    def __await__(self) -> Generator[None, None, None]:
        yield


def test_one_that_suspends_is_refused_and_closed() -> None:
    finished = []

    async def waits() -> None:
        try:
            await _Suspends()
        finally:
            finished.append(True)

    with pytest.raises(RuntimeError, match="waited"):
        run_at_once(waits())
    assert finished == [True]  # closed: its cleanup ran, no "never awaited" coroutine left behind
