"""The ComfyVN Studio's routes over the in-memory adapters (§16.3-§16.11), and what they change in v1 (§16.1)."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from computeadvisor.adapters.memory import MemoryRegistry
from computeadvisor.domain.policy import GpuPolicy
from computeadvisor.domain.providers import ProviderRecord
from tests.http.conftest import RTX_4090, ClientFactory
from tests.seed_examples import FEATURE_OFF

Client = TestClient[Litestar]
FEATURE_ON = {"feature": "enable_compute", "enabled": True}


def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert "feature" in body
    return body  # type: ignore[no-any-return]


def test_list_shows_views_in_preference_order_and_the_templates(make_client: ClientFactory) -> None:
    records = [ProviderRecord(id="b", kind="runpod", meta={"priority": 20}), ProviderRecord(id="a", kind="local"),
               ProviderRecord(id="c", kind="vast", meta={"priority": 1, "name": "Vast box"})]  # fmt: skip
    body = ok(make_client(providers=records).get("/api/providers/list"))
    assert [p["id"] for p in body["providers"]] == ["c", "b", "a"]
    assert body["providers"][0]["name"] == "Vast box" and body["providers"][2]["priority"] == 999
    assert [t["id"] for t in body["templates"]][:3] == ["local", "local_llm", "runpod"] and len(body["templates"]) == 12
    assert body["feature"] == FEATURE_OFF


def test_register_creates_updates_and_keeps_what_is_omitted(client: Client) -> None:
    first = ok(client.post("/api/providers/register", json={
        "name": "Local (8191)", "base_url": "http://127.0.0.1:8191", "service": "comfyui",
        "config": {"api_key": "sk-1", "workflow_dir": "/w"}}))["provider"]  # fmt: skip
    assert first["id"] == "local-8191" and first["config"] == {"api_key": "***", "workflow_dir": "/w"}
    assert first["meta"]["cost_per_minute"] == 0.0  # the local template's price (service comfyui)
    # The Studio's edit form sends neither config nor meta: nothing is reset (ComfyVN wiped them).
    edited = ok(client.post("/api/providers/register", json={"name": "Local (8191)", "base_url": "http://h:8191",
                                                             "priority": "3"}))["provider"]  # fmt: skip
    assert (edited["base_url"], edited["priority"], edited["config"]) == ("http://h:8191", 3, first["config"])
    assert edited["service"] == "comfyui" and edited["active"] is True
    v1 = client.get("/api/providers").json()["providers"][0]
    assert set(v1) == {"id", "kind", "base", "meta"}
    assert v1["meta"]["config"] == {"api_key": "***", "workflow_dir": "/w"} and v1["meta"]["priority"] == 3
    # A v1 upsert of the record read from GET keeps every reserved key, secrets included.
    assert client.post("/api/providers", json=v1).status_code == 200
    again = ok(client.get("/api/providers/export?include_secrets=0"))  # peer is not loopback: no secrets asked
    assert again["export"]["providers"][0]["config"] == {"workflow_dir": "/w"}


@pytest.mark.parametrize(
    ("body", "detail"),
    [([], "request body must be a JSON object"), ({"name": "x"}, "base_url is required"),
     ({"name": "x", "base_url": "ftp://h"}, "base_url"), ({"name": "x", "base_url": "http://h", "active": "no"},
      "active"), ({"name": "x", "base_url": "http://h", "meta": {"cost_per_minute": -1}}, "meta.cost_per_minute"),
     ({"name": "x", "base_url": "http://h", "config": "k"}, "config")],
)  # fmt: skip
def test_register_errors(client: Client, body: Any, detail: str) -> None:
    answer = client.post("/api/providers/register", json=body)
    assert answer.status_code == 400 and detail in answer.json()["detail"], answer.text
    assert client.get("/api/providers").json()["providers"] == []


def test_create_activate_order_remove(client: Client) -> None:
    made = ok(client.post("/api/providers/create", json={"template_id": "runpod", "config": {"api_key": "K"}}))
    assert made["provider"]["id"] == "runpod" and made["provider"]["priority"] == 10
    for body, detail in (({}, "template_id is required"), ({"template_id": "nope"}, "template 'nope' not found"),
                         ({"template_id": "vast", "id": "runpod"}, "provider 'runpod' already exists")):  # fmt: skip
        answer = client.post("/api/providers/create", json=body)
        assert (answer.status_code, answer.json()["detail"]) == (400, detail)
    ok(client.post("/api/providers/create", json={"template_id": "lambda"}))
    off = ok(client.post("/api/providers/activate", json={"id": "runpod", "active": False}))["provider"]
    assert off["active"] is False and off["config"] == {"api_key": "***"}
    assert client.post("/api/providers/activate", json={"id": "ghost"}).json()["detail"] == "provider not found"
    assert client.post("/api/providers/activate", json={"active": True}).json()["detail"] == "id is required"
    ordered = ok(client.post("/api/providers/order", json={"order": ["lambda-labs", "ghost"]}))  # the name's slug
    assert [(p["id"], p["priority"]) for p in ordered["providers"]] == [("lambda-labs", 0), ("runpod", 10)]
    assert client.post("/api/providers/order", json={}).json()["detail"] == "order must be a list of provider ids"
    assert [p["id"] for p in client.get("/api/providers").json()["providers"]] == ["runpod", "lambda-labs"]
    assert ok(client.delete("/api/providers/remove/runpod"))["removed"] == "runpod"
    assert client.delete("/api/providers/remove/runpod").json()["detail"] == "provider not found"


def test_health_probes_one_or_every_active_provider(make_client: ClientFactory) -> None:
    records = [ProviderRecord(id="a", base="stub://a", meta={"priority": 2}),
               ProviderRecord(id="b", base="stub://b", meta={"active": False}),
               ProviderRecord(id="c", base="", meta={"priority": 1, "name": "C box"})]  # fmt: skip
    client = make_client(providers=records)
    everyone = ok(client.post("/api/providers/health"))  # the Studio sends no body at all
    assert everyone["ok"] is True and [s["provider_id"] for s in everyone["results"]] == ["c", "a"]
    assert everyone["results"][0]["provider_name"] == "C box" and everyone["results"][0]["ok"] is False
    one = ok(client.post("/api/providers/health", json={"id": "b"}))  # inactive ones on request
    assert one["status"]["ok"] is True and isinstance(one["status"]["ts"], int)
    listed = {p["id"]: p["last_health"] for p in client.get("/api/providers/list").json()["providers"]}
    assert listed["c"]["ok"] is False and listed["c"]["error"] == "missing base_url" and listed["a"]["ok"] is True
    assert client.post("/api/providers/health", json={"id": "zz"}).json()["detail"] == "provider not found"


def test_export_leaves_secrets_out_and_refuses_them_off_loopback(make_client: ClientFactory) -> None:
    record = ProviderRecord(id="aws", base="https://ec2.amazonaws.com",
                            meta={"token": "T", "config": {"access_key": "AK", "region": "eu"}})  # fmt: skip
    client = make_client(providers=[record])
    shown = ok(client.get("/api/providers/export"))["export"]
    assert shown["version"] == 1 and isinstance(shown["exported_at"], int)
    assert shown["providers"][0]["config"] == {"region": "eu"} and "token" not in shown["providers"][0]["meta"]
    refused = client.get("/api/providers/export?include_secrets=yes")  # the test client's peer is not loopback
    assert refused.status_code == 403 and "loopback" in refused.json()["detail"]


def test_secrets_need_the_token_too(make_client: ClientFactory) -> None:
    client = make_client(token="T")
    assert client.get("/api/providers/export").status_code == 200
    assert client.get("/api/providers/export?include_secrets=1").status_code == 401
    assert client.get("/api/providers/list").status_code == 200
    for path in ("register", "create", "activate", "order", "import", "health"):
        assert client.post(f"/api/providers/{path}", json={}).status_code == 401, path
    assert client.delete("/api/providers/remove/x").status_code == 401
    assert client.post("/api/gpu/select", json={}).status_code == 200


def test_import_registers_every_entry_in_one_write(make_client: ClientFactory) -> None:
    registry = MemoryRegistry([ProviderRecord(id="old", kind="runpod", base="https://o")])
    client = make_client(registry=registry)
    entries = [
        {"id": "new", "base_url": "https://n", "name": "New", "config": {"api_key": "K"},
         "last_health": {"ok": False, "ts": 1}},
        "not an object", {"base_url": "https://no-id"}, {"id": "no-base"},
        {"id": "bad id!", "base_url": "https://x"},
        {"id": "v1", "kind": "vast", "base": "https://v", "meta": {"cost_per_minute": 0.2}},
    ]  # fmt: skip
    body = ok(client.post("/api/providers/import", json={"providers": entries, "replace": True}))
    assert body["imported"] == ["new", "v1"]
    assert [(s["index"], s["id"]) for s in body["skipped"]] == [(4, "bad id!")]
    assert [p["id"] for p in body["providers"]] == ["new", "v1"]
    assert body["providers"][0]["last_health"] == {"ok": None, "ts": None}  # health is observed, never declared
    kept = ok(client.post("/api/providers/import", json={"providers": [{"id": "new", "base_url": "https://z"}],
                                                         "overwrite": False}))  # fmt: skip
    assert kept["imported"] == [] and kept["skipped"][0]["detail"] == "provider 'new' already exists"
    for bad, detail in (({}, "import payload must contain a list of providers"),
                        ({"providers": {}}, "payload.providers must be a list"),
                        ({"providers": [], "replace": "yes"}, "replace")):  # fmt: skip
        answer = client.post("/api/providers/import", json=bad)
        assert answer.status_code == 400 and detail in answer.json()["detail"]


def test_inactive_providers_leave_the_advisor_and_the_planner(make_client: ClientFactory) -> None:
    records = [ProviderRecord(id="rp", kind="runpod", base="stub://rp", meta={"active": False}),
               ProviderRecord(id="vast", kind="vast", base="stub://v", meta={"priority": 1})]  # fmt: skip
    client = make_client(flag=True, providers=records, gpus=[RTX_4090])
    advice = client.post("/api/compute/advise", json={"job": {"width": 4096, "height": 4096},
                                                      "allow_remote": True}).json()  # fmt: skip
    assert advice["device"] == "remote:vast"
    planned = client.post("/api/compute/plan", json={"job": {"width": 1024, "height": 1024}}).json()
    assert "remote:rp" not in [c["device"] for c in planned["candidates"]]
    assert "remote:vast" in [c["device"] for c in planned["candidates"]]
    priced = client.post("/api/compute/costs", json={"job": {"queue": "remote", "provider_id": "rp",
                                                             "duration_minutes": 1}}).json()  # fmt: skip
    assert priced["estimate"]["provider"]["id"] == "rp"  # still priced when named


def test_select_follows_the_rules_in_order_and_writes_nothing_but_sticky(make_client: ClientFactory) -> None:
    client = make_client(gpus=[RTX_4090], policy=GpuPolicy(mode="auto"))
    auto = ok(client.post("/api/gpu/select"))["choice"]
    assert (auto["id"], auto["reason"], auto["kind"], auto["memory_total"]) == ("gpu:0", "auto", "gpu", 24564)
    too_big = ok(client.post("/api/gpu/select", json={"requirements": {"min_vram_gb": 32}}))["choice"]
    assert (too_big["id"], too_big["reason"]) == ("cpu", "auto")
    preferred = ok(client.post("/api/gpu/select", json={"prefer": "cpu"}))["choice"]
    assert (preferred["id"], preferred["reason"], preferred["available"]) == ("cpu", "preferred", True)
    cuda = ok(client.post("/api/gpu/select", json={"prefer": "cuda:0"}))["choice"]
    assert (cuda["id"], cuda["reason"]) == ("gpu:0", "preferred")
    ghost = ok(client.post("/api/gpu/select", json={"prefer": "remote:none"}))["choice"]
    assert ghost["reason"] == "auto"
    assert client.post("/api/gpu/select", json={"requirements": {"min_vram_gb": -1}}).status_code == 400
    policy = client.get("/api/gpu/policy").json()["policy"]
    assert policy == {"mode": "auto", "preferred_id": None, "manual_device": "cpu"}  # no last_selected written


def test_advise_chooses_local_remote_or_cpu_with_the_reasons(make_client: ClientFactory) -> None:
    runpod = ProviderRecord(id="runpod", kind="remote", base="stub://r", meta={
        "name": "RunPod", "service": "runpod", "vram_gb": 24, "cost": {"hourly_usd": 0.46},
        "cost_per_minute": 0.03, "policy_hints": {"cg_batch": "Batch it."}})  # fmt: skip
    workload = {"workload": {"type": "CG_Batch", "requirements": {"min_vram_gb": 6, "estimated_minutes": 30}}}
    off = make_client(providers=[runpod], gpus=[RTX_4090])
    advice = ok(off.post("/api/gpu/advise", json=workload))["advice"]
    assert (advice["choice"], advice["target"], advice["device"]) == ("local", "gpu", "gpu:0")
    assert advice["reason"] == (
        "Workload classified as 'cg_batch'; Minimum VRAM requested: 6.0 GB; Estimated runtime 30 minutes; "
        "Local device NVIDIA GeForce RTX 4090 (24564 MiB) meets requirements; "
        "Suggested remote provider: RunPod (runpod) ~$0.90 per job; Batch it."
    )
    assert advice["remote_candidate"]["cost_estimate"] == 0.9 and advice["remote_candidate"]["score"] is None
    assert advice["estimated_cost"] == "$0.90" and advice["analysis"]["recommended_remote_id"] == "runpod"
    remote = ok(off.post("/api/gpu/advise", json={**workload, "prefer_remote": "true"}))["advice"]
    assert remote["choice"] == "local" and remote["reason"].endswith("compute feature disabled")  # flag off
    flag_on = make_client(flag=True, providers=[runpod], gpus=[RTX_4090])
    chosen = ok(flag_on.post("/api/gpu/advise", json={**workload, "prefer_remote": "on"}))["advice"]
    assert (chosen["choice"], chosen["device"], chosen["job_summary"]["recommended_provider"]) == (
        "remote", "remote:runpod", "runpod")  # fmt: skip
    false = ok(flag_on.post("/api/gpu/advise", json={**workload, "prefer_remote": "false"}))["advice"]
    assert false["choice"] == "local"  # "false" is off (ComfyVN took it as on)
    override = ok(flag_on.post("/api/gpu/advise", json={**workload, "hardware_override": 1}))["advice"]
    assert (override["choice"], override["override"], override["fallback"]["id"]) == ("cpu", "cpu", "runpod")
    assert override["reason"].endswith("user override requested CPU fallback")
    no_gpu = ok(make_client(flag=True).post("/api/gpu/advise", json={"prefer_remote": True}))["advice"]
    assert no_gpu["reason"] == ("Estimated runtime 30 minutes; Remote processing requested but no active providers "
                                "registered")  # fmt: skip
    for bad, field in (({"workload": []}, "workload"), ({"workload": {"requirements": 1}}, "workload.requirements"),
                       ({"workload": {"requirements": {"min_vram_gb": "x"}}}, "min_vram_gb")):  # fmt: skip
        answer = off.post("/api/gpu/advise", json=bad)
        assert answer.status_code == 400 and field in answer.json()["detail"]
