"""SettingsStore: the user's settings shared with other ComfyVN tools; here, the GPU policy (§1.5)."""

from __future__ import annotations

from typing import Protocol

from computeadvisor.domain.policy import GpuPolicy


class SettingsStore(Protocol):
    """Reads and writes the shared GPU policy."""

    async def get_policy(self) -> GpuPolicy:
        """The policy as stored now (defaults for anything missing or invalid).

        Returns:
            The policy snapshot, including changes made by other processes.
        """
        ...

    async def put_policy(self, policy: GpuPolicy) -> None:
        """Store the policy durably.

        Raises:
            StorageError: the policy could not be saved; the stored one is unchanged.
        """
        ...
