"""Process configuration: where state lives and how the service binds. Not the user's settings."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import msgspec

ENV_PREFIX = "COMPUTEADVISOR_"
MAX_BODY_BYTES = 1024 * 1024


class Config(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the composition root needs to build the service."""

    root: str = "."
    host: str = "127.0.0.1"
    port: int = 8001
    max_body_bytes: int = MAX_BODY_BYTES

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port {self.port} is not in 0..65535")

    @property
    def root_path(self) -> Path:
        """The state root as an absolute path."""
        return Path(self.root).resolve()


def load_config(
    *,
    root: str | None = None,
    host: str | None = None,
    port: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Flags win over ``COMPUTEADVISOR_ROOT|HOST|PORT`` environment variables, which win over defaults."""
    env = os.environ if environ is None else environ
    defaults = Config()
    env_port = env.get(f"{ENV_PREFIX}PORT")
    return Config(
        root=root or env.get(f"{ENV_PREFIX}ROOT") or defaults.root,
        host=host or env.get(f"{ENV_PREFIX}HOST") or defaults.host,
        port=port if port is not None else int(env_port) if env_port else defaults.port,
    )
