"""The library examples in README.md and the domain docstring run and print what they say."""

from __future__ import annotations

import contextlib
import doctest
import io
import re
from pathlib import Path

import computeadvisor.domain

README = Path(__file__).resolve().parents[2] / "README.md"
SERVER = "http://127.0.0.1:8001"
"""The URL of a README example that talks to a running server (tests/e2e/test_readme_client.py runs those)."""


def readme_examples() -> list[str]:
    """The README's Python blocks."""
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def run_example(block: str) -> None:
    """Run one block and check it prints exactly its ``# `` comment lines."""
    expected = [line[2:] for line in block.splitlines() if line.startswith("# ")]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(block, "README.md", "exec"), {})
    assert out.getvalue().splitlines() == expected


def test_readme_python_example_prints_what_it_claims() -> None:
    blocks = [block for block in readme_examples() if SERVER not in block]
    assert blocks, "README.md lost its library example"
    for block in blocks:
        run_example(block)


def test_domain_docstring_example() -> None:
    result = doctest.testmod(computeadvisor.domain)
    assert result.attempted > 0
    assert result.failed == 0
