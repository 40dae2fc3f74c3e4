"""Parts of the machine some tests need (a browser, promtool, PostgreSQL): skipped without them, except in CI."""

from __future__ import annotations

import os
import shutil

import pytest

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
