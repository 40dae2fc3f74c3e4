"""The README's client example runs against a real server and prints what it says (issue 15)."""

from __future__ import annotations

import pytest

from tests.unit.test_docs_examples import SERVER, readme_examples, run_example

from ._harness import RunningServer

pytestmark = pytest.mark.e2e


def test_the_readme_client_example_prints_what_it_claims(server: RunningServer) -> None:
    blocks = [block for block in readme_examples() if SERVER in block]
    assert blocks, "README.md lost its client example"
    for block in blocks:
        run_example(block.replace(SERVER, server.base_url))
