"""The planner's pure parts (§10.1, §10.3, §10.5): work size, the run-time model, ranking and the reason."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from computeadvisor.domain.errors import FieldError
from computeadvisor.domain.planner import Candidate, Cost, rank, recommendation, with_limits
from computeadvisor.domain.runtime_model import (
    Basis,
    Comparison,
    LearnedRate,
    PlaceRecord,
    Rate,
    Window,
    accuracy,
    basis,
    quantile,
)
from computeadvisor.domain.work import work_size

DEFAULT = Basis(source="default", model=None, samples=0, seconds_per_unit=Rate(p50=0.4, p90=0.6))
seconds = st.floats(min_value=0, max_value=1e6, allow_nan=False)
rates = st.floats(min_value=1e-3, max_value=1e3, allow_nan=False)


def candidate(device: str = "gpu:0", *, wait: float = 0.0, transfer: float = 0.0, run: float = 10.0,
              cost: float = 0.0, blockers: list[str] | None = None) -> Candidate:  # fmt: skip
    target: Any = "cpu" if device == "cpu" else device.split(":")[0]
    return Candidate(
        device=device,
        target=target,
        label=device,
        blockers=blockers or [],
        wait_s=wait,
        transfer_s=transfer,
        run_s=Rate(p50=run, p90=run * 1.5),
        cost=Cost(estimate=cost, currency="USD"),
        basis=DEFAULT,
    )


# -- work size (§10.1) -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("job", "units"),
    [
        ({}, 20.0),  # 1024 × 1024 at 20 steps
        ({"width": 2048, "height": 1152, "steps": 30}, 2048 * 1152 / 2**20 * 30),
        ({"pixels": 2**20, "steps": 10, "batch_size": 2, "frames": 3}, 60.0),
        ({"width": "512", "height": 512, "steps": "40"}, 10.0),
        ({"work_units": 7.5, "width": 4096, "height": 4096}, 7.5),
    ],
)
def test_work_units_are_megapixel_steps(job: dict[str, Any], units: float) -> None:
    assert work_size(job).work_units == pytest.approx(units)


@pytest.mark.parametrize("field", ["width", "steps", "batch", "frames", "work_units", "pixels"])
@pytest.mark.parametrize("value", [0, -1, "abc", float("inf"), True, [1]])
def test_a_bad_size_is_a_field_error(field: str, value: Any) -> None:
    with pytest.raises(FieldError) as raised:
        work_size({field: value})
    assert raised.value.field == f"job.{field}"


# -- the run-time model (§10.3) --------------------------------------------------------------------------------


def test_quantiles_interpolate_linearly_between_order_statistics() -> None:
    assert quantile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert quantile([1.0, 2.0, 3.0, 4.0], 0.9) == pytest.approx(3.7)
    assert quantile([5.0], 0.9) == 5.0


@given(st.lists(rates, min_size=1, max_size=60))
def test_p90_is_never_below_p50(samples: list[float]) -> None:
    window = Window()
    for value in samples:
        window = window.add(value)
    rate = window.rate()
    assert rate is not None and rate.p90 >= rate.p50


@given(st.lists(rates, min_size=1, max_size=60), rates)
def test_a_new_sample_moves_the_median_toward_itself(samples: list[float], new: float) -> None:
    window = Window(values=tuple(samples))
    before, after = window.rate(), window.add(new).rate()
    assert before is not None and after is not None
    low, high = min(before.p50, new), max(before.p50, new)
    assert low - 1e-9 <= after.p50 <= high + 1e-9


def test_the_window_keeps_the_most_recent_samples() -> None:
    window = Window()
    for value in range(10):
        window = window.add(float(value), limit=4)
    assert window.values == (6.0, 7.0, 8.0, 9.0)


def learned(place: str, model: str | None, *values: float) -> LearnedRate:
    record = PlaceRecord(window=Window(values=values))
    return record.learned(place, model)


def test_below_min_samples_the_declared_then_default_rate_is_used() -> None:
    few = learned("cpu", None, 1.0, 2.0)
    assert basis("cpu", few, None, None) == Basis(
        source="default", model=None, samples=2, seconds_per_unit=Rate(p50=12.0, p90=18.0)
    )
    declared = basis("remote:rp", few, None, None, declared=0.2)
    assert (declared.source, declared.seconds_per_unit.p50) == ("declared", 0.2)
    assert declared.seconds_per_unit.p90 == pytest.approx(0.3)
    assert basis("gpu:0", None, None, None).seconds_per_unit.p50 == 0.4


def test_a_model_with_enough_samples_is_predicted_from_its_own() -> None:
    overall = learned("gpu:0", None, *(1.0,) * 10)
    sdxl = learned("gpu:0", "sdxl", *(3.0,) * 5)
    assert basis("gpu:0", overall, sdxl, "sdxl").seconds_per_unit.p50 == 3.0
    assert basis("gpu:0", overall, sdxl, "sdxl").model == "sdxl"
    few = learned("gpu:0", "sdxl", *(3.0,) * 4)
    fallback = basis("gpu:0", overall, few, "sdxl")
    assert (fallback.model, fallback.seconds_per_unit.p50, fallback.samples) == (None, 1.0, 10)


def test_accuracy_on_its_own_record() -> None:
    assert accuracy([]).predictions == 0 and accuracy([]).p90_coverage is None
    record = [
        Comparison(p50=10, p90=15, actual=10),  # 0 %, covered
        Comparison(p50=10, p90=15, actual=20),  # 50 %, not covered
        Comparison(p50=10, p90=15, actual=8),  # 25 %, covered
    ]
    result = accuracy(record)
    assert (result.predictions, result.median_abs_error_pct, result.p90_coverage) == (3, 25.0, 0.6667)


# -- candidates, ranking and the reason (§10.2, §10.5) -------------------------------------------------------


@given(seconds, seconds, seconds)
def test_eta_is_wait_plus_transfer_plus_run(wait: float, transfer: float, run: float) -> None:
    c = candidate(wait=wait, transfer=transfer, run=run)
    assert c.eta_s.p50 == pytest.approx(wait + transfer + run, abs=1e-3)
    assert c.eta_s.p90 == pytest.approx(wait + transfer + run * 1.5, abs=1e-3)


@st.composite
def candidate_lists(draw: st.DrawFn) -> list[Candidate]:
    count = draw(st.integers(min_value=1, max_value=8))
    return [
        candidate(
            f"remote:p{i}",
            wait=draw(seconds),
            run=draw(seconds),
            cost=draw(st.floats(min_value=0, max_value=100)),
            blockers=draw(st.sampled_from([[], [], ["over budget"]])),
        )
        for i in range(count)
    ]


@given(candidate_lists(), st.sampled_from(["fastest", "cheapest", "balanced"]), st.floats(min_value=0, max_value=50))
def test_feasible_first_then_ordered_by_the_objective(
    candidates: list[Candidate], objective: Any, value: float
) -> None:
    ranked = rank(candidates, objective, value)
    assert [c.rank for c in ranked] == list(range(1, len(candidates) + 1))
    assert sorted(c.device for c in ranked) == sorted(c.device for c in candidates)
    feasible = [c.feasible for c in ranked]
    assert feasible == sorted(feasible, reverse=True)  # every feasible one before any infeasible one

    def score(c: Candidate) -> float:
        if objective == "fastest":
            return c.eta_s.p50
        if objective == "cheapest":
            return c.cost.estimate
        return c.cost.estimate + c.eta_s.p50 / 3600 * value

    for group in (True, False):
        scores = [score(c) for c in ranked if c.feasible is group]
        assert scores == sorted(scores)


def test_deadline_and_budget_make_a_place_infeasible() -> None:
    slow = with_limits(candidate("cpu", run=100.0, cost=0.0), deadline_s=60, budget=None)
    dear = with_limits(candidate("remote:rp", run=10.0, cost=2.0), deadline_s=60, budget=1.0)
    fine = with_limits(candidate("gpu:0", run=10.0), deadline_s=60, budget=1.0)
    assert slow.blockers == ["misses the deadline"] and not slow.feasible
    assert dear.blockers == ["over budget"] and not dear.feasible
    assert fine.feasible and fine.blockers == []


def test_the_reason_names_the_winner_and_the_runner_up() -> None:
    ranked = rank([candidate("gpu:0", run=42.0), candidate("remote:runpod-dev", run=96.0, cost=0.0456)], "fastest")
    assert recommendation(ranked) == (
        "gpu:0",
        "gpu:0 finishes in ~42 s at 0.00 USD; next best remote:runpod-dev ~1.6 min at 0.0456 USD",
    )


def test_with_no_feasible_place_there_is_no_recommendation() -> None:
    ranked = rank([candidate("cpu", blockers=["misses the deadline"])], "fastest")
    assert recommendation(ranked) == (None, "no feasible placement: cpu misses the deadline")


@given(st.lists(st.tuples(st.floats(min_value=0.1, max_value=100), rates), min_size=1, max_size=40))
def test_a_record_compares_only_predictions_made_from_enough_history(jobs: list[tuple[float, float]]) -> None:
    record = PlaceRecord()
    for n, (units, rate) in enumerate(jobs):
        before = record
        record = record.learn(units, units * rate, completed_ts=float(n), min_samples=5)
        assert record.window.values[-1] == pytest.approx(rate)  # the sample joined the window
        grew = len(record.comparisons) - len(before.comparisons)
        assert grew == (1 if len(before.window.values) >= 5 else 0)
        if grew:  # judged against the window as it stood, not including the job itself
            expected = before.window.rate()
            assert expected is not None
            assert record.comparisons[-1].p50 == pytest.approx(expected.p50 * units)
    assert len(record.comparisons) == max(0, len(jobs) - 5)
    assert record.last_completed_ts == float(len(jobs) - 1)


def test_a_record_refuses_a_job_without_size_or_duration() -> None:
    with pytest.raises(ValueError, match="must be > 0"):
        PlaceRecord().learn(0.0, 10.0, completed_ts=0.0)
