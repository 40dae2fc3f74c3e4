"""Fixtures for CLI tests: real ``computeadvisor serve`` subprocesses (the e2e harness) and the fake service."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e._harness import RunningServer, ServerLauncher


@pytest.fixture
def launcher(tmp_path: Path) -> Iterator[ServerLauncher]:
    """Start servers with ``launcher.start(root)``; all of them are stopped at teardown."""
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    launcher = ServerLauncher(log_dir)
    try:
        yield launcher
    finally:
        launcher.stop_all()


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """One server (no token) for a whole module; tests use distinct provider ids."""
    base = tmp_path_factory.mktemp("cli-server")
    log_dir = base / "logs"
    log_dir.mkdir()
    launcher = ServerLauncher(log_dir)
    try:
        yield launcher.start(base / "root")
    finally:
        launcher.stop_all()
