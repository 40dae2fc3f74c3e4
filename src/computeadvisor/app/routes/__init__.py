"""Thin HTTP handlers: decode, call a service, return its Struct."""

from computeadvisor.app.routes.compute import compute_routes
from computeadvisor.app.routes.events import event_routes
from computeadvisor.app.routes.gpu import gpu_routes
from computeadvisor.app.routes.metrics import metric_routes
from computeadvisor.app.routes.providers import provider_routes
from computeadvisor.app.routes.schedule import schedule_routes
from computeadvisor.app.routes.studio import studio_routes
from computeadvisor.app.routes.ui import ui_routes

__all__ = [
    "compute_routes",
    "event_routes",
    "gpu_routes",
    "metric_routes",
    "provider_routes",
    "schedule_routes",
    "studio_routes",
    "ui_routes",
]
