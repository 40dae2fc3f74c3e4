"""FeatureFlags from the ComfyVN configuration files, re-read when they change (§0.6, §2.7)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from computeadvisor.adapters._watch import STAT_SIGNATURES, FileSignatures, Signature
from computeadvisor.ports.feature_flags import FeatureFlags

_MISSING = object()


class _CachedJson:
    """A JSON file parsed once per version of the file; an unreadable file reads as ``_MISSING``."""

    def __init__(self, path: Path, signatures: FileSignatures) -> None:
        self.path = path
        self._paths = (path,)
        self._signatures = signatures
        self._signature: Signature | None = None
        self._value: Any = _MISSING

    def value(self) -> Any:
        signature = self._signatures.signature(self._paths)
        if signature != self._signature:
            self._signature = signature
            try:
                self._value = msgspec.json.decode(self.path.read_bytes())
            except (OSError, msgspec.DecodeError, UnicodeDecodeError):  # missing, unreadable or not JSON
                self._value = _MISSING
        return self._value


class FileFeatureFlags(FeatureFlags):
    """``features.enable_compute`` from ``comfyvn.json``, overridden by ``config/comfyvn.json``.

    Each call takes both files' signatures (see ``_watch``); a file is re-parsed only when it may have changed.
    """

    def __init__(self, root: Path, *, signatures: FileSignatures = STAT_SIGNATURES) -> None:
        self._root_doc = _CachedJson(root / "comfyvn.json", signatures)
        self._config_doc = _CachedJson(root / "config" / "comfyvn.json", signatures)

    def enabled(self) -> bool:
        enabled = False
        for doc in (self._root_doc.value(), self._config_doc.value()):
            features = doc.get("features") if isinstance(doc, dict) else None
            if isinstance(features, dict) and isinstance(features.get("enable_compute"), bool):
                enabled = features["enable_compute"]
        return enabled

    def seed_documents(self) -> list[tuple[str, Any]]:
        docs = [("config/comfyvn.json", self._config_doc.value()), ("comfyvn.json", self._root_doc.value())]
        return [(name, doc) for name, doc in docs if doc is not _MISSING]
