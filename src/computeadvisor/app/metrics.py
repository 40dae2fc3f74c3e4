"""Prometheus metrics (§13): counters kept by this process, gauges read from the ports at scrape time.

What a process counts (requests, transitions, lease expiries, job durations) lives in one ``CollectorRegistry`` per
app, so two apps in one process (the tests) never share a figure. What a store knows (queue depth, running jobs)
is read when ``/metrics`` is scraped, so it is right after a restart and the same on every replica. Label values
are bounded sets: route templates, methods, status codes, queues, places and provider ids, never a raw path, a job
id or a secret.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping, Sequence

import msgspec
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector

from computeadvisor.domain.hardware import GpuInfo
from computeadvisor.domain.jobs import FINISHED, Job, JobStatus, QueueDepths
from computeadvisor.domain.runtime_model import job_place

CONTENT_TYPE = "text/plain; version=0.0.4"
"""The classic text format that ``generate_latest`` writes (the response adds ``charset=utf-8``)."""
UNMATCHED = "(unmatched)"
"""The ``route`` label of a request no route matched (a 404 or 405 before any handler)."""
JOB_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 21600.0)
"""Job durations in seconds: a thumbnail takes seconds, a video render hours."""
MIB = 1024 * 1024
# No ``*_created`` series: a scrape shows what the contract lists and nothing beside.
disable_created_metrics()  # type: ignore[no-untyped-call]


class Snapshot(msgspec.Struct, frozen=True, kw_only=True):
    """What the gauges show, read from the ports for one scrape."""

    queued: QueueDepths
    running: QueueDepths
    provider_up: Mapping[str, bool]
    """The latest health result per provider checked since this process started."""
    gpus: Sequence[GpuInfo]


class Metrics:
    """The counters and histograms of one app, and its exposition."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._requests = Counter(
            "computeadvisor_http_requests", "HTTP requests answered.", ["route", "method", "status"],
            registry=self.registry,
        )  # fmt: skip
        self._request_seconds = Histogram(
            "computeadvisor_http_request_duration_seconds", "Time from a request's arrival to its last byte.",
            ["route", "method"], registry=self.registry,
        )  # fmt: skip
        self._transitions = Counter(
            "computeadvisor_job_transitions", "Job transitions made through this process, by the status entered.",
            ["queue", "to"], registry=self.registry,
        )  # fmt: skip
        self._job_seconds = Histogram(
            "computeadvisor_job_duration_seconds", "Reported durations of jobs that succeeded or failed.",
            ["queue", "place"], buckets=JOB_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self._lease_expiries = Counter(
            "computeadvisor_lease_expiries", "Running jobs whose lease ended, by what became of them.",
            ["queue", "outcome"], registry=self.registry,
        )  # fmt: skip

    def request(self, route: str, method: str, status: int, seconds: float) -> None:
        """One answered HTTP request."""
        self._requests.labels(route, method, str(status)).inc()
        self._request_seconds.labels(route, method).observe(seconds)

    def transition(self, job: Job) -> None:
        """A job entered its current status; a finished one with a duration is observed in the job histogram."""
        self._transitions.labels(job.queue, str(job.status)).inc()
        duration = job.duration_sec
        if job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED) and duration is not None and duration > 0:
            self._job_seconds.labels(job.queue, job_place(job) or "unknown").observe(duration)

    def lease_expired(self, job: Job) -> None:
        """A running job whose lease ended is now queued again (``requeued``) or failed at its attempt cap."""
        self.transition(job)
        outcome = "failed" if job.status in FINISHED else "requeued"
        self._lease_expiries.labels(job.queue, outcome).inc()

    def exposition(self, snapshot: Snapshot) -> bytes:
        """The text exposition of everything counted plus the snapshot's gauges."""
        return generate_latest(_Scrape(self.registry, snapshot))


class _Scrape(Collector):
    """The app's registry followed by the gauges of one snapshot."""

    def __init__(self, registry: CollectorRegistry, snapshot: Snapshot) -> None:
        self._registry = registry
        self._snapshot = snapshot

    def collect(self) -> Iterable[Metric]:
        yield from self._registry.collect()
        yield from _gauges(self._snapshot)


def _gauges(snapshot: Snapshot) -> Iterator[Metric]:
    depth = GaugeMetricFamily("computeadvisor_queue_depth", "Queued jobs per queue, from the store.", labels=["queue"])
    running = GaugeMetricFamily(
        "computeadvisor_jobs_running", "Running jobs per queue, from the store.", labels=["queue"]
    )
    for queue in QueueDepths.__struct_fields__:
        depth.add_metric([queue], getattr(snapshot.queued, queue))
        running.add_metric([queue], getattr(snapshot.running, queue))
    up = GaugeMetricFamily(
        "computeadvisor_provider_up",
        "1 when the provider's latest health check passed, 0 when it failed.",
        labels=["provider"],
    )
    for provider_id, ok in sorted(snapshot.provider_up.items()):
        up.add_metric([provider_id], 1.0 if ok else 0.0)
    yield from (depth, running, up)
    yield from _gpu_gauges(snapshot.gpus)


_GPU_GAUGES: tuple[tuple[str, str, str, float], ...] = (
    ("computeadvisor_gpu_utilization_ratio", "GPU utilisation, 0 to 1.", "util", 0.01),
    ("computeadvisor_gpu_memory_used_bytes", "GPU memory in use.", "mem_used", MIB),
    ("computeadvisor_gpu_memory_total_bytes", "GPU memory in all.", "mem_total", MIB),
    ("computeadvisor_gpu_temperature_celsius", "GPU temperature.", "temp_c", 1.0),
    ("computeadvisor_gpu_power_watts", "GPU power draw.", "power_w", 1.0),
)


def _gpu_gauges(gpus: Sequence[GpuInfo]) -> Iterator[Metric]:
    """One family per GPU reading, in base units; a reading the driver did not give is left out."""
    for name, documentation, field, scale in _GPU_GAUGES:
        family = GaugeMetricFamily(name, documentation, labels=["gpu", "uuid", "name"])
        for gpu in gpus:
            value = getattr(gpu, field)
            if value is not None:
                family.add_metric([gpu.device_id, gpu.uuid or "", gpu.name], value * scale)
        yield family


def http_metrics(app: ASGIApp, metrics: Metrics) -> ASGIApp:
    """Wrap the app's whole HTTP handling (routing included), so that 404s and 405s are counted too, under
    ``(unmatched)``; a matched request is labelled by its route template, which routing leaves in the scope."""

    async def measured(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        method = scope["method"]
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await app(scope, receive, sending)
        finally:
            route = scope.get("path_template") or UNMATCHED
            metrics.request(route, method, status, time.perf_counter() - started)

    return measured
