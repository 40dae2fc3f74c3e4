"""SettingsStore: the user's settings shared with other ComfyVN tools; here, the GPU policy (§1.5)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from computeadvisor.domain.policy import GpuPolicy
from computeadvisor.ports.lifecycle import Lifecycle


class SettingsStore(Lifecycle, Protocol):
    """Reads and writes the shared GPU policy.

    ``open``/``close`` and ``update_policy`` have default bodies that suit a store living in one process;
    a store shared with other processes overrides them.
    """

    async def get_policy(self) -> GpuPolicy:
        """The policy as stored now (defaults for anything missing or invalid).

        Returns:
            The policy snapshot, including changes made by other processes.

        Raises:
            StorageError: the store could not be read.
        """
        ...

    async def put_policy(self, policy: GpuPolicy) -> None:
        """Store the policy durably.

        Raises:
            StorageError: the policy could not be saved; the stored one is unchanged.
        """
        ...

    async def update_policy(self, change: Callable[[GpuPolicy], GpuPolicy]) -> GpuPolicy:
        """Read the stored policy, apply ``change`` to it and store the result, as one atomic step.

        Use it for read-modify-write (a PUT that keeps omitted fields, recording the sticky device) so that a
        concurrent writer's change is never lost.

        Args:
            change: a pure function of the current policy; returning its argument itself (``is``) writes nothing.
                Whatever it raises propagates and nothing is written.

        Returns:
            The policy stored afterwards.

        Raises:
            StorageError: the policy could not be saved; the stored one is unchanged.
        """
        current = await self.get_policy()
        updated = change(current)
        if updated is not current:
            await self.put_policy(updated)
        return updated
