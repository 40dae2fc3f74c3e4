"""The OpenAPI document at /schema describes every route with real types, and schemathesis finds no fault."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e._harness import RunningServer, ServerLauncher, clean_env

TOKEN = "schemathesis-token"
SEEDED_JOBS = 400
"""Jobs queued on each queue before the run, so that no generated claim finds its queue empty: ``wait_seconds``
(up to 30) would then hold it past the request timeout (the waits are tested in tests/http/test_schedule.py)."""

pytestmark = pytest.mark.e2e
STUDIO_WRITES = r"^/api/providers/(register|create|activate|order|import|remove/.*)$"
"""The Studio's writes (§16.4-§16.8) take ComfyVN's lenient bodies: a falsy id or template_id, a duplicate id, a
template whose default base cannot be stored are 400s that depend on the registry or on truthiness, which JSON
Schema cannot state. Schemathesis checks them for everything but "valid data accepted" and "invalid data refused";
tests/http/test_studio.py checks those answers one by one."""

ROUTES = {
    ("/api/gpu/list", "get"), ("/api/gpu/policy", "get"), ("/api/gpu/policy", "put"), ("/api/gpu/policy", "post"),
    ("/api/providers", "get"), ("/api/providers", "post"), ("/api/providers/{provider_id}", "delete"),
    ("/api/providers/health", "get"), ("/api/providers/quota", "get"), ("/api/providers/templates", "get"),
    ("/api/compute/advise", "post"), ("/api/compute/costs", "post"), ("/api/compute/plan", "post"),
    ("/api/compute/model", "get"),
    ("/api/schedule/health", "get"), ("/api/schedule/state", "get"), ("/api/schedule/board", "get"),
    ("/api/schedule/jobs/{job_id}", "get"), ("/api/events", "get"),
    ("/api/providers/list", "get"), ("/api/providers/export", "get"), ("/api/providers/remove/{provider_id}", "delete"),
    *(("/api/providers/" + name, "post") for name in ("register", "create", "activate", "order", "health", "import")),
    ("/api/gpu/select", "post"), ("/api/gpu/advise", "post"),
    *(("/api/schedule/" + name, "post") for name in ("enqueue", "claim", "heartbeat", "complete", "fail", "requeue",
                                                      "cancel")),
}  # fmt: skip


def test_every_route_has_typed_bodies(server: RunningServer) -> None:
    document = server.client().get("/schema/openapi.json").json()
    paths = document["paths"]
    found = {(path, method) for path, item in paths.items() for method in item if path.startswith("/api/")}
    assert found == ROUTES
    for path, method in ROUTES:
        operation = paths[path][method]
        if path == "/api/events":  # a stream of Server-Sent Events, not one JSON answer
            assert "text/event-stream" in operation["responses"]["200"]["content"]
            continue
        ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
        assert "$ref" in ok or "oneOf" in ok, f"{method} {path} answers an untyped body: {ok}"
        assert operation["responses"]["400"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
        if method in ("post", "put"):
            body = operation["requestBody"]["content"]["application/json"]["schema"]
            ref = body["anyOf"][0]["$ref"] if "anyOf" in body else body["$ref"]  # null is {}: valid when {} is
            assert ref.startswith("#/components/schemas/")


def test_schemathesis_with_every_check_finds_no_fault(
    launcher: ServerLauncher, state_root: Path, tmp_path: Path
) -> None:
    # All checks: no 5xx, answers as documented, schema-valid requests accepted and schema-violating ones refused
    # (so the published rules match the parsers'), and the token is required where the document says so; the
    # Studio's writes without the two acceptance checks (see STUDIO_WRITES).
    server = launcher.start(state_root, args=("--token", TOKEN))
    with server.client() as api:
        for n in range(SEEDED_JOBS):
            for queue in ("local", "remote"):
                body = {"id": f"seed-{queue}-{n}", "queue": queue}
                response = api.post("/api/schedule/enqueue", json=body, headers={"Authorization": f"Bearer {TOKEN}"})
                assert response.status_code == 200, response.text
    schemathesis = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert schemathesis, "schemathesis is a dev dependency: pip install -e '.[dev]'"
    command = [schemathesis, "run", f"{server.base_url}/schema/openapi.json"]
    command += ["-H", f"Authorization: Bearer {TOKEN}"]
    command += ["--exclude-path", "/api/events"]  # an endless stream: tested by tests/e2e/test_events_e2e.py
    command += ["--max-examples", "30", "--generation-deterministic", "--request-timeout", "10"]
    for selection in (
        ["--checks", "all", "--exclude-path-regex", STUDIO_WRITES],
        ["--checks", "all", "--exclude-checks", "positive_data_acceptance,negative_data_rejection",
         "--include-path-regex", STUDIO_WRITES],
    ):  # fmt: skip
        result = subprocess.run(
            command + selection,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
            cwd=tmp_path,
            env=clean_env(),
        )
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
        assert " passed" in result.stdout and " failure" not in result.stdout, result.stdout[-2000:]
