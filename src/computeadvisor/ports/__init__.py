"""The contracts the app needs from the world, one ``typing.Protocol`` per module."""

from computeadvisor.ports.feature_flags import FeatureFlags
from computeadvisor.ports.health_probe import HealthProbe
from computeadvisor.ports.job_store import JobStore
from computeadvisor.ports.metrics_source import MetricsSource
from computeadvisor.ports.provider_registry import ProviderRegistry
from computeadvisor.ports.resolver import Resolver
from computeadvisor.ports.run_history import RunHistory
from computeadvisor.ports.settings_store import SettingsStore

__all__ = [
    "FeatureFlags",
    "HealthProbe",
    "JobStore",
    "MetricsSource",
    "ProviderRegistry",
    "Resolver",
    "RunHistory",
    "SettingsStore",
]
