"""Properties of the cost math (contract §4.4-§4.5), over arbitrary inputs and provider rates."""

from __future__ import annotations

import math
from typing import Any

import msgspec
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from computeadvisor.domain.costs import CostInputs, CostParts, cost_parts, preview_cost
from computeadvisor.domain.errors import FieldError
from computeadvisor.domain.providers import ProviderRecord

RATE_KEYS = ("cost_per_minute", "egress_cost_per_gb", "ingress_cost_per_gb", "vram_cost_per_gb_minute")
JOB_FIELDS = {"duration_sec", "bytes_tx", "bytes_rx", "vram_gb"}
# Each strategy mixes everyday magnitudes with the whole finite range, where products and sums overflow.
rates = st.floats(min_value=0, max_value=100) | st.floats(min_value=0, max_value=1e308)
queues = st.sampled_from(["local", "remote", "other"])
durations = st.floats(min_value=0, max_value=1e6) | st.floats(min_value=0, max_value=1.7e308)
byte_counts = st.integers(min_value=0, max_value=2**40) | st.integers(min_value=0, max_value=2**63 - 1)
vrams = st.none() | st.floats(min_value=0, max_value=512) | st.floats(min_value=0, max_value=1.7e308)


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


def priced(job: CostInputs, provider: ProviderRecord | None) -> CostParts | None:
    """The parts, or None when the cost overflows (which must be a FieldError naming a job field)."""
    try:
        return cost_parts(job, provider)
    except FieldError as exc:
        assert exc.field in JOB_FIELDS
        return None


@given(inputs(), providers())
def test_a_cost_is_finite_or_a_field_error(job: CostInputs, provider: ProviderRecord | None) -> None:
    parts = priced(job, provider)
    if parts is None:
        with pytest.raises(FieldError, match="not a finite number"):
            preview_cost(job, provider, feature_enabled=True)
        return
    values = msgspec.structs.asdict(parts)
    assert all(math.isfinite(v) for v in values.values() if isinstance(v, float))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"duration_sec": 1e308}, "duration_sec"),
        ({"vram_gb": 1e308}, "vram_gb"),
        ({"bytes_tx": 2**63 - 1, "duration_sec": 0}, "bytes_tx"),
        ({"duration_sec": 1e308, "vram_gb": 1e308}, "duration_sec"),
    ],
)
def test_overflow_names_the_field(changes: dict[str, Any], field: str) -> None:
    meta = {"cost_per_minute": 1e300, "egress_cost_per_gb": 1e300, "vram_cost_per_gb_minute": 1e300}
    job = CostInputs(**{"queue": "remote", "provider_id": "p", "duration_sec": 60.0, **changes})
    with pytest.raises(FieldError) as raised:
        cost_parts(job, ProviderRecord(id="p", meta=meta))
    assert raised.value.field == field


@given(inputs(), providers())
def test_components_are_non_negative_and_total_is_their_sum(job: CostInputs, provider: ProviderRecord | None) -> None:
    parts = priced(job, provider)
    assume(parts is not None)
    assert parts is not None
    assert parts.base_cost >= 0 and parts.transfer_cost >= 0 and parts.vram_cost >= 0
    assert parts.total == parts.base_cost + parts.transfer_cost + parts.vram_cost
    preview = preview_cost(job, provider, feature_enabled=True)
    assert preview.estimate == round(parts.base_cost + parts.transfer_cost + parts.vram_cost, 4)
    assert preview.estimate >= 0
    assert all(isinstance(v, float) for v in (preview.breakdown.base_cost, preview.breakdown.gb_tx))


@given(inputs(), providers(), st.floats(min_value=0, max_value=100, allow_nan=False))
def test_linear_in_duration_for_time_based_parts(job: CostInputs, provider: ProviderRecord | None, k: float) -> None:
    one = priced(job, provider)
    scaled = priced(CostInputs(**{**_fields(job), "duration_sec": job.duration_sec * k}), provider)
    assume(one is not None and scaled is not None)
    assert one is not None and scaled is not None
    tolerance = 1e-9 * max(1.0, abs(one.base_cost + one.vram_cost) * k)
    assert abs(scaled.base_cost - k * one.base_cost) <= tolerance
    assert abs(scaled.vram_cost - k * one.vram_cost) <= tolerance
    assert scaled.transfer_cost == one.transfer_cost


@given(inputs(), providers(), st.sampled_from(RATE_KEYS), rates)
def test_monotone_in_every_rate(job: CostInputs, provider: ProviderRecord | None, key: str, extra: float) -> None:
    base = provider or ProviderRecord(id="p")
    lower = priced(job, base)
    assume(lower is not None)
    assert lower is not None
    raised_meta = dict(base.meta)
    current = float(raised_meta.get(key, lower.ingress_rate if key == "ingress_cost_per_gb" else 0.0))
    if key == "egress_cost_per_gb" and "ingress_cost_per_gb" not in raised_meta:
        raised_meta["ingress_cost_per_gb"] = lower.ingress_rate  # keep ingress fixed: it defaults to egress
    if key == "cost_per_minute" and key not in raised_meta:
        current = lower.base_rate
    assume(math.isfinite(current + extra))  # a stored rate is always finite (validated on save)
    raised_meta[key] = current + extra
    higher = priced(job, ProviderRecord(id="p", kind=base.kind, meta=raised_meta))
    assert higher is None or higher.total >= lower.total  # None: it overflowed, which is higher still


@given(inputs(), providers(), byte_counts, byte_counts)
def test_monotone_in_bytes(job: CostInputs, provider: ProviderRecord | None, more_tx: int, more_rx: int) -> None:
    bigger = CostInputs(**{**_fields(job), "bytes_tx": job.bytes_tx + more_tx, "bytes_rx": job.bytes_rx + more_rx})
    smaller = priced(job, provider)
    assume(smaller is not None)
    assert smaller is not None
    larger = priced(bigger, provider)
    assert larger is None or larger.total >= smaller.total


@given(inputs(), st.text(min_size=1, max_size=5))
def test_currency_is_upper_cased(job: CostInputs, currency: str) -> None:
    provider = ProviderRecord(id="p", meta={"currency": currency})
    assume(priced(job, provider) is not None)
    preview = preview_cost(job, provider, feature_enabled=False)
    assert preview.currency == currency.upper()


def _fields(job: CostInputs) -> dict[str, Any]:
    return {f: getattr(job, f) for f in job.__struct_fields__}


def test_scheduler_completion_examples_share_the_function() -> None:
    meta = {"cost_per_minute": 0.5, "egress_cost_per_gb": 0.25, "vram_cost_per_gb_minute": 0.05}
    job = CostInputs(
        queue="remote", provider_id="x", duration_sec=180, bytes_tx=1073741824, bytes_rx=134217728, vram_gb=12
    )
    assert round(cost_parts(job, ProviderRecord(id="x", meta=meta)).total, 4) == 3.5812
