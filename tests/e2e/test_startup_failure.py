"""A start that fails half-way exits with an error instead of staying alive without serving."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e._harness import clean_env, free_port

pytestmark = pytest.mark.e2e


def test_a_scheduler_db_from_a_newer_version_stops_the_start(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    with sqlite3.connect(tmp_path / "data" / "scheduler.db") as db:
        db.execute("CREATE TABLE schema_migrations (version INTEGER)")
        db.execute("INSERT INTO schema_migrations VALUES (99)")
    command = [sys.executable, "-m", "computeadvisor", "serve", "--root", str(tmp_path), "--port", str(free_port())]
    result = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False, env=clean_env())
    assert result.returncode != 0
    assert "schema version 99" in result.stderr
    assert "startup failed" in result.stderr
