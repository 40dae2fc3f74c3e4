"""The library examples in README.md and the domain docstring run and print what they say."""

from __future__ import annotations

import contextlib
import doctest
import io
import re
from pathlib import Path

import computeadvisor.domain

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_python_example_prints_what_it_claims() -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    assert blocks, "README.md lost its library example"
    for block in blocks:
        expected = [line[2:] for line in block.splitlines() if line.startswith("# ")]
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(block, "README.md", "exec"), {})
        assert out.getvalue().splitlines() == expected


def test_domain_docstring_example() -> None:
    result = doctest.testmod(computeadvisor.domain)
    assert result.attempted > 0
    assert result.failed == 0
