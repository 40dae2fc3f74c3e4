"""``computeadvisor check``: a smoke test of a running server that really checks (contract §6).

Every probe needs a 2xx answer whose body carries ``feature.enabled`` as a boolean; a 404, 405 or 5xx fails the
check. Remote providers are never contacted: the probe provider uses a ``stub://`` base.
"""

from __future__ import annotations

import contextlib
import secrets
from datetime import UTC, datetime
from typing import Any

import httpx
import msgspec

from computeadvisor.domain.values import utc_timestamp

PROBE_TIMEOUT_S = 3.0
LOWEST_PRIORITY = -(2**63)
HIGHEST_PRIORITY = 2**63 - 1


class RouteResult(msgspec.Struct, kw_only=True):
    path: str
    method: str
    status: int | None
    ok: bool
    required: bool = True
    skipped: bool = False


class FlagResult(msgspec.Struct, kw_only=True):
    key: str = "enable_compute"
    expect: bool = False
    got: bool | None = None
    ok: bool = False
    required: bool = False


class CheckReport(msgspec.Struct, kw_only=True):
    ts: str
    base: str
    passed: bool = msgspec.field(name="pass")
    flags: list[FlagResult]
    routes: list[RouteResult]
    notes: list[str]


class _Unreachable(Exception):
    """The server gave no HTTP answer at all."""


class _Checker:
    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self.routes: list[RouteResult] = []
        self.notes: list[str] = []
        self.flag: bool | None = None

    def call(self, method: str, path: str, body: Any = None, *, first: bool = False) -> dict[str, Any] | None:
        """Send one probe and record it; returns the JSON body when the probe passed."""
        try:
            response = self.client.request(method, path, json=body)
        except httpx.HTTPError as exc:
            if first:
                raise _Unreachable(str(exc)) from exc
            self.routes.append(RouteResult(path=path, method=method, status=None, ok=False))
            self.notes.append(f"{method} {path}: no answer ({exc.__class__.__name__}: {exc})")
            return None
        data: Any = None
        with contextlib.suppress(ValueError):
            data = response.json()
        feature = data.get("feature") if isinstance(data, dict) else None
        has_flag = isinstance(feature, dict) and isinstance(feature.get("enabled"), bool)
        ok = response.is_success and has_flag
        if has_flag and self.flag is None:
            self.flag = feature["enabled"]  # type: ignore[index]
        self.routes.append(RouteResult(path=path, method=method, status=response.status_code, ok=ok))
        if not ok:
            why = "no feature object" if response.is_success else f"status {response.status_code}"
            self.notes.append(f"{method} {path}: {why}")
        return data if ok else None

    def skip(self, method: str, path: str, note: str | None) -> None:
        self.routes.append(RouteResult(path=path, method=method, status=None, ok=True, skipped=True))
        if note is not None:
            self.notes.append(note)


def _object(value: Any) -> dict[str, Any]:
    """``value`` when it is a JSON object, else ``{}``: a server's odd answer must not break the check."""
    return value if isinstance(value, dict) else {}


def _check_id() -> str:
    return f"check-{secrets.token_hex(6)}"


def _policy_probe(check: _Checker, devices: list[Any]) -> None:
    current = check.call("GET", "/api/gpu/policy")
    policy = current.get("policy") if current else None
    if not isinstance(policy, dict):
        check.skip("PUT", "/api/gpu/policy", "policy write skipped: the policy could not be read")
        return
    present = {d.get("id") for d in devices if isinstance(d, dict)}
    named = [policy.get("preferred_id"), policy.get("manual_device")]
    if any(isinstance(d, str) and d.startswith("gpu:") and d not in present for d in named):
        check.skip("PUT", "/api/gpu/policy", "policy write skipped: the stored policy names a GPU that is not present")
        return
    body = {k: policy.get(k) for k in ("mode", "preferred_id", "manual_device")}
    check.call("PUT", "/api/gpu/policy", body)


def _provider_probes(check: _Checker) -> None:
    provider_id = _check_id()
    check.call("POST", "/api/providers", {"id": provider_id, "kind": "local", "base": "stub://check"})
    for route in ("health", "quota", "templates"):
        check.call("GET", f"/api/providers/{route}?id={provider_id}")
    check.call("DELETE", f"/api/providers/{provider_id}?debug=1")


def _job_probes(check: _Checker) -> None:
    job_id = _check_id()
    check.call("POST", "/api/schedule/enqueue", {"id": job_id, "queue": "local", "priority": LOWEST_PRIORITY})
    check.call("GET", f"/api/schedule/jobs/{job_id}")
    check.call("POST", "/api/schedule/requeue", {"job_id": job_id})
    check.call("POST", "/api/schedule/cancel", {"job_id": job_id})


