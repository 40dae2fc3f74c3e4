"""FeatureFlags: the ComfyVN configuration documents (``comfyvn.json``, ``config/comfyvn.json``)."""

from __future__ import annotations

from typing import Any, Protocol

from computeadvisor.ports.lifecycle import Lifecycle


class FeatureFlags(Lifecycle, Protocol):
    """Reads ``features.enable_compute`` and the provider seeds of the ComfyVN configuration (§0.6, §2.7)."""

    def enabled(self) -> bool:
        """Whether ``enable_compute`` is on right now.

        Returns:
            The flag as the files say at this moment (only real JSON booleans count; default False). Cheap
            enough to call on every request: an implementation may cache by file modification time.
        """
        ...

    def seed_documents(self) -> list[tuple[str, Any]]:
        """The parsed configuration documents that may carry provider seeds, in seeding precedence order.

        Returns:
            ``(name, document)`` pairs; a missing or unparseable document is left out.
        """
        ...
