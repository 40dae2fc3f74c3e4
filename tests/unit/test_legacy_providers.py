"""The Studio's legacy view and writes over the one registry (§16.1-§16.6), and the twelve templates (§16.2)."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from computeadvisor.domain import legacy_providers as legacy
from computeadvisor.domain.errors import FieldError, InvalidInput
from computeadvisor.domain.provider_templates import TEMPLATES, find_template, template_defaults
from computeadvisor.domain.providers import ProviderRecord, masked, remote_candidates


def test_twelve_templates_in_table_order_with_every_key() -> None:
    ids = [t.id for t in TEMPLATES]
    assert ids == ["local", "local_llm", "runpod", "vast", "lambda", "aws", "azure", "coreweave", "google",
                   "paperspace", "unraid", "onprem_ssh"]  # fmt: skip
    keys = ["id", "name", "kind", "service", "base_url", "gpu", "fields", "priority", "metadata", "policy_hints",
            "preferred_workloads"]  # fmt: skip
    for template in TEMPLATES:
        data = msgspec.to_builtins(template)
        assert list(data) == keys
        meta = data["metadata"]
        assert meta["auth_fields"] == data["fields"] and meta["gpu"] == data["gpu"]
        assert meta["policy_hints"] == data["policy_hints"] and all(meta["policy_hints"].values())
        assert {k for k in meta if k.startswith("supports_")} == {
            "supports_large_assets", "supports_persistent_storage", "supports_long_running", "supports_short_burst"
        }  # fmt: skip


def test_template_facts_follow_the_table() -> None:
    runpod = msgspec.to_builtins(find_template("RUNPOD"))
    assert runpod["metadata"]["cost"] == {"hourly_usd": 0.46, "billing_increment_minutes": 1}
    assert (runpod["metadata"]["min_vram_gb"], runpod["metadata"]["max_vram_gb"]) == (12, 24)
    assert [runpod["metadata"][f"supports_{k}"] for k in ("large_assets", "persistent_storage", "long_running",
                                                          "short_burst")] == [False, False, True, True]  # fmt: skip
    local = find_template("comfyui")
    assert local is not None and local.id == "local"
    assert local.metadata["min_vram_gb"] is None and "max_vram_gb" not in local.metadata
    assert "regions" not in local.metadata
    ssh = find_template("ssh")
    assert ssh is not None and ssh.metadata["max_vram_gb"] is None and ssh.metadata["min_vram_gb"] == 8
    llm = find_template("local_llm")
    assert llm is not None and llm.metadata["model_formats"] == ["gguf", "ggml", "ollama"] and llm.metadata["notes"]
    assert set(llm.policy_hints) == {"dialogue_authoring", "translation"}
    assert all("egress_notice" in find_template(t).metadata for t in ("aws", "azure", "gcp"))  # type: ignore[union-attr]
    assert [find_template(a).id for a in ("gcp", "vast.ai", "lan", "ssh")] == [  # type: ignore[union-attr]
        "google", "vast", "unraid", "onprem_ssh"
    ]  # fmt: skip
    assert find_template("nope") is None
    assert "auth_fields" not in template_defaults(find_template("aws"))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Local (8191)", "local-8191"), ("http://127.0.0.1:8002", "http1270018002"), ("  --  ", "provider"),
     ("My_Box-2", "my_box-2"), ("Café GPU", "caf-gpu"), ("__-x", "x"), ("a" * 70 + " b", "a" * 64),
     ("a" * 63 + " b", "a" * 63)],
)  # fmt: skip
def test_slug(text: str, expected: str) -> None:
    assert legacy.slug(text) == expected


def test_view_reads_the_reserved_keys_with_their_defaults() -> None:
    bare = legacy.legacy_view(ProviderRecord(id="rp", kind="runpod", base="https://r"))
    assert msgspec.to_builtins(bare) == {
        "id": "rp", "kind": "runpod", "base_url": "https://r", "name": "rp", "service": "runpod", "active": True,
        "priority": 999, "config": {}, "meta": {}, "last_health": {"ok": None, "ts": None},
    }  # fmt: skip
    meta = {"name": "RunPod EU", "service": "runpod", "active": False, "priority": 3, "region": "eu",
            "api_key": "k", "config": {"access_key": "AK", "region": "eu"}}  # fmt: skip
    view = legacy.legacy_view(ProviderRecord(id="rp", meta=meta), legacy.LastHealth(ok=False, ts=5, error="down"))
    assert (view.name, view.active, view.priority) == ("RunPod EU", False, 3)
    assert view.config == {"access_key": "***", "region": "eu"} and view.meta == {"region": "eu", "api_key": "***"}
    assert msgspec.to_builtins(view.last_health) == {"ok": False, "ts": 5, "error": "down"}
    odd = legacy.legacy_view(ProviderRecord(id="x", meta={"active": 0, "priority": True, "name": "", "config": []}))
    assert (odd.active, odd.priority, odd.name, odd.config) == (True, 999, "x", {})


def test_the_v1_view_masks_config_with_the_wider_rule() -> None:
    record = ProviderRecord(id="a", meta={"config": {"ssh_key_path": "/k", "nested": {"credential": "c"}},
                                          "ssh_key_path": "/k"})  # fmt: skip
    assert masked(record).meta == {"config": {"ssh_key_path": "***", "nested": {"credential": "***"}},
                                   "ssh_key_path": "/k"}  # fmt: skip


def test_inactive_providers_are_no_remote_candidates_and_preference_decides_the_order() -> None:
    records = [
        ProviderRecord(id="a", kind="runpod", meta={"priority": 20}),
        ProviderRecord(id="b", kind="runpod", meta={"active": False, "priority": 1}),
        ProviderRecord(id="c", kind="vast"),
        ProviderRecord(id="d", kind="lambda", meta={"priority": 5}),
        ProviderRecord(id="e", kind="local", meta={"priority": 0}),
    ]
    assert remote_candidates(records) == ["d", "a", "c"]
    assert remote_candidates(records, frozenset({"d"})) == ["a", "c"]


def register(body: dict[str, Any], records: list[ProviderRecord] | None = None) -> ProviderRecord:
    return legacy.register(body, records or [])


def test_register_creates_with_defaults_and_a_slugged_id() -> None:
    stored = [ProviderRecord(id="old", meta={"priority": 40}), ProviderRecord(id="v1")]
    record = register({"name": "Local (8191)", "base_url": "http://127.0.0.1:8191"}, stored)
    assert record == ProviderRecord(id="local-8191", kind="remote", base="http://127.0.0.1:8191",
                                    meta={"name": "Local (8191)", "priority": 50})  # fmt: skip
    assert register({"id": " any.Thing ", "endpoint": "stub://x"}).id == "any.Thing"  # given ids are not slugged
    assert register({"provider": "Any Thing", "endpoint": "stub://x"}).id == "any-thing"
    runpod = register({"id": "runpod", "base": "https://api.runpod.io/v2/", "config": {"api_key": "K"}})
    assert runpod.meta["cost"]["hourly_usd"] == 0.46 and runpod.meta["cost_per_minute"] == pytest.approx(0.46 / 60)
    assert runpod.meta["config"] == {"api_key": "K"} and "auth_fields" not in runpod.meta
    by_service = register({"id": "gpu-box", "service": "LAMBDA", "base_url": "https://l"})
    assert by_service.meta["service"] == "LAMBDA" and by_service.meta["cost_per_minute"] == pytest.approx(1.1 / 60)


def test_register_update_keeps_what_the_body_omits() -> None:
    first = register({"id": "rp", "name": "RP", "kind": "runpod", "base_url": "https://a", "active": False,
                      "priority": 7, "meta": {"region": "eu"}, "config": {"api_key": "K", "zone": "1"}})  # fmt: skip
    again = register({"id": "rp", "base_url": "https://b"}, [first])
    assert again == ProviderRecord(id="rp", kind="runpod", base="https://b", meta={
        **first.meta, "region": "eu"})  # fmt: skip
    assert again.meta["active"] is False and again.meta["config"] == {"api_key": "K", "zone": "1"}
    swapped = register({"id": "rp", "base_url": "https://b", "config": {"api_key": "***", "zone": "2",
                                                                        "secret_key": "***"}}, [first])  # fmt: skip
    assert swapped.meta["config"] == {"api_key": "K", "zone": "2"}  # a *** with nothing stored is dropped
    cleared = register({"id": "rp", "base_url": "https://b", "config": {}, "meta": {}, "active": True}, [first])
    assert "config" not in cleared.meta and "active" not in cleared.meta and "region" not in cleared.meta


@pytest.mark.parametrize(
    ("body", "field"),
    [({"id": "x"}, None), ({"id": "x", "base_url": "ftp://x"}, "base_url"), ({"id": "x", "base_url": "stub://x",
      "active": "yes"}, "active"), ({"id": "x", "base_url": "stub://x", "priority": "high"}, "priority"),
     ({"id": "x", "base_url": "stub://x", "meta": {"cost_per_minute": -1}}, "meta.cost_per_minute"),
     ({"id": "x", "base_url": "stub://x", "config": []}, "config"), ({"id": [1], "base_url": "stub://x"}, "id"),
     ({"id": "x" * 70, "base_url": "stub://x"}, "id"), ({"name": 3, "base_url": "stub://x"}, "name")],
)  # fmt: skip
def test_register_errors_name_the_field(body: dict[str, Any], field: str | None) -> None:
    with pytest.raises(InvalidInput) as error:
        register(body)
    if field is None:
        assert error.value.detail == "base_url is required"
    else:
        assert isinstance(error.value, FieldError) and error.value.field == field


def test_create_from_a_template() -> None:
    record = legacy.create({"template_id": "runpod", "config": {"api_key": "K"}}, [])
    assert (record.id, record.kind, record.base) == ("runpod", "remote", "https://api.runpod.io/v2/")
    assert record.meta["name"] == "RunPod" and record.meta["service"] == "runpod" and record.meta["priority"] == 10
    second = legacy.create({"template_id": "RunPod"}, [record])
    third = legacy.create({"template_id": "runpod"}, [record, second])
    assert (second.id, third.id) == ("runpod-2", "runpod-3")
    with pytest.raises(InvalidInput, match="provider 'runpod' already exists"):
        legacy.create({"template_id": "runpod", "id": "RunPod"}, [record])
    with pytest.raises(InvalidInput, match="template_id is required"):
        legacy.create({}, [])
    with pytest.raises(InvalidInput, match="template 'nope' not found"):
        legacy.create({"template_id": "nope"}, [])
    with pytest.raises(FieldError) as no_base:
        legacy.create({"template_id": "onprem_ssh"}, [])
    assert no_base.value.field == "base_url"
    lan = legacy.create({"template_id": "lan", "name": "Rack 2", "base_url": "http://10.0.0.2:8001",
                         "priority": 3, "active": False, "meta": {"max_vram_gb": 48}}, [])  # fmt: skip
    assert (lan.id, lan.meta["priority"], lan.meta["active"], lan.meta["max_vram_gb"]) == ("rack-2", 3, False, 48)


def test_order_and_activate() -> None:
    records = [ProviderRecord(id=i, meta={"priority": p}) for i, p in (("a", 10), ("b", 20), ("c", 30))]
    changed = legacy.reorder(records, {"order": ["c", "a", "ghost"]})
    assert [(r.id, r.meta["priority"]) for r in changed] == [("a", 1), ("c", 0)]
    assert legacy.reorder(records, {"order": ["a", "b", "a"]})[0].meta["priority"] == 2  # the last index wins
    for bad, message in ((None, "order must be a list of provider ids"), ("a", "order must be a list")):
        with pytest.raises(InvalidInput, match=message):
            legacy.reorder(records, {"order": bad})
    with pytest.raises(FieldError):
        legacy.reorder(records, {"order": ["a", 3]})
    off = legacy.set_active(records[0], False)
    assert off.meta == {"priority": 10, "active": False} and legacy.set_active(off, True).meta == {"priority": 10}
    assert legacy.parse_activate({"id": "a"}) == ("a", True)
    with pytest.raises(InvalidInput, match="id is required"):
        legacy.parse_activate({"active": True})
    with pytest.raises(FieldError):
        legacy.parse_activate({"id": "a", "active": "false"})


def test_an_export_without_secrets_leaves_them_out() -> None:
    record = ProviderRecord(id="a", meta={"api_key": "K", "region": "eu", "config": {"access_key": "A", "zone": "1"}})
    shown = legacy.export_view(record, legacy.NEVER_CHECKED, secrets=False)
    assert shown["meta"] == {"region": "eu"} and shown["config"] == {"zone": "1"}
    full = legacy.export_view(record, legacy.NEVER_CHECKED, secrets=True)
    assert full["meta"] == {"api_key": "K", "region": "eu"} and full["config"] == {"access_key": "A", "zone": "1"}