CLAIM_CYCLE = (
    ("POST", "/api/schedule/enqueue"),
    ("POST", "/api/schedule/enqueue"),
    ("POST", "/api/schedule/claim"),
    ("POST", "/api/schedule/heartbeat"),
    ("POST", "/api/schedule/complete"),
    ("POST", "/api/schedule/claim"),
    ("POST", "/api/schedule/fail"),
)


def _claim(check: _Checker, ours: set[str], expected: str) -> tuple[str | None, str | None]:
    """Claim ``local``; a job we did not enqueue goes straight back to the queue with a note."""
    data = check.call("POST", "/api/schedule/claim", {"queue": "local", "worker_id": "computeadvisor-check"})
    job = data.get("job") if data else None
    if not isinstance(job, dict):
        if data is not None:
            check.routes[-1].ok = False
            check.notes.append(f"claim returned no job; expected {expected}")
        return None, None
    if job.get("id") not in ours:
        check.call("POST", "/api/schedule/requeue", {"job_id": job.get("id")})
        check.notes.append(f"claim returned a job the check did not enqueue ({job.get('id')}); requeued it")
        return None, None
    if job.get("id") != expected:
        check.routes[-1].ok = False
        check.notes.append(f"claim returned {job.get('id')}, expected {expected}")
    lease = data.get("lease") if data else None
    token = lease.get("token") if isinstance(lease, dict) else None
    return str(job.get("id")), token


def _claim_cycle(check: _Checker) -> None:
    first, second = _check_id(), _check_id()
    for job_id in (first, second):
        check.call("POST", "/api/schedule/enqueue", {"id": job_id, "queue": "local", "priority": HIGHEST_PRIORITY})
    claimed, token = _claim(check, {first, second}, first)
    if claimed is not None:
        check.call("POST", "/api/schedule/heartbeat", {"job_id": claimed, "lease_token": token})
        check.call("POST", "/api/schedule/complete", {"job_id": claimed, "lease_token": token})
    claimed, token = _claim(check, {first, second}, second)
    if claimed is not None:
        check.call("POST", "/api/schedule/fail", {"job_id": claimed, "lease_token": token, "error": "check"})


def run_check(base: str, token: str | None = None, *, transport: httpx.BaseTransport | None = None) -> CheckReport:
    """Probe every route of a running server in the order of §6 and report; never raises for server faults."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    base = base.rstrip("/")
    with httpx.Client(
        base_url=base, headers=headers, timeout=PROBE_TIMEOUT_S, transport=transport, trust_env=False
    ) as client:
        check = _Checker(client)
        try:
            check.call("GET", "/api/schedule/health", first=True)
        except _Unreachable as exc:
            check.notes.append(f"server unreachable at {base}: {exc}")
            return _report(base, check, reachable=False)
        gpus = check.call("GET", "/api/gpu/list")
        check.call("GET", "/api/gpu/list?debug=1")
        devices = _object(gpus).get("devices")
        _policy_probe(check, devices if isinstance(devices, list) else [])
        check.call("GET", "/api/providers?debug=1")
        _provider_probes(check)
        check.call("POST", "/api/compute/advise", {"job": {"width": 1024, "height": 1024}, "debug": True})
        check.call("POST", "/api/compute/costs", {"job": {"queue": "local", "duration_sec": 60}, "debug": True})
        state = check.call("GET", "/api/schedule/state?limit=1")
        check.call("GET", "/api/schedule/board?limit=1")
        _job_probes(check)
        local_depth = _object(_object(_object(state).get("counts")).get("queues")).get("local")
        if local_depth == 0:
            _claim_cycle(check)
        else:
            for method, path in CLAIM_CYCLE:
                check.skip(method, path, None)
            why = "the queue depth is unknown" if local_depth is None else f"the local queue holds {local_depth} job(s)"
            check.notes.append(f"claim cycle skipped: {why}")
        return _report(base, check, reachable=True)


def _report(base: str, check: _Checker, *, reachable: bool) -> CheckReport:
    got = check.flag
    flag = FlagResult(got=got, ok=got is False)
    if got is not None and got is not flag.expect:
        check.notes.append(f"warning: enable_compute is {got} on the server (expected {flag.expect})")
    passed = reachable and all(r.ok for r in check.routes if not r.skipped)
    ts = utc_timestamp(datetime.now(UTC))
    return CheckReport(ts=ts, base=base, passed=passed, flags=[flag], routes=check.routes, notes=check.notes)
