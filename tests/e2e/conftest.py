"""Fixtures that run the service as a real subprocess on a temporary state root."""

from __future__ import annotations

from pathlib import Path

import pytest

from ._harness import RunningServer, ServerLauncher


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
