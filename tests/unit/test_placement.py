"""The plan request (§10.1) and every place with its blockers, defaults and cost (§10.2-§10.5), worked examples."""

from __future__ import annotations

from typing import Any

import pytest

from computeadvisor.domain.errors import FieldError
from computeadvisor.domain.hardware import GpuInfo
from computeadvisor.domain.placement import Places, plan, provider_facts, remote_places
from computeadvisor.domain.plan_request import parse_plan_request
from computeadvisor.domain.policy import GpuPolicy
from computeadvisor.domain.providers import ProviderRecord
from computeadvisor.domain.runtime_model import PlaceRecord, RunModel
from computeadvisor.domain.waiting import Workload

GPU0 = GpuInfo(id=0, name="RTX 4090", mem_total=24 * 1024)
GPU1 = GpuInfo(id=1, name="RTX 3060", mem_total=12 * 1024)
RUNPOD = ProviderRecord(id="runpod", kind="runpod", base="https://api.runpod.io",
                        meta={"label": "RunPod", "cost_per_minute": 0.02, "vram_gb": 48, "startup_s": 20,
                              "seconds_per_unit": 0.2, "concurrency": 2})  # fmt: skip
SLOW = ProviderRecord(id="cheap", kind="custom", meta={"cost_per_minute": 0.001, "seconds_per_unit": 0.6})
PLACES = Places(cpu_name="Ryzen 9", gpus=(GPU0, GPU1), providers=remote_places((RUNPOD, SLOW)))


def answer(body: dict[str, Any], places: Places = PLACES, model: RunModel | None = None) -> Any:
    return plan(parse_plan_request(body), places, model or RunModel(), Workload(), now=0.0)


def by_device(result: Any) -> dict[str, Any]:
    return {c.device: c for c in result.candidates}


def test_defaults_rank_every_place_by_its_default_rate() -> None:
    result = answer({"allow_remote": True})  # 1024 × 1024, 20 steps: 20 units
    assert result.job.work_units == 20.0 and result.job.vram_gb is None and result.job.priority == 0
    places = by_device(result)
    assert list(places) == ["gpu:0", "gpu:1", "remote:cheap", "remote:runpod", "cpu"]  # by p50 ETA
    assert places["cpu"].run_s.p50 == 240.0 and places["cpu"].run_s.p90 == 360.0
    assert places["cpu"].basis.source == "default" and places["cpu"].label == "Ryzen 9"
    assert places["gpu:0"].run_s.p50 == 8.0 and places["gpu:0"].label == "RTX 4090"
    runpod = places["remote:runpod"]
    assert runpod.basis.source == "declared" and runpod.run_s.p50 == 4.0 and runpod.wait_s == 20.0
    assert runpod.eta_s.p50 == 24.0 and runpod.label == "RunPod"
    assert runpod.cost.estimate == round(4.0 / 60 * 0.02, 4) and runpod.cost.currency == "USD"
    assert result.recommendation == "gpu:0"
    assert result.reason == "gpu:0 finishes in ~8 s at 0.00 USD; next best gpu:1 ~8 s at 0.00 USD"
    assert [c.rank for c in result.candidates] == [1, 2, 3, 4, 5]


def test_remote_places_are_blocked_without_offload_or_with_the_flag_off() -> None:
    off = by_device(answer({}))
    assert off["remote:runpod"].blockers == ["remote offload disabled"] and not off["remote:runpod"].feasible
    flag_off = by_device(
        answer({"allow_remote": True}, Places(providers=remote_places((RUNPOD,)), feature_enabled=False))
    )
    assert flag_off["remote:runpod"].blockers == ["compute feature disabled"]


def test_an_unhealthy_provider_stays_a_candidate_with_its_blocker() -> None:
    places = Places(providers=remote_places((RUNPOD,)), unhealthy=frozenset({"runpod"}))
    assert by_device(answer({"prefer_remote": "1"}, places))["remote:runpod"].blockers == ["last health check failed"]


def test_vram_blocks_gpus_and_providers_with_the_inclusive_slack() -> None:
    places = by_device(answer({"job": {"vram_gb": 24.5}, "allow_remote": True}))
    assert places["gpu:0"].feasible  # 24.5 on 24 GiB passes
    assert places["gpu:1"].blockers == ["not enough VRAM (needs 24.5 GiB, has 12.0 GiB)"]
    assert places["remote:runpod"].feasible and places["remote:cheap"].feasible  # cheap states no VRAM
    big = by_device(answer({"job": {"min_vram_gb": "60"}, "allow_remote": True}))
    assert big["remote:runpod"].blockers == ["not enough VRAM (needs 60.0 GiB, has 48.0 GiB)"]
    assert big["cpu"].feasible


