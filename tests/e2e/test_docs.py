"""The docs cannot drift from the code: every HTTP example in docs/compute_advisor.md runs against a real server.

Example format (docs/compute_advisor.md):

* An executable example is a ```` ```bash ```` block that uses ``$BASE`` and contains exactly one ``curl -s``
  command, followed directly (blank lines only in between) by a ```` ```json ```` block: the expected response body.
  Lines before the ``curl`` may prepare the state root (write a config file, ``sleep``); the block runs under
  ``bash`` with the state root as its working directory and ``BASE`` set to the server's URL.
* The examples run in document order against ONE fresh server on an empty state root, so an example may rely on
  what the earlier ones did (register a provider, then price it; enqueue, claim, complete).
* Wildcards in the expected JSON, all spelled with the character "…" (U+2026):

  * the string ``"…"`` as a value matches any value (timestamps, generated ids, lease tokens, latency, hardware
    metrics);
  * a string containing ``…`` among other text matches any string with that shape (``"…Z"``, ``"manual_device: …"``);
  * ``"…"`` as the LAST item of a list matches any number (zero or more) of further items;
  * the member ``"…": "…"`` in an object allows keys the docs leave out; without it the keys must be exactly those
    of the docs.

  Everything else must be equal, JSON type included (``16`` is not ``16.0``).
* Examples must pass on a host without a GPU (this machine and CI): anything that depends on the hardware is a
  wildcard, or pinned with a ``context`` override.

A second test checks that every ``computeadvisor ...`` command line in the docs names commands and options that
exist, and a third that the configuration table in docs/operations.md covers every setting.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from computeadvisor.app.cli import main
from computeadvisor.client.command import JOB_ID_ENV, RESULT_ENV
from computeadvisor.config import ENV_PREFIX, FIELDS

from ._docs import DOCS, cli_commands, examples, mismatches, report
from ._harness import ServerLauncher

GUIDE = DOCS / "compute_advisor.md"
ALL_DOCS = (GUIDE, DOCS / "architecture.md", DOCS / "operations.md")
CURL_TIMEOUT_S = 15.0
MAX_EXAMPLES = 55
# Environment variables the docs may name besides the server settings: the CLI client's, the TOML file path, and
# the ones the worker sets for its commands.
CLIENT_ENV = {"BASE", "TOKEN", "CONFIG", *(name.removeprefix(ENV_PREFIX) for name in (JOB_ID_ENV, RESULT_ENV))}


@pytest.mark.e2e
def test_guide_examples_answer_what_the_docs_say(launcher: ServerLauncher, state_root: Path) -> None:
    curl = shutil.which("curl")
    if curl is None:
        pytest.fail("docs examples need the curl command on PATH (install curl, e.g. apt-get install curl)")
    found = examples(GUIDE)
    assert 10 <= len(found) <= MAX_EXAMPLES, f"{GUIDE.name} has {len(found)} examples"
    server = launcher.start(state_root)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)},
        "BASE": server.base_url,
        "NO_PROXY": "*",
        "no_proxy": "*",
    }
    for example in found:
        done = subprocess.run(
            ["bash", "-c", "set -e -o pipefail\n" + example.command],
            env=env,
            cwd=state_root,
            capture_output=True,
            text=True,
            timeout=CURL_TIMEOUT_S,
            check=False,
        )
        where = f"{GUIDE.name}:{example.line} under '{example.heading}'"
        assert done.returncode == 0, f"{where}: exit {done.returncode}\n{example.command}\n{done.stderr}"
        try:
            actual = json.loads(done.stdout)
        except json.JSONDecodeError:
            pytest.fail(f"{where}: the answer is not JSON:\n{example.command}\n{done.stdout!r}\n{done.stderr}")
        problems = mismatches(example.expected, actual)
        assert not problems, report(example, actual, problems, GUIDE.name)


def test_cli_lines_in_the_docs_name_real_commands_and_options() -> None:
    runner = CliRunner()
    seen = 0
    for doc in ALL_DOCS:
        for line, args in cli_commands(doc):
            seen += 1
            # --help is eager: click still rejects unknown commands and options, but runs nothing.
            result = runner.invoke(main, [*args, "--help"])
            assert result.exit_code == 0, f"{doc.name}:{line}: computeadvisor {' '.join(args)}\n{result.output}"
    assert seen >= 10, "the docs lost their command-line examples"


def test_operations_documents_every_setting() -> None:
    text = (DOCS / "operations.md").read_text(encoding="utf-8")
    for field in FIELDS:
        assert f"`{ENV_PREFIX}{field.upper()}`" in text, f"operations.md does not document the setting {field!r}"
        assert f"`{field}`" in text, f"operations.md does not give the TOML key {field!r}"
    named = set()
    for doc in ALL_DOCS:
        named |= set(re.findall(ENV_PREFIX + r"([A-Z_]+)", doc.read_text(encoding="utf-8")))
    unknown = named - {field.upper() for field in FIELDS} - CLIENT_ENV
    assert not unknown, f"the docs name environment variables nothing reads: {sorted(unknown)}"


@pytest.mark.parametrize(
    ("expected", "actual", "matches"),
    [
        ("…", {"any": ["value"]}, True),
        ({"a": "…"}, {"a": None}, True),
        ({"a": "…"}, {}, False),
        ({"a": 1}, {"a": 1, "b": 2}, False),
        ({"a": 1, "…": "…"}, {"a": 1, "b": 2}, True),
        ({"a": 1, "…": "…"}, {"b": 2}, False),
        ([1, "…"], [1], True),
        ([1, "…"], [1, 2, 3], True),
        ([1, "…"], [], False),
        ([1, 2], [1, 2, 3], False),
        (["…", 2], [7, 2], True),
        ("gpu:…", "gpu:3", True),
        ("gpu:…", "cpu", False),
        ("…Z", 5, False),
        (16.0, 16, False),
        (1, True, False),
        (0.7076, 0.7076, True),
    ],
)
def test_wildcard_rule(expected: object, actual: object, matches: bool) -> None:
    assert (mismatches(expected, actual) == []) is matches
