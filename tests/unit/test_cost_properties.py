"""Properties of the cost math (contract §4.4-§4.5), over arbitrary inputs and provider rates."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from computeadvisor.domain.costs import CostInputs, cost_parts, preview_cost
from computeadvisor.domain.providers import ProviderRecord

RATE_KEYS = ("cost_per_minute", "egress_cost_per_gb", "ingress_cost_per_gb", "vram_cost_per_gb_minute")
rates = st.floats(min_value=0, max_value=100, allow_nan=False)
queues = st.sampled_from(["local", "remote", "other"])
durations = st.floats(min_value=0, max_value=1e6, allow_nan=False)
byte_counts = st.integers(min_value=0, max_value=2**40)
vrams = st.none() | st.floats(min_value=0, max_value=512, allow_nan=False)


@st.composite
def providers(draw: st.DrawFn) -> ProviderRecord | None:
    if draw(st.booleans()):
        return None
    meta: dict[str, Any] = {k: draw(rates) for k in RATE_KEYS if draw(st.booleans())}
    if draw(st.booleans()):
        meta["default_vram_gb"] = draw(st.floats(min_value=0, max_value=80))
    if draw(st.booleans()):
        meta["currency"] = draw(st.sampled_from(["eur", "usd", "Gbp", ""]))
    return ProviderRecord(id="p", kind=draw(st.sampled_from(["runpod", "", "local"])), meta=meta)


@st.composite
def inputs(draw: st.DrawFn) -> CostInputs:
    return CostInputs(
        queue=draw(queues),
        provider_id="p",
        duration_sec=draw(durations),
        bytes_tx=draw(byte_counts),
        bytes_rx=draw(byte_counts),
        vram_gb=draw(vrams),
    )


@given(inputs(), providers())
def test_components_are_non_negative_and_total_is_their_sum(job: CostInputs, provider: ProviderRecord | None) -> None:
    parts = cost_parts(job, provider)
    assert parts.base_cost >= 0 and parts.transfer_cost >= 0 and parts.vram_cost >= 0
    assert parts.total == parts.base_cost + parts.transfer_cost + parts.vram_cost
    preview = preview_cost(job, provider, feature_enabled=True)
    assert preview.estimate == round(parts.base_cost + parts.transfer_cost + parts.vram_cost, 4)
    assert preview.estimate >= 0
    assert all(isinstance(v, float) for v in (preview.breakdown.base_cost, preview.breakdown.gb_tx))


@given(inputs(), providers(), st.floats(min_value=0, max_value=100, allow_nan=False))
def test_linear_in_duration_for_time_based_parts(job: CostInputs, provider: ProviderRecord | None, k: float) -> None:
    one = cost_parts(job, provider)
    scaled = cost_parts(CostInputs(**{**_fields(job), "duration_sec": job.duration_sec * k}), provider)
    tolerance = 1e-9 * max(1.0, abs(one.base_cost + one.vram_cost) * k)
    assert abs(scaled.base_cost - k * one.base_cost) <= tolerance
    assert abs(scaled.vram_cost - k * one.vram_cost) <= tolerance
    assert scaled.transfer_cost == one.transfer_cost


@given(inputs(), providers(), st.sampled_from(RATE_KEYS), rates)
def test_monotone_in_every_rate(job: CostInputs, provider: ProviderRecord | None, key: str, extra: float) -> None:
    base = provider or ProviderRecord(id="p")
    lower = cost_parts(job, base)
    raised_meta = dict(base.meta)
    current = float(raised_meta.get(key, lower.ingress_rate if key == "ingress_cost_per_gb" else 0.0))
    if key == "egress_cost_per_gb" and "ingress_cost_per_gb" not in raised_meta:
        raised_meta["ingress_cost_per_gb"] = lower.ingress_rate  # keep ingress fixed: it defaults to egress
    if key == "cost_per_minute" and key not in raised_meta:
        current = lower.base_rate
    raised_meta[key] = current + extra
    higher = cost_parts(job, ProviderRecord(id="p", kind=base.kind, meta=raised_meta))
    assert higher.total >= lower.total


@given(inputs(), providers(), byte_counts, byte_counts)
def test_monotone_in_bytes(job: CostInputs, provider: ProviderRecord | None, more_tx: int, more_rx: int) -> None:
    bigger = CostInputs(**{**_fields(job), "bytes_tx": job.bytes_tx + more_tx, "bytes_rx": job.bytes_rx + more_rx})
    assert cost_parts(bigger, provider).total >= cost_parts(job, provider).total


@given(inputs(), st.text(min_size=1, max_size=5))
def test_currency_is_upper_cased(job: CostInputs, currency: str) -> None:
    preview = preview_cost(job, ProviderRecord(id="p", meta={"currency": currency}), feature_enabled=False)
    assert preview.currency == currency.upper()


def _fields(job: CostInputs) -> dict[str, Any]:
    return {f: getattr(job, f) for f in job.__struct_fields__}


def test_scheduler_completion_examples_share_the_function() -> None:
    meta = {"cost_per_minute": 0.5, "egress_cost_per_gb": 0.25, "vram_cost_per_gb_minute": 0.05}
    job = CostInputs(
        queue="remote", provider_id="x", duration_sec=180, bytes_tx=1073741824, bytes_rx=134217728, vram_gb=12
    )
    assert round(cost_parts(job, ProviderRecord(id="x", meta=meta)).total, 4) == 3.5812
