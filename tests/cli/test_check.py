"""``computeadvisor check`` (contract §6) as a real subprocess: a real server, a deliberately broken one, none.

``test_check_passes_against_the_real_server`` needs the scheduler routes (``/api/schedule/*``); until they exist it
fails, by design: the check must not pass against a server that lacks them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from computeadvisor.app.check import CLAIM_CYCLE, run_check
from tests.e2e._harness import ServerLauncher, free_port, run_cli

from ._fake_server import FakeService, serve_in_thread

pytestmark = pytest.mark.e2e

FLAG_AS_EXPECTED = {"key": "enable_compute", "expect": False, "got": False, "ok": True, "required": False}
BROKEN = {("GET", "/api/gpu/list"): 404, ("PUT", "/api/gpu/policy"): 405, ("POST", "/api/compute/costs"): 500}
ROUTE_KEYS = {"path", "method", "status", "ok", "required", "skipped"}


def _check(base: str, *extra: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    """Run ``computeadvisor check --base BASE``; its exit code and the JSON report it printed."""
    result = run_cli("check", "--base", base, *extra, env=env, timeout=60)
    try:
        report = json.loads(result.stdout)
    except ValueError:
        pytest.fail(f"check printed no JSON report (exit {result.returncode}):\n{result.stdout}\n{result.stderr}")
    assert isinstance(report, dict), report
    assert set(report) == {"ts", "base", "pass", "flags", "routes", "notes"}, report
    for route in report["routes"]:
        assert set(route) == ROUTE_KEYS, route
    return result.returncode, report


def _failed(report: dict[str, Any]) -> set[tuple[str, str]]:
    """(method, path without query) of every probe that failed and was not skipped."""
    return {(r["method"], r["path"].split("?")[0]) for r in report["routes"] if not r["ok"] and not r["skipped"]}


@pytest.fixture
def broken_base() -> Iterator[str]:
    with serve_in_thread(FakeService(broken=BROKEN)) as base:
        yield base


def test_check_passes_against_the_real_server(launcher: ServerLauncher, tmp_path: Path) -> None:
    server = launcher.start(tmp_path / "root")
    code, report = _check(server.base_url)
    problems = [r for r in report["routes"] if not (r["ok"] or r["skipped"])]
    assert code == 0, f"check failed: {problems}\nnotes: {report['notes']}"
    assert report["pass"] is True
    assert problems == []
    assert report["flags"][0] == FLAG_AS_EXPECTED
    assert report["base"] == server.base_url
    assert all(r["status"] is None or 200 <= r["status"] < 300 for r in report["routes"])
    methods = {(r["method"], r["path"].split("?")[0]) for r in report["routes"]}
    assert {("GET", "/api/schedule/health"), ("PUT", "/api/gpu/policy"), ("POST", "/api/compute/costs")} <= methods


def test_check_names_the_broken_routes(broken_base: str) -> None:
    code, report = _check(broken_base)
    assert code == 2, report
    assert report["pass"] is False
    assert _failed(report) == set(BROKEN)
    statuses = {(r["method"], r["path"]): r["status"] for r in report["routes"] if not r["ok"]}
    assert statuses == {
        ("GET", "/api/gpu/list"): 404,
        ("GET", "/api/gpu/list?debug=1"): 404,
        ("PUT", "/api/gpu/policy"): 405,
        ("POST", "/api/compute/costs"): 500,
    }
    # Everything else was really probed (the fake's empty local queue lets the claim cycle run) and passed.
    assert not any(r["skipped"] for r in report["routes"]), report["routes"]
    assert len(report["routes"]) > 20
    notes = "\n".join(report["notes"])
    for method, path in BROKEN:
        assert f"{method} {path}" in notes, notes
    for status in ("404", "405", "500"):
        assert status in notes, notes
    assert report["flags"][0] == FLAG_AS_EXPECTED


def test_check_reports_an_unreachable_server() -> None:
    base = f"http://127.0.0.1:{free_port()}"
    code, report = _check(base)
    assert code == 2
    assert report["pass"] is False
    assert report["routes"] == []
    assert any("unreachable" in note for note in report["notes"]), report["notes"]
    assert report["flags"][0]["got"] is None
    assert report["flags"][0]["ok"] is False


def test_check_sends_the_token_to_a_real_server(launcher: ServerLauncher, tmp_path: Path) -> None:
    server = launcher.start(tmp_path / "root", args=("--token", "T"))
    _code, without = _check(server.base_url)
    assert without["pass"] is False
    assert {("PUT", "/api/gpu/policy"), ("POST", "/api/providers")} <= {
        (r["method"], r["path"]) for r in without["routes"] if r["status"] == 401
    }
    for extra, env in ((("--token", "T"), None), ((), {"COMPUTEADVISOR_TOKEN": "T"})):
        _code, report = _check(server.base_url, *extra, env=env)
        unauthorized = [r for r in report["routes"] if r["status"] == 401]
        assert unauthorized == [], unauthorized
        assert {("PUT", "/api/gpu/policy"), ("POST", "/api/providers")} <= {
            (r["method"], r["path"]) for r in report["routes"] if r["ok"]
        }


def test_check_sends_the_token_on_every_probe() -> None:
    app = FakeService(token="T")
    with serve_in_thread(app) as base:
        code, report = _check(base, "--token", "T")
        assert code == 0, report
        assert report["pass"] is True
        assert app.seen, "the check sent nothing"
        assert {seen.authorization for seen in app.seen} == {"Bearer T"}
        assert len(app.seen) == len([r for r in report["routes"] if not r["skipped"]])

        app.seen.clear()
        code, report = _check(base)
        assert code == 2
        assert {r["status"] for r in report["routes"] if not r["skipped"]} == {401}
        assert {seen.authorization for seen in app.seen} == {None}


@pytest.mark.parametrize("odd", [{"queues": None}, {"queues": 5}, None, "x"])
def test_odd_answers_are_reported_not_raised(odd: Any) -> None:
    """In process (httpx.MockTransport): ``devices`` and ``counts`` of unexpected shapes must not crash the check."""

    def answer(request: httpx.Request) -> httpx.Response:
        body: dict[str, Any] = {"feature": {"feature": "enable_compute", "enabled": False}}
        if request.url.path == "/api/gpu/list":
            body["devices"] = 5
        if request.url.path == "/api/schedule/state":
            body["counts"] = odd
        return httpx.Response(200, json=body)

    report = run_check("http://check.invalid", transport=httpx.MockTransport(answer))
    assert "claim cycle skipped: the queue depth is unknown" in report.notes
    assert [r.skipped for r in report.routes].count(True) == len(CLAIM_CYCLE) + 1  # + the policy write
