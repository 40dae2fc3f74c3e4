"""Shared test configuration and fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from computeadvisor.adapters.file_signatures import (
    STAT_SIGNATURES,
    FileSignatures,
    InotifySignatures,
    inotify_available,
)
from tests import _postgres
from tests.e2e._harness import ServerLauncher


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def launcher(tmp_path: Path) -> Iterator[ServerLauncher]:
    """Start real servers with ``launcher.start(root)``; all of them are stopped (terminate, then kill) at teardown."""
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    launcher = ServerLauncher(log_dir)
    try:
        yield launcher
    finally:
        launcher.stop_all()


@pytest.fixture(params=["stat", "inotify"])
def signatures(request: pytest.FixtureRequest) -> Iterator[FileSignatures]:
    """Each way the file-backed adapters notice changes (inotify only where the platform has it)."""
    if request.param == "stat":
        yield STAT_SIGNATURES
        return
    if not inotify_available():
        pytest.skip("no inotify on this platform")
    watch = InotifySignatures()
    try:
        yield watch
    finally:
        watch.release()


@pytest.fixture(scope="session", autouse=True)
def _drop_test_databases() -> Iterator[None]:
    """The PostgreSQL databases this run created are dropped at its end (``tests/_postgres.py``)."""
    yield
    _postgres.drop_databases()
