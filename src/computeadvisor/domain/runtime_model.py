"""The planner's run-time model (§10.3) and its record of its own accuracy (§10.6), as pure functions.

A job's size is its *work units* (megapixel-steps, :func:`computeadvisor.domain.planner.work_size`). Each place
(``cpu``, ``gpu:<n>``, ``remote:<provider>``) keeps a rolling window of the seconds per unit its finished jobs took,
overall and per model; a prediction is the window's p50 and p90 times the job's units. With fewer than
``min_samples`` samples the place falls back to the provider's declared rate, else a default rate per kind of place.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import msgspec

WINDOW = 500
"""Most recent samples (and accuracy comparisons) kept per place and per (place, model)."""
MIN_SAMPLES = 5
DEFAULT_SECONDS_PER_UNIT = {"cpu": 12.0, "gpu": 0.4, "remote": 0.4}
FALLBACK_P90_FACTOR = 1.5
"""p90 = 1.5 × p50 for declared and default rates, which have no spread of their own."""

Source = Literal["history", "declared", "default"]


class Rate(msgspec.Struct, frozen=True, kw_only=True):
    """Seconds per work unit (or seconds, once multiplied by the units) at the median and the 90th percentile."""

    p50: float
    p90: float

    def times(self, factor: float) -> Rate:
        """This rate scaled by ``factor`` (a job's work units)."""
        return Rate(p50=self.p50 * factor, p90=self.p90 * factor)


class Basis(msgspec.Struct, frozen=True, kw_only=True):
    """Where a prediction comes from (§10.2 ``basis``)."""

    source: Source
    model: str | None
    samples: int
    seconds_per_unit: Rate


class Window(msgspec.Struct, frozen=True, kw_only=True):
    """The most recent seconds-per-unit samples of one place (or place and model), oldest first."""

    values: tuple[float, ...] = ()

    def add(self, seconds_per_unit: float, limit: int = WINDOW) -> Window:
        """The window with one more sample, the oldest dropped past ``limit``."""
        return Window(values=(*self.values, seconds_per_unit)[-limit:])

    def rate(self) -> Rate | None:
        """The samples' p50 and p90; None without samples."""
        if not self.values:
            return None
        ordered = sorted(self.values)
        return Rate(p50=quantile(ordered, 0.5), p90=quantile(ordered, 0.9))


def quantile(ordered: Sequence[float], q: float) -> float:
    """The ``q`` quantile of sorted values, interpolating linearly between order statistics (numpy's default)."""
    if not ordered:
        raise ValueError("no values")
    if not 0 <= q <= 1:
        raise ValueError("q must be in [0, 1]")
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def place_kind(place: str) -> Literal["cpu", "gpu", "remote"]:
    """The kind of a place id: ``cpu``, ``gpu:<n>`` or ``remote:<provider>``."""
    if place == "cpu":
        return "cpu"
    return "gpu" if place.startswith("gpu:") else "remote"


def fallback_rate(place: str, declared: float | None) -> tuple[Source, Rate]:
    """The declared seconds per unit (a provider's ``meta.seconds_per_unit``) or the default for its kind."""
    source: Source = "declared" if declared is not None else "default"
    p50 = declared if declared is not None else DEFAULT_SECONDS_PER_UNIT[place_kind(place)]
    return source, Rate(p50=p50, p90=p50 * FALLBACK_P90_FACTOR)


def basis(
    place: str,
    overall: Window,
    by_model: Window | None,
    model: str | None,
    *,
    declared: float | None = None,
    min_samples: int = MIN_SAMPLES,
) -> Basis:
    """How a place predicts a job of ``model`` (§10.3).

    The (place, model) window when the job names a model and it has ``min_samples``, else the place's whole window
    when that has enough, else the declared or default rate. ``samples`` counts the window that was considered last.
    """
    if model is not None and by_model is not None and len(by_model.values) >= min_samples:
        rate = by_model.rate()
        if rate is not None:
            return Basis(source="history", model=model, samples=len(by_model.values), seconds_per_unit=rate)
    rate = overall.rate()
    if rate is not None and len(overall.values) >= min_samples:
        return Basis(source="history", model=None, samples=len(overall.values), seconds_per_unit=rate)
    source, fallback = fallback_rate(place, declared)
    return Basis(source=source, model=None, samples=len(overall.values), seconds_per_unit=fallback)


class Comparison(msgspec.Struct, frozen=True, kw_only=True):
    """One prediction the model made from history, set against what then happened (seconds)."""

    predicted: Rate
    actual: float


class Accuracy(msgspec.Struct, frozen=True, kw_only=True):
    """The model judged on its own record (§10.6): null figures until there is a comparison."""

    predictions: int
    median_abs_error_pct: float | None
    p90_coverage: float | None


def accuracy(comparisons: Sequence[Comparison]) -> Accuracy:
    """Median absolute error of the p50 in % of the actual run time, and the share of actuals ≤ the p90."""
    usable = [c for c in comparisons if c.actual > 0]
    if not usable:
        return Accuracy(predictions=0, median_abs_error_pct=None, p90_coverage=None)
    errors = sorted(abs(c.predicted.p50 - c.actual) / c.actual * 100 for c in usable)
    covered = sum(c.actual <= c.predicted.p90 for c in usable)
    return Accuracy(
        predictions=len(usable),
        median_abs_error_pct=round(quantile(errors, 0.5), 2),
        p90_coverage=round(covered / len(usable), 4),
    )


class PlaceRecord(msgspec.Struct, frozen=True, kw_only=True):
    """What the model learned for one place, or one (place, model): the samples and its own record (§10.6)."""

    window: Window = Window()
    comparisons: tuple[Comparison, ...] = ()
    last_completed_ts: float | None = None

    def learn(
        self, work_units: float, duration_s: float, completed_ts: float, *, min_samples: int = MIN_SAMPLES
    ) -> PlaceRecord:
        """This record after one more finished job of ``work_units`` that ran ``duration_s`` seconds.

        Before the sample joins the window, the prediction the window would have made for the job (when it had
        ``min_samples``) is set against what happened, so the record judges the model as it stood.
        """
        if work_units <= 0 or duration_s <= 0:
            raise ValueError("work_units and duration_s must be > 0")
        comparisons = self.comparisons
        rate = self.window.rate()
        if rate is not None and len(self.window.values) >= min_samples:
            comparisons = (*comparisons, Comparison(predicted=rate.times(work_units), actual=duration_s))[-WINDOW:]
        return PlaceRecord(
            window=self.window.add(duration_s / work_units),
            comparisons=comparisons,
            last_completed_ts=completed_ts,
        )
