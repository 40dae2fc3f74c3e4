"""Shared test configuration and fixtures."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from computeadvisor.adapters.file_signatures import (
    STAT_SIGNATURES,
    FileSignatures,
    InotifySignatures,
    inotify_available,
)
from tests.e2e._harness import ServerLauncher

REQUIRE_ALL = "COMPUTEADVISOR_REQUIRE_ALL"
"""Set to 1 (``.ci/run`` does) to turn a missing browser, promtool or PostgreSQL into a failure instead of a skip."""


def absent(reason: str) -> None:
    """Skip the test for a part this machine lacks, or fail it where every part is required (CI)."""
    if os.environ.get(REQUIRE_ALL) == "1":
        pytest.fail(f"{reason} ({REQUIRE_ALL}=1: required here)")
    pytest.skip(reason)


def required_tool(name: str, install_hint: str) -> str:
    """The path of an external program the test drives; skipped (or failed in CI) when it is not installed."""
    path = shutil.which(name)
    if path is None:
        absent(f"{name} is not installed ({install_hint})")
        raise AssertionError("unreachable")  # absent() never returns
    return path


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
