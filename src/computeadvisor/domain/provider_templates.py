"""The twelve provider presets of the ComfyVN Studio's "Template: Select…" list (§16.2), as data in one table.

A template fills a record's defaults when a §16 write creates it (or carries ``meta``) and its id or service names
the template: the template's ``metadata`` minus ``auth_fields``, with the body's ``meta`` over it. The hint and
notice sentences are this project's own words.
"""

from __future__ import annotations

from typing import Any

import msgspec

_SUPPORTS = {"L": "supports_large_assets", "P": "supports_persistent_storage", "R": "supports_long_running",
             "B": "supports_short_burst"}  # fmt: skip
_ABSENT = object()
"""A VRAM bound or region list the template leaves out (the key is absent, not null)."""

_HINTS = {
    "voice_synthesis": "Short voice lines render quickly; batch several per job to amortise start-up.",
    "cg_batch": "Large CG batches suit long-running GPUs with room for the models and the assets.",
    "translation": "Translation passes are light; any GPU with the model loaded keeps up.",
    "dialogue_authoring": "Dialogue drafts run well on a local quantised model, with no data leaving the machine.",
}
_EGRESS = "Moving renders out of this cloud is billed per GB; keep assets and outputs in the same region."


class ProviderTemplate(msgspec.Struct, frozen=True, kw_only=True):
    """One preset, exactly the keys the Studio reads (§16.2)."""

    id: str
    name: str
    kind: str
    service: str
    base_url: str
    gpu: str
    fields: list[str]
    priority: int
    metadata: dict[str, Any]
    policy_hints: dict[str, str]
    preferred_workloads: list[str]


def _template(
    id: str, name: str, kind: str, service: str, base_url: str, gpu: str, fields: list[str], priority: int,
    cost: tuple[float, int], vram: tuple[Any, Any], tier: int, supports: str, regions: Any, workloads: list[str],
    **extra: Any,
) -> ProviderTemplate:  # fmt: skip
    hint_keys = ("dialogue_authoring", "translation") if id == "local_llm" else (
        "voice_synthesis", "cg_batch", "translation")  # fmt: skip
    hints = {key: _HINTS[key] for key in hint_keys}
    metadata: dict[str, Any] = {"cost": {"hourly_usd": cost[0], "billing_increment_minutes": cost[1]}}
    for key, bound in zip(("min_vram_gb", "max_vram_gb"), vram, strict=True):
        if bound is not _ABSENT:
            metadata[key] = bound
    metadata["cost_tier"] = tier
    if regions is not _ABSENT:
        metadata["regions"] = regions
    metadata.update({flag: letter in supports for letter, flag in _SUPPORTS.items()})
    metadata.update(extra)
    metadata.update(gpu=gpu, auth_fields=list(fields), policy_hints=hints, preferred_workloads=list(workloads))
    return ProviderTemplate(id=id, name=name, kind=kind, service=service, base_url=base_url, gpu=gpu,
                            fields=list(fields), priority=priority, metadata=metadata, policy_hints=hints,
                            preferred_workloads=list(workloads))  # fmt: skip


_ = _ABSENT
TEMPLATES: tuple[ProviderTemplate, ...] = (
    _template("local", "Local ComfyUI", "local", "comfyui", "http://127.0.0.1:8188", "auto", [], 0,
              (0.0, 0), (None, _), 0, "LPRB", _, ["voice_synthesis", "translation"]),
    _template("local_llm", "Local LLM Runtime", "local", "llm_local", "http://127.0.0.1:5005", "cpu", [], 5,
              (0.0, 0), (None, None), 0, "LPRB", _, ["dialogue_authoring", "translation"],
              model_formats=["gguf", "ggml", "ollama"],
              notes="An offline llama.cpp or ollama style runtime on this machine, for drafting dialogue."),
    _template("runpod", "RunPod", "remote", "runpod", "https://api.runpod.io/v2/", "A10G", ["api_key"], 10,
              (0.46, 1), (12, 24), 2, "RB", ["us-west", "eu-central"], ["voice_synthesis"]),
    _template("vast", "Vast.ai", "remote", "vast.ai", "https://api.vast.ai/v0/", "RTX4090", ["api_key"], 20,
              (0.39, 60), (16, 48), 1, "LPR", ["marketplace"], ["cg_batch"]),
    _template("lambda", "Lambda Labs", "remote", "lambda", "https://cloud.lambdalabs.com/api/v1/", "A100",
              ["api_key"], 30, (1.10, 60), (24, 80), 3, "LPR", ["us-east", "us-west"], ["cg_batch"]),
    _template("aws", "AWS EC2", "remote", "aws", "https://ec2.amazonaws.com", "g5.xlarge",
              ["access_key", "secret_key", "region"], 40, (1.05, 60), (24, 48), 3, "LPR", ["global"], ["cg_batch"],
              egress_notice=_EGRESS),
    _template("azure", "Azure NV", "remote", "azure", "https://management.azure.com", "NC4as_T4_v3",
              ["tenant_id", "client_id", "client_secret", "subscription_id"], 50, (1.00, 60), (16, 48), 3, "LPR",
              ["regional"], ["translation", "cg_batch"], egress_notice=_EGRESS),
    _template("coreweave", "CoreWeave", "remote", "coreweave", "https://api.coreweave.com", "A40",
              ["api_key", "organization_id"], 55, (0.95, 60), (24, 48), 3, "LPRB", ["us-east", "us-west"],
              ["cg_batch", "voice_synthesis"]),
    _template("google", "Google Cloud", "remote", "gcp", "https://compute.googleapis.com", "a2-highgpu-1g",
              ["project_id", "service_account_json", "region"], 65, (0.85, 60), (16, 40), 3, "LPR", ["global"],
              ["cg_batch", "translation"], egress_notice=_EGRESS),
    _template("paperspace", "Paperspace", "remote", "paperspace", "https://api.paperspace.io", "A4000",
              ["api_key", "project"], 60, (0.78, 60), (16, 32), 2, "LPRB", ["nyc3", "ams1"],
              ["cg_batch", "voice_synthesis"]),
    _template("unraid", "unRAID / LAN Node", "remote", "lan", "http://unraid.local:8001", "local",
              ["endpoint", "api_token"], 70, (0.0, 0), (8, 24), 0, "LPRB", ["on-prem"],
              ["cg_batch", "voice_synthesis", "translation"]),
    _template("onprem_ssh", "On-Prem SSH/NFS", "remote", "ssh", "ssh://gpu-host", "custom",
              ["hostname", "username", "ssh_key_path", "nfs_mount"], 80, (0.0, 0), (8, None), 0, "LPRB",
              ["on-prem"], ["translation", "cg_batch"]),
)  # fmt: skip
del _


def find_template(name: str | None) -> ProviderTemplate | None:
    """The first template, in table order, whose id or service is ``name`` (case-insensitive), or None."""
    if not name:
        return None
    wanted = name.strip().lower()
    return next((t for t in TEMPLATES if wanted in (t.id.lower(), t.service.lower())), None)


def template_defaults(template: ProviderTemplate) -> dict[str, Any]:
    """The ``meta`` a template gives a record: its metadata without ``auth_fields`` (§2.6 would mask it)."""
    return {key: value for key, value in msgspec.to_builtins(template.metadata).items() if key != "auth_fields"}
