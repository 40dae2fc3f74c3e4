"""The real ``computeadvisor`` command (a subprocess) against a real server (issue 6).

Exit codes: 0 ok, 1 the server answered an error, 2 usage error or failed check, 3 the server is unreachable.

The server URL is given as ``--base`` where the command has no option of that name for something else.
``providers add`` uses ``--base`` for the provider's base URL, so there the server URL comes from
``COMPUTEADVISOR_BASE`` (see ``test_providers_add_has_no_duplicate_option``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.e2e._harness import RunningServer, ServerLauncher, free_port, read_registry, run_cli
from tests.seed_examples import RUNPOD_DEV, SEED_COST_JOB

pytestmark = pytest.mark.e2e

PROVIDER_BASE_OPTION = "--base-url"
RUNPOD_DEV_META = RUNPOD_DEV["meta"]
SEED_COST_BODY: dict[str, Any] = {"job": SEED_COST_JOB}


def _ok_json(*args: str, env: dict[str, str] | None = None) -> Any:
    result = run_cli(*args, env=env)
    assert result.returncode == 0, (args, result.returncode, result.stdout, result.stderr)
    return json.loads(result.stdout)


def _add(provider_id: str, *options: str, token: str | None = None) -> list[str]:
    """Arguments of ``providers add`` (the server URL travels in the environment, see the module docstring)."""
    return ["providers", "add", provider_id, *options, *(["--token", token] if token else [])]


def _server_env(server: RunningServer, **extra: str) -> dict[str, str]:
    return {"COMPUTEADVISOR_BASE": server.base_url, **extra}


def test_providers_add_list_health_rm(shared_server: RunningServer) -> None:
    server, base = shared_server, shared_server.base_url
    meta = {"api_key": "sekrit-value", "cost_per_minute": 0.12, "label": "CLI stub"}
    args = _add("cli-stub", "--kind", "remote", PROVIDER_BASE_OPTION, "stub://cli", "--meta", json.dumps(meta))
    saved = _ok_json(*args, "--json", env=_server_env(server))
    masked = {"id": "cli-stub", "kind": "remote", "base": "stub://cli", "meta": {**meta, "api_key": "***"}}
    assert saved["ok"] is True
    assert saved["provider"] == masked

    listing = _ok_json("providers", "list", "--base", base, "--json")
    assert masked in listing["providers"]
    assert "sekrit-value" not in json.dumps(listing)
    stored = {p["id"]: p for p in read_registry(server.root)["providers"]}
    assert stored["cli-stub"]["meta"]["api_key"] == "sekrit-value"

    table = run_cli("providers", "list", "--base", base)
    assert table.returncode == 0, table.stderr
    assert "cli-stub" in table.stdout
    assert "stub://cli" in table.stdout
    assert "sekrit-value" not in table.stdout

    health = _ok_json("providers", "health", "cli-stub", "--base", base, "--json")
    assert health["ok"] is True
    assert health["status"]["ok"] is True
    assert health["status"]["echo"] is True
    assert health["status"]["provider_id"] == "cli-stub"
    health_table = run_cli("providers", "health", "cli-stub", "--base", base)
    assert health_table.returncode == 0, health_table.stderr
    assert "cli-stub" in health_table.stdout

    removed = run_cli("providers", "rm", "cli-stub", "--base", base)
    assert removed.returncode == 0, removed.stderr
    assert "cli-stub" in removed.stdout
    assert "cli-stub" not in [p["id"] for p in _ok_json("providers", "list", "--base", base, "--json")["providers"]]


def test_costs_and_advise(shared_server: RunningServer) -> None:
    server, base = shared_server, shared_server.base_url
    args = _add(
        "runpod-dev",
        "--kind",
        "runpod",
        PROVIDER_BASE_OPTION,
        "https://api.runpod.io/v2",
        "--meta",
        json.dumps(RUNPOD_DEV_META),
    )
    assert run_cli(*args, env=_server_env(server)).returncode == 0
    costs = _ok_json("costs", "--base", base, "--json", json.dumps(SEED_COST_BODY))
    estimate = costs["estimate"]
    assert estimate["estimate"] == 0.7076
    assert estimate["currency"] == "USD"
    assert estimate["provider"]["id"] == "runpod-dev"
    assert estimate["inputs"]["duration_sec"] == 270.0

    costs_table = run_cli("costs", "--base", base, json.dumps(SEED_COST_BODY))
    assert costs_table.returncode == 0, costs_table.stderr
    assert "0.7076" in costs_table.stdout
    assert "runpod-dev" in costs_table.stdout

    advice = _ok_json("advise", "--base", base, "--json", "--width", "2048", "--height", "1152")
    if advice["context"]["has_gpu"]:  # a GPU host: rule 8 (neither tiny nor large, nothing queued)
        expected = ("gpu", "local GPU available and queue is light")
        assert advice["device"].startswith("gpu:")
    else:
        expected = ("cpu", "no GPU detected on this host")
        assert advice["device"] == "cpu"
    assert (advice["decision"], advice["reason"]) == expected
    advise_table = run_cli("advise", "--base", base, "--width", "2048", "--height", "1152")
    assert advise_table.returncode == 0, advise_table.stderr
    assert expected[1] in advise_table.stdout


def test_server_error_exits_1_with_the_detail(shared_server: RunningServer) -> None:
    result = run_cli("providers", "rm", "nope", "--base", shared_server.base_url)
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "provider not found" in result.stderr
    bad = run_cli("providers", "health", "nope", "--base", shared_server.base_url, "--json")
    assert bad.returncode == 1
    assert "404" in bad.stderr
    assert "provider not found" in bad.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("providers", "list"),
        ("providers", "rm", "x"),
        ("providers", "health"),
        ("advise", "--width", "64"),
        ("costs", '{"job":{"duration_sec":1}}'),
        ("queue", "state"),
    ],
    ids=lambda args: "-".join(a for a in args if a.isalpha()),
)
def test_server_command_against_a_closed_port_exits_3(args: tuple[str, ...]) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    result = run_cli(*args, "--base", closed)
    assert result.returncode == 3, (result.stdout, result.stderr)
    assert "cannot reach" in result.stderr


def test_closed_port_from_the_environment_exits_3(shared_server: RunningServer) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    args = _add("never", PROVIDER_BASE_OPTION, "stub://never")
    result = run_cli(*args, env={"COMPUTEADVISOR_BASE": closed})
    assert result.returncode == 3, (result.stdout, result.stderr)


def test_gpu_commands_work_on_the_root(tmp_path: Path) -> None:
    root = str(tmp_path / "root")
    bad = run_cli("gpu", "policy", "set", "--root", root, "--mode", "fast")
    assert bad.returncode == 2, (bad.stdout, bad.stderr)
    assert "mode must be one of: auto, manual, sticky" in bad.stderr
    bad_device = run_cli("gpu", "policy", "set", "--root", root, "--mode", "manual", "--manual-device", "gpu:7")
    assert bad_device.returncode == 2, (bad_device.stdout, bad_device.stderr)
    assert "manual_device" in bad_device.stderr

    listing = _ok_json("gpu", "list", "--root", root, "--json")
    assert listing["devices"][0]["id"] == "cpu"
    assert listing["devices"][0]["type"] == "cpu"
    table = run_cli("gpu", "list", "--root", root)
    assert table.returncode == 0, table.stderr
    assert "cpu" in table.stdout

    assert _ok_json("gpu", "policy", "show", "--root", root, "--json") == {
        "mode": "auto",
        "preferred_id": None,
        "manual_device": "cpu",
    }


def test_providers_add_has_no_duplicate_option() -> None:
    """``providers add`` declares ``--base`` twice (server URL and provider base); click warns and one is lost."""
    result = run_cli("providers", "add", "--help")
    assert result.returncode == 0, result.stderr
    assert "used more than once" not in result.stderr
    option_lines = [line.split()[0] for line in result.stdout.splitlines() if line.strip().startswith("--")]
    assert len(option_lines) == len(set(option_lines)), option_lines


def test_token_is_required_and_sent(launcher: ServerLauncher, tmp_path: Path) -> None:
    server = launcher.start(tmp_path / "token-root", args=("--token", "T"))
    env = _server_env(server)
    denied = run_cli(*_add("tok-a", PROVIDER_BASE_OPTION, "stub://a"), env=env)
    assert denied.returncode == 1, (denied.stdout, denied.stderr)
    assert "401" in denied.stderr
    wrong = run_cli(*_add("tok-a", PROVIDER_BASE_OPTION, "stub://a", token="wrong"), env=env)
    assert wrong.returncode == 1
    assert "401" in wrong.stderr
    assert "wrong" not in wrong.stderr

    assert run_cli(*_add("tok-a", PROVIDER_BASE_OPTION, "stub://a", token="T"), env=env).returncode == 0
    with_env = run_cli(*_add("tok-b", PROVIDER_BASE_OPTION, "stub://b"), env={**env, "COMPUTEADVISOR_TOKEN": "T"})
    assert with_env.returncode == 0, with_env.stderr

    ids = [p["id"] for p in _ok_json("providers", "list", "--base", server.base_url, "--json")["providers"]]
    assert ids == ["tok-a", "tok-b"]
    assert run_cli("providers", "health", "--base", server.base_url).returncode == 1
    assert run_cli("providers", "health", "--base", server.base_url, "--token", "T").returncode == 0
    assert run_cli("providers", "rm", "tok-a", "--base", server.base_url).returncode == 1
    assert run_cli("providers", "rm", "tok-a", "--base", server.base_url, "--token", "T").returncode == 0
