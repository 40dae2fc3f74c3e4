"""Properties of the advisor (contract §3.4-§3.6) over arbitrary jobs, contexts and policies."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from computeadvisor.domain.advisor import AdvisorContext, advise, derive_context, job_pixels, parse_advise_request
from computeadvisor.domain.hardware import GpuInfo
from computeadvisor.domain.policy import GpuPolicy, select_gpu

dims = st.none() | st.integers(min_value=-10, max_value=10000) | st.sampled_from(["abc", "512", " 64 ", 0, 1.5])
jobs = st.fixed_dictionaries(
    {},
    optional={
        "width": dims,
        "height": dims,
        "pixels": dims,
        "vram_gb": st.none() | st.floats(min_value=-5, max_value=100, allow_nan=False) | st.just("x"),
        "min_vram_gb": st.floats(min_value=0, max_value=100),
        "provider_id": st.sampled_from(["a", "b", "zz"]),
    },
)
contexts = st.builds(
    AdvisorContext,
    has_gpu=st.booleans(),
    local_queue_depth=st.integers(min_value=0, max_value=10),
    remote_available=st.booleans(),
    remote_queue_depth=st.integers(min_value=0, max_value=12),
    local_vram_gb=st.floats(min_value=0, max_value=80, allow_nan=False),
)
gpu_lists = st.lists(
    st.builds(
        GpuInfo, id=st.integers(0, 3), mem_total=st.integers(0, 81920), mem_free=st.none() | st.integers(0, 8192)
    ),
    max_size=3,
    unique_by=lambda g: g.id,
)
device_ids = st.sampled_from(["cpu", "gpu:0", "gpu:1", "gpu:7"])
policies = st.builds(
    GpuPolicy,
    mode=st.sampled_from(["auto", "manual", "sticky"]),
    preferred_id=st.none() | device_ids,
    manual_device=device_ids,
    sticky_device=st.none() | device_ids,
)
remote_ids = st.lists(st.sampled_from(["a", "b", "c"]), unique=True, max_size=3)


@given(jobs, contexts, st.booleans(), st.booleans(), policies, gpu_lists, remote_ids)
def test_decision_is_one_of_three_and_equals_target(
    job: dict[str, Any],
    ctx: AdvisorContext,
    allow: bool,
    flag: bool,
    policy: GpuPolicy,
    gpus: list[GpuInfo],
    remotes: list[str],
) -> None:
    advice = advise(
        job, ctx, allow_remote=allow, feature_enabled=flag, policy=policy, gpus=gpus, remote_provider_ids=remotes
    )
    assert advice.decision in ("cpu", "gpu", "remote")
    assert advice.target == advice.decision
    if not ctx.has_gpu:
        assert advice.decision != "gpu"
        assert advice.decision == "cpu"
    if not flag or not allow:
        assert advice.decision != "remote"
        assert advice.remote_allowed is False
    if advice.decision == "remote":
        assert advice.device.startswith("remote")
        assert advice.remote_allowed is True
    if advice.decision == "gpu":
        assert advice.device.startswith("gpu:")
    if advice.decision == "cpu":
        assert advice.device == "cpu"


@given(jobs, contexts, policies, gpu_lists)
def test_policy_pin_never_yields_gpu(
    job: dict[str, Any], ctx: AdvisorContext, policy: GpuPolicy, gpus: list[GpuInfo]
) -> None:
    pinned = GpuPolicy(mode="manual", manual_device="cpu", preferred_id=policy.preferred_id)
    advice = advise(job, ctx, allow_remote=False, feature_enabled=False, policy=pinned, gpus=gpus)
    assert advice.decision != "gpu"


@given(policies, gpu_lists)
def test_selected_gpu_is_present(policy: GpuPolicy, gpus: list[GpuInfo]) -> None:
    selected = select_gpu(policy, gpus)
    assert (selected is None) == (not gpus)
    if selected is not None:
        assert selected in gpus
        if policy.mode == "auto" and policy.preferred_id not in [g.device_id for g in gpus]:
            best = max((g.mem_free or 0) for g in gpus)
            assert (selected.mem_free or 0) == best
            assert selected.id == min(g.id for g in gpus if (g.mem_free or 0) == best)


@given(st.dictionaries(st.sampled_from(["job", "allow_remote", "prefer_remote", "debug", "x"]), st.booleans()))
def test_parse_removes_control_keys_from_the_job(body: dict[str, Any]) -> None:
    job = parse_advise_request(body).job
    assert set(job) <= {"x"}


def test_pixels_rules() -> None:
    assert job_pixels({"pixels": "abc", "width": 600, "height": 600}) == 360000
    assert job_pixels({"pixels": 100, "width": 8000, "height": 8000}) == 100
    assert job_pixels({"pixels": -5}) == 1
    assert job_pixels({"pixels": 2.9}) == 2
    assert job_pixels({"width": "abc", "height": 10}) == 262144
    assert job_pixels({"width": 0, "height": 10}) == 262144
    assert job_pixels({}) == 262144


@given(st.lists(st.integers(min_value=0, max_value=200_000), max_size=4), st.integers(0, 50), st.integers(0, 50))
def test_the_host_context_reads_the_selected_gpu(mem_totals: list[int], local: int, remote: int) -> None:
    gpus = [GpuInfo(id=i, mem_total=m, mem_free=m) for i, m in enumerate(mem_totals)]
    selected = select_gpu(GpuPolicy(), gpus)
    ctx = derive_context(gpus, selected, local_queue_depth=local, remote_queue_depth=remote, remote_available=True)
    assert ctx.has_gpu is bool(gpus)
    assert (ctx.local_queue_depth, ctx.remote_queue_depth, ctx.remote_available) == (local, remote, True)
    assert ctx.local_vram_gb == (round(selected.mem_total / 1024, 2) if selected and selected.mem_total else 0.0)
