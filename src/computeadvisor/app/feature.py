"""The ``feature`` object every ``/api`` answer carries (§0.2), read from the flag port for each request."""

from __future__ import annotations

from computeadvisor.ports.feature_flags import FeatureFlags
from computeadvisor.wire import Feature


def current_feature(flags: FeatureFlags) -> Feature:
    """The flag as the files say for this request."""
    return Feature(enabled=flags.enabled())
