"""Configuration precedence: defaults < TOML file < COMPUTEADVISOR_* environment < flags."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from computeadvisor.config import Config, ConfigError, load_config


def test_defaults() -> None:
    config = load_config(environ={})
    assert config == Config()
    assert (config.host, config.port, config.token, config.attempt_cap, config.retention) == (
        "127.0.0.1",
        8001,
        None,
        3,
        10_000,
    )


def test_precedence(tmp_path: Path) -> None:
    toml = tmp_path / "ca.toml"
    toml.write_text('port = 9001\nretention = 5\ntoken = "from-file"\n')
    env = {"COMPUTEADVISOR_PORT": "9002", "COMPUTEADVISOR_DENY_PRIVATE_HEALTH": "true"}
    config = load_config({"port": 9003, "host": None}, config_file=str(toml), environ=env)
    assert (config.port, config.retention, config.token, config.deny_private_health) == (9003, 5, "from-file", True)
    assert load_config(environ={**env, "COMPUTEADVISOR_CONFIG": str(toml)}).port == 9002


@pytest.mark.parametrize(
    "env",
    [
        {"COMPUTEADVISOR_PORT": "x"},
        {"COMPUTEADVISOR_PORT": "70000"},
        {"COMPUTEADVISOR_ATTEMPT_CAP": "0"},
        {"COMPUTEADVISOR_MAX_BODY_BYTES": "0"},
    ],
)
def test_bad_values_are_config_errors(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        load_config(environ=env)


def test_unknown_file_key_is_an_error(tmp_path: Path) -> None:
    toml = tmp_path / "ca.toml"
    toml.write_text("prot = 1\n")
    with pytest.raises(ConfigError, match="prot"):
        load_config(config_file=str(toml), environ={})


@pytest.mark.parametrize(
    ("host", "loopback"), [("127.0.0.1", True), ("::1", True), ("localhost", True), ("0.0.0.0", False)]
)
def test_loopback_detection(host: str, loopback: bool) -> None:
    assert Config(host=host).binds_loopback_only is loopback


def test_serve_refuses_a_public_bind_without_a_token(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "computeadvisor", "serve", "--root", str(tmp_path), "--host", "0.0.0.0", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode != 0
    assert "token is required" in result.stderr
