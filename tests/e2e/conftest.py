"""Fixtures that run the service as a real subprocess on a temporary state root."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ._harness import RunningServer, ServerLauncher
from ._workers import WorkerLauncher, workers


@pytest.fixture
def state_root(tmp_path: Path) -> Path:
    """The state root (``--root``) of the server under test: empty unless the test writes files first."""
    root = tmp_path / "root"
    root.mkdir()
    return root


@pytest.fixture
def server(launcher: ServerLauncher, state_root: Path) -> RunningServer:
    """One running server on ``state_root``; ``server.base_url`` and ``server.process`` for the test."""
    return launcher.start(state_root)


@pytest.fixture
def farm(tmp_path: Path) -> Iterator[WorkerLauncher]:
    """Start ``computeadvisor worker`` processes (``farm.start(base, *options, command=...)``); killed at teardown."""
    log_dir = tmp_path / "worker-logs"
    log_dir.mkdir()
    with workers(log_dir) as launcher:
        yield launcher