def test_the_gpu_policy_blocks_gpus_as_the_advisor_would() -> None:
    pinned = Places(gpus=(GPU0, GPU1), policy=GpuPolicy(mode="manual", manual_device="cpu"))
    places = by_device(answer({}, pinned))
    assert places["gpu:0"].blockers == places["gpu:1"].blockers == ["GPU policy pins CPU"]
    assert answer({}, pinned).recommendation == "cpu"
    manual = Places(gpus=(GPU0, GPU1), policy=GpuPolicy(mode="manual", manual_device="gpu:1"))
    places = by_device(answer({}, manual))
    assert places["gpu:0"].blockers == ["GPU policy selects gpu:1"] and places["gpu:1"].feasible


def test_deadline_budget_and_no_feasible_place() -> None:
    result = answer({"job": {"steps": 200}, "deadline_s": 1, "budget": 0})
    assert result.recommendation is None  # the rank-1 place is the one with the earliest ETA, blocked or not
    assert result.reason == (
        "no feasible placement: remote:runpod remote offload disabled; misses the deadline; over budget"
    )
    local = answer({"job": {"steps": 200}, "deadline_s": 1}, Places(gpus=(GPU0,)))
    assert local.reason == "no feasible placement: gpu:0 misses the deadline"


def test_cheapest_and_balanced_objectives() -> None:
    cheapest = answer({"objective": "cheapest", "allow_remote": True})
    assert cheapest.candidates[0].cost.estimate == 0 and cheapest.candidates[0].device == "gpu:0"
    slow_start = ProviderRecord(id="cheap", kind="custom", meta={**SLOW.meta, "startup_s": 60})
    no_gpu = Places(
        providers=remote_places((RUNPOD, slow_start))
    )  # cpu 240 s free; runpod 24 s 0.0013; cheap 72 s 0.0002
    balanced = answer({"objective": "balanced", "time_value_per_hour": 1000, "allow_remote": True}, no_gpu)
    assert balanced.recommendation == "remote:runpod"  # time is dear: the fast one, though it costs more
    thrifty = answer({"objective": "balanced", "time_value_per_hour": 0.01, "allow_remote": True}, no_gpu)
    assert thrifty.recommendation == "remote:cheap"
    free = answer({"objective": "balanced", "time_value_per_hour": 0, "allow_remote": True}, no_gpu)
    assert free.recommendation == "cpu"  # time is worth nothing: the place that costs nothing


def test_transfer_time_uses_the_providers_bandwidth() -> None:
    provider = ProviderRecord(id="p", kind="custom", meta={"bandwidth_mbps": 8})
    result = answer({"job": {"bytes_tx": 1_000_000, "bytes_rx": 1_000_000}, "allow_remote": True},
                    Places(providers=remote_places((provider,))))  # fmt: skip
    assert by_device(result)["remote:p"].transfer_s == 2.0  # 16 Mbit at 8 Mbit/s


def test_history_replaces_the_default_rate() -> None:
    record = PlaceRecord()
    for n in range(5):
        record = record.learn(10, 3.0, completed_ts=float(n))
    model = RunModel([record.learned("gpu:1", None)])
    places = by_device(answer({}, model=model))
    assert places["gpu:1"].basis.source == "history" and places["gpu:1"].run_s.p50 == 6.0
    assert answer({}, model=model).recommendation == "gpu:1"


def test_invalid_stored_planner_facts_read_as_their_defaults() -> None:
    facts = provider_facts(ProviderRecord(id="old", meta={"seconds_per_unit": "fast", "concurrency": 0,
                                                          "bandwidth_mbps": -1, "startup_s": None}))  # fmt: skip
    assert (facts.seconds_per_unit, facts.concurrency, facts.bandwidth_mbps, facts.startup_s) == (None, 1, 100.0, 0)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"job": 5}, "job"),
        ({"job": {"width": -1}}, "job.width"),
        ({"width": "wide"}, "job.width"),  # the whole body is the job
        ({"job": {"steps": float("nan")}}, "job.steps"),
        ({"job": {"model": 7}}, "job.model"),
        ({"job": {"vram_gb": -1}}, "job.vram_gb"),
        ({"job": {"required_vram_gb": "x"}}, "job.required_vram_gb"),
        ({"job": {"bytes_tx": -5}}, "job.bytes_tx"),
        ({"job": {"priority": 1.5}}, "job.priority"),
        ({"objective": "slowest"}, "objective"),
        ({"objective": ["fastest"]}, "objective"),
        ({"time_value_per_hour": -1}, "time_value_per_hour"),
        ({"deadline_s": 0}, "deadline_s"),
        ({"budget": "lots"}, "budget"),
        ({"job": {"width": 1e13}}, "job.width"),
        ({"job": {"frames": "2e12"}}, "job.frames"),
    ],
)
def test_bad_input_names_the_field(body: dict[str, Any], field: str) -> None:
    with pytest.raises(FieldError) as raised:
        parse_plan_request(body)
    assert raised.value.field == field


def test_a_price_that_overflows_names_the_jobs_field() -> None:
    provider = ProviderRecord(id="p", kind="custom", meta={"egress_cost_per_gb": 1e300})
    with pytest.raises(FieldError) as raised:
        answer({"job": {"bytes_tx": 1e300}, "allow_remote": True}, Places(providers=remote_places((provider,))))
    assert raised.value.field == "job.bytes_tx"
