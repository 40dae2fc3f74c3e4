"""Fixtures for CLI tests: real ``computeadvisor serve`` subprocesses (the e2e harness) and the fake service."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e._harness import RunningServer, ServerLauncher


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
