"""Process configuration: where state lives, how the service binds, and its operational limits.

Not the user's settings (those live behind ``SettingsStore``). One loader merges, in rising precedence: the
defaults, an optional TOML file, ``COMPUTEADVISOR_<NAME>`` environment variables, and command-line flags.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

from computeadvisor.domain.events import DEFAULT_EVENT_RETENTION
from computeadvisor.domain.jobs import DEFAULT_ATTEMPT_CAP, DEFAULT_RETENTION
from computeadvisor.domain.runtime_model import MIN_SAMPLES

ENV_PREFIX = "COMPUTEADVISOR_"
MAX_BODY_BYTES = 1024 * 1024


class ConfigError(ValueError):
    """The configuration cannot be used; the message says which setting and why."""


class Config(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Everything the composition root needs to build the service."""

    root: str = "."
    host: str = "127.0.0.1"
    port: int = 8001
    token: str | None = None
    deny_private_health: bool = False
    allow_secret_export: bool = False
    """Whether ``GET /api/providers/export?include_secrets=1`` may answer a peer that is not loopback (§16.8)."""
    health_timeout: float = 5.0
    sampler_interval: float = 1.0
    attempt_cap: int = DEFAULT_ATTEMPT_CAP
    retention: int = DEFAULT_RETENTION
    max_body_bytes: int = MAX_BODY_BYTES
    header_timeout: float = 10.0
    max_connections: int = 1000
    min_samples: int = MIN_SAMPLES
    event_retention: int = DEFAULT_EVENT_RETENTION
    max_streams: int = 100
    event_keepalive: float = 15.0
    database_url: str | None = None
    """A PostgreSQL URL: jobs, events and providers live there, shared by every replica (§14); else SQLite/JSON."""
    database_pool_size: int = 10

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"port: {self.port} is not in 0..65535")
        if self.sampler_interval <= 0 or self.health_timeout <= 0:
            raise ConfigError("sampler_interval and health_timeout must be > 0 seconds")
        if self.attempt_cap < 1 or self.retention < 0:
            raise ConfigError("attempt_cap must be >= 1 and retention >= 0")
        if self.max_body_bytes < 1:
            raise ConfigError("max_body_bytes must be >= 1")
        if self.header_timeout <= 0 or self.max_connections < 1:
            raise ConfigError("header_timeout must be > 0 seconds and max_connections >= 1")
        if self.min_samples < 1:
            raise ConfigError("min_samples must be >= 1")
        if self.database_pool_size < 1:
            raise ConfigError("database_pool_size must be >= 1")
        if self.event_retention < 1 or self.max_streams < 0 or self.event_keepalive <= 0:
            raise ConfigError("event_retention must be >= 1, max_streams >= 0 and event_keepalive > 0 seconds")

    @property
    def root_path(self) -> Path:
        """The state root as an absolute path."""
        return Path(self.root).resolve()

    @property
    def binds_loopback_only(self) -> bool:
        """Whether ``host`` is a loopback address (or ``localhost``)."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


FIELDS = tuple(Config.__struct_fields__)


def _from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    return {name: environ[ENV_PREFIX + name.upper()] for name in FIELDS if ENV_PREFIX + name.upper() in environ}


def _from_file(path: str) -> dict[str, Any]:
    try:
        with Path(path).open("rb") as handle:
            data = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"config file {path}: {exc}") from exc
    return dict(data.get("computeadvisor", data))


def load_config(
    flags: Mapping[str, Any] | None = None,
    *,
    config_file: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Merge defaults < TOML file < environment < flags (``None`` flags are ignored) into a Config."""
    env = os.environ if environ is None else environ
    merged: dict[str, Any] = {}
    file_path = config_file or env.get(ENV_PREFIX + "CONFIG")
    if file_path:
        merged.update(_from_file(file_path))
    merged.update(_from_environment(env))
    merged.update({k: v for k, v in (flags or {}).items() if v is not None})
    for name in ("token", "database_url"):  # an empty value is none, so an environment can switch it off
        if merged.get(name) == "":
            merged[name] = None
    try:
        return msgspec.convert(merged, Config, strict=False)
    except msgspec.ValidationError as exc:
        raise ConfigError(str(exc)) from None
