"""The shared JSON settings document ``settings/config.json`` and the GPU policy mirrored at ``compute.gpu_policy``.

The document belongs to every ComfyVN tool (GUI settings, other sections). We only ever replace
``compute.gpu_policy``, keep every other key, and never move or rewrite a document we cannot parse.
"""

from __future__ import annotations

import asyncio
import logging
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

from computeadvisor.adapters._files import encode_pretty, exclusive_lock, remove_stale_temps, write_atomic
from computeadvisor.adapters.file_signatures import file_signature
from computeadvisor.domain.errors import CorruptDocument
from computeadvisor.domain.policy import GpuPolicy, policy_from_stored

log = logging.getLogger("computeadvisor.settings")


class Snapshot(msgspec.Struct, frozen=True):
    """The document's bytes and file mode before a write (``content`` None: there was no file)."""

    content: bytes | None
    mode: int = 0o600


def decode_object(raw: bytes | str) -> dict[str, Any] | None:
    """A JSON object, or None when the text is not JSON (or has numbers out of range) or is not an object."""
    try:
        value = msgspec.json.decode(raw)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


def policy_in(settings: Mapping[str, Any] | None) -> GpuPolicy | None:
    """``compute.gpu_policy`` of a settings object; None when there is no policy object there."""
    compute = settings.get("compute") if settings is not None else None
    stored = compute.get("gpu_policy") if isinstance(compute, Mapping) else None
    return policy_from_stored(stored) if isinstance(stored, Mapping) else None


class SettingsMirror:
    """Reads and rewrites the GPU policy in ``<root>/settings/config.json``. The ``*_sync`` methods block."""

    def __init__(self, root: Path) -> None:
        self.path = root / "settings" / "config.json"
        self.lock_path = self.path.with_name(".config.json.lock")
        self._cache: tuple[object, GpuPolicy | None] = (object(), None)

    def remove_stale_temps_sync(self) -> None:
        """Delete temp files a killed writer left in ``settings/`` (under the lock, so none is mid-write)."""
        if self.path.parent.is_dir():
            with exclusive_lock(self.lock_path):
                remove_stale_temps(self.path)

    def read_sync(self) -> GpuPolicy | None:
        """The mirrored policy read now (None: no file, unreadable, or no policy in it). Blocking."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("settings document %s could not be read: %s", self.path, exc)
            return None
        document = decode_object(raw)
        if document is None:
            log.warning("settings document %s is not a JSON object; its GPU policy is ignored", self.path)
        return policy_in(document)

    async def policy(self) -> GpuPolicy | None:
        """The mirrored policy, re-read (off the event loop) only when the file's signature changed."""
        signature = file_signature(self.path)
        cached_signature, cached_policy = self._cache
        if signature == cached_signature:
            return cached_policy
        policy = None if signature is None else await asyncio.to_thread(self.read_sync)
        self._cache = (signature, policy)
        return policy

    def write_sync(self, policy: GpuPolicy) -> Snapshot:
        """Set ``compute.gpu_policy``, keeping every other key and the file mode; returns what was there before.

        Raises:
            CorruptDocument: the document is not a JSON object (nothing was written; it is left untouched).
            OSError: the file could not be read or written.
        """
        try:
            before = Snapshot(self.path.read_bytes(), stat.S_IMODE(self.path.stat().st_mode))
        except FileNotFoundError:
            before = Snapshot(None)
        document = {} if before.content is None else decode_object(before.content)
        if document is None:
            raise CorruptDocument(f"{self.path} is not a JSON object")
        compute = document.get("compute")
        if not isinstance(compute, dict):
            if compute is not None:
                log.warning("settings document %s: replacing the non-object 'compute' value", self.path)
            compute = {}
        compute["gpu_policy"] = policy.as_stored()
        document["compute"] = compute
        write_atomic(self.path, encode_pretty(document), mode=before.mode)
        return before

    def restore_sync(self, before: Snapshot) -> None:
        """Put back what ``write_sync`` replaced (best effort: used when the database commit then failed)."""
        try:
            if before.content is None:
                self.path.unlink(missing_ok=True)
            else:
                write_atomic(self.path, before.content, mode=before.mode)
        except OSError as exc:
            log.error("settings document %s could not be restored after a failed commit: %s", self.path, exc)
