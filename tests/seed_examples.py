"""The seed's worked examples (contract §4.9 A and the seed's advise call) and the contract's fixed objects, shared by
the HTTP, e2e and CLI tests."""

from __future__ import annotations

from typing import Any

FEATURE_OFF: dict[str, Any] = {"feature": "enable_compute", "enabled": False}
FEATURE_ON: dict[str, Any] = {"feature": "enable_compute", "enabled": True}
DEFAULT_POLICY: dict[str, Any] = {"mode": "auto", "preferred_id": None, "manual_device": "cpu"}

RUNPOD_DEV: dict[str, Any] = {
    "id": "runpod-dev",
    "kind": "runpod",
    "base": "https://api.runpod.io/v2",
    "meta": {
        "cost_per_minute": 0.12,
        "egress_cost_per_gb": 0.09,
        "vram_cost_per_gb_minute": 0.001,
        "pricing_url": "https://runpod.io/pricing",
    },
}
SEED_COST_JOB: dict[str, Any] = {
    "queue": "remote",
    "provider_id": "runpod-dev",
    "duration_minutes": 4.5,
    "bytes_tx": 1073741824,
    "bytes_rx": 67108864,
    "vram_gb": 16,
}
SEED_COST_BREAKDOWN: dict[str, float] = {
    "duration_minutes": 4.5,
    "base_rate_per_minute": 0.12,
    "base_cost": 0.54,
    "gb_tx": 1.0,
    "gb_rx": 0.0625,
    "egress_rate_per_gb": 0.09,
    "ingress_rate_per_gb": 0.09,
    "transfer_cost": 0.0956,
    "vram_gb": 16.0,
    "vram_rate_per_gb_minute": 0.001,
    "vram_cost": 0.072,
}
SEED_COST_PROVIDER: dict[str, Any] = {
    "id": "runpod-dev",
    "kind": "runpod",
    "base": "https://api.runpod.io/v2",
    "label": "runpod-dev",
    "queue": "remote",
    "pricing_url": "https://runpod.io/pricing",
    "notes": None,
}
SEED_COST_HINTS: list[str] = [
    "Provider runpod-dev (runpod) - estimates in USD.",
    "Base: 4.50 min @ 0.120 USD/min ~= 0.54 USD",
    "Transfer: 1.000 GB out / 0.062 GB in ~= 0.10 USD (egress 0.090).",
    "VRAM surcharge: 16.00 GB @ 0.001 per GB-min ~= 0.07 USD.",
]
SEED_COST_INPUTS: dict[str, Any] = {
    "queue": "remote",
    "provider_id": "runpod-dev",
    "duration_sec": 270.0,
    "bytes_tx": 1073741824,
    "bytes_rx": 67108864,
    "vram_gb": 16.0,
}
