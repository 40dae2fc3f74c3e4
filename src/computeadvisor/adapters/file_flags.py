"""FeatureFlags from the ComfyVN configuration files, re-read when they change (§0.6, §2.7)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from computeadvisor.adapters.file_signatures import STAT_SIGNATURES, FileSignatures, Signature
from computeadvisor.ports.feature_flags import FeatureFlags

_MISSING = object()


def _read_json(path: Path) -> Any:
    """The file's JSON value; ``_MISSING`` when it is missing, unreadable or not JSON."""
    try:
        return msgspec.json.decode(path.read_bytes())
    except (OSError, msgspec.DecodeError, UnicodeDecodeError):
        return _MISSING


def _flag(documents: tuple[Any, ...]) -> bool:
    """The last real boolean ``features.enable_compute`` among the documents, else False."""
    enabled = False
    for doc in documents:
        features = doc.get("features") if isinstance(doc, dict) else None
        if isinstance(features, dict) and isinstance(features.get("enable_compute"), bool):
            enabled = features["enable_compute"]
    return enabled


class FileFeatureFlags(FeatureFlags):
    """``features.enable_compute`` from ``comfyvn.json``, overridden by ``config/comfyvn.json``.

    Each call takes the two files' signature (see ``_watch``); they are re-parsed only when one may have changed.
    """

    def __init__(self, root: Path, *, signatures: FileSignatures = STAT_SIGNATURES) -> None:
        self._paths = (root / "comfyvn.json", root / "config" / "comfyvn.json")
        self._signature = signatures.watch(*self._paths)
        self._seen: Signature | None = None
        self._documents: tuple[Any, ...] = (_MISSING, _MISSING)
        self._enabled = False

    def _fresh(self) -> None:
        signature = self._signature()
        if signature != self._seen:
            self._seen = signature
            self._documents = tuple(_read_json(p) for p in self._paths)
            self._enabled = _flag(self._documents)

    def enabled(self) -> bool:
        self._fresh()
        return self._enabled

    def seed_documents(self) -> list[tuple[str, Any]]:
        self._fresh()
        root_doc, config_doc = self._documents
        docs = [("config/comfyvn.json", config_doc), ("comfyvn.json", root_doc)]
        return [(name, doc) for name, doc in docs if doc is not _MISSING]
