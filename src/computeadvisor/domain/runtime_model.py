"""The planner's run-time model (§10.3) and its record of its own accuracy (§10.6), as pure functions.

A job's size is its *work units* (megapixel-steps, :mod:`computeadvisor.domain.work`). Each place (``cpu``,
``gpu:<n>``, ``remote:<provider>``) keeps a rolling window of the seconds per unit its finished jobs took, overall
and per model (:class:`PlaceRecord`); a prediction is the window's p50 and p90 times the job's units. With fewer
than ``min_samples`` samples the place falls back to the provider's declared rate, else a default rate per kind of
place. Stores keep one record per (place, model) key, with its :class:`LearnedRate` beside it so that a plan reads
a handful of numbers, never the samples.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

import msgspec

from computeadvisor.domain.jobs import Job, JobStatus
from computeadvisor.domain.values import iso_utc
from computeadvisor.domain.work import payload_units

WINDOW = 500
"""Most recent samples (and accuracy comparisons) kept per place and per (place, model)."""
MIN_SAMPLES = 5
DEFAULT_SECONDS_PER_UNIT = {"cpu": 12.0, "gpu": 0.4, "remote": 0.4}
FALLBACK_P90_FACTOR = 1.5
"""p90 = 1.5 × p50 for declared and default rates, which have no spread of their own."""
MAX_PLACES = 64
"""Places the model remembers; past it the place that finished a job longest ago is forgotten, with its models."""
MAX_MODELS_PER_PLACE = 32
"""Models remembered per place; past it the model that finished a job longest ago is forgotten."""
MAX_MODEL_NAME = 128

Source = Literal["history", "declared", "default"]
Key = tuple[str, str | None]
"""(place, model); model None is the place's entry over every model."""

_LOCAL_PLACE = re.compile(r"cpu|gpu:[0-9]+")


class Rate(msgspec.Struct, frozen=True, kw_only=True):
    """Seconds per work unit (or seconds, once multiplied by the units) at the median and the 90th percentile."""

    p50: float
    p90: float

    def times(self, factor: float, digits: int | None = None) -> Rate:
        """This rate scaled by ``factor`` (a job's work units), rounded to ``digits`` when given."""
        if digits is None:
            return Rate(p50=self.p50 * factor, p90=self.p90 * factor)
        return Rate(p50=round(self.p50 * factor, digits), p90=round(self.p90 * factor, digits))


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
        # Rounded to 12 decimals: the interpolation's float noise (3.1500000000000004) is not information.
        return Rate(p50=round(quantile(ordered, 0.5), 12), p90=round(quantile(ordered, 0.9), 12))


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
    return source, Rate(p50=p50, p90=round(p50 * FALLBACK_P90_FACTOR, 12))


class LearnedRate(msgspec.Struct, frozen=True, kw_only=True):
    """What one (place, model) key has learned, in brief: its sample count and per-unit quantiles."""

    place: str
    model: str | None
    samples: int
    seconds_per_unit: Rate
    last_completed_ts: float


def basis(
    place: str,
    overall: LearnedRate | None,
    by_model: LearnedRate | None,
    model: str | None,
    *,
    declared: float | None = None,
    min_samples: int = MIN_SAMPLES,
) -> Basis:
    """How a place predicts a job of ``model`` (§10.3).

    The (place, model) history when the job names a model and it has ``min_samples``, else the place's whole
    history when that has enough, else the declared or default rate. ``samples`` counts what was considered last.
    """
    if model is not None and by_model is not None and by_model.samples >= min_samples:
        rate = by_model.seconds_per_unit
        return Basis(source="history", model=model, samples=by_model.samples, seconds_per_unit=rate)
    samples = overall.samples if overall is not None else 0
    if overall is not None and samples >= min_samples:
        return Basis(source="history", model=None, samples=samples, seconds_per_unit=overall.seconds_per_unit)
    source, fallback = fallback_rate(place, declared)
    return Basis(source=source, model=None, samples=samples, seconds_per_unit=fallback)


class RunModel:
    """The learned rates of every key, looked up by (place, model).

    Answers are remembered (up to ``MEMO_SIZE`` of them), so a model kept while the rates are unchanged answers a
    repeated question with a dictionary look-up.
    """

    MEMO_SIZE = 1024

    def __init__(self, rates: Iterable[LearnedRate] = (), *, min_samples: int = MIN_SAMPLES) -> None:
        self._rates: dict[Key, LearnedRate] = {(r.place, r.model): r for r in rates}
        self.min_samples = min_samples
        self._memo: dict[tuple[str, str | None, float | None], Basis] = {}

    def basis(self, place: str, model: str | None, declared: float | None = None) -> Basis:
        """How ``place`` predicts a job of ``model`` (None: any model)."""
        key = (place, model, declared)
        found = self._memo.get(key)
        if found is None:
            by_model = self._rates.get((place, model)) if model is not None else None
            overall = self._rates.get((place, None))
            found = basis(place, overall, by_model, model, declared=declared, min_samples=self.min_samples)
            if len(self._memo) >= self.MEMO_SIZE:
                self._memo.clear()
            self._memo[key] = found
        return found


class Comparison(msgspec.Struct, frozen=True, kw_only=True, array_like=True):
    """One prediction the model made from history (seconds), set against what then happened."""

    p50: float
    p90: float
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
    errors = sorted(abs(c.p50 - c.actual) / c.actual * 100 for c in usable)
    covered = sum(c.actual <= c.p90 for c in usable)
    return Accuracy(
        predictions=len(usable),
        median_abs_error_pct=round(quantile(errors, 0.5), 2),
        p90_coverage=round(covered / len(usable), 4),
    )


class ModelEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One entry of ``GET /api/compute/model`` (§10.6)."""

    place: str
    model: str | None
    samples: int
    seconds_per_unit: Rate
    last_completed_at: str
    accuracy: Accuracy


class PlaceRecord(msgspec.Struct, frozen=True, kw_only=True):
    """What the model learned for one place, or one (place, model): the samples and its own record (§10.6)."""

    window: Window = Window()
    comparisons: tuple[Comparison, ...] = ()
    last_completed_ts: float = 0.0

    def learn(
        self, work_units: float, duration_s: float, completed_ts: float, *, min_samples: int = MIN_SAMPLES
    ) -> PlaceRecord:
        """This record after one more finished job of ``work_units`` that ran ``duration_s`` seconds.

        Before the sample joins the window, the prediction the window would have made for the job (when it had
        ``min_samples``) is set against what happened, so the record judges the model as it stood.
        """
        if not (work_units > 0 and duration_s > 0):
            raise ValueError("work_units and duration_s must be > 0")
        comparisons = self.comparisons
        rate = self.window.rate() if len(self.window.values) >= min_samples else None
        if rate is not None:
            seen = Comparison(p50=rate.p50 * work_units, p90=rate.p90 * work_units, actual=duration_s)
            comparisons = (*comparisons, seen)[-WINDOW:]
        return PlaceRecord(
            window=self.window.add(duration_s / work_units),
            comparisons=comparisons,
            last_completed_ts=completed_ts,
        )

    def learned(self, place: str, model: str | None) -> LearnedRate:
        """The brief of this record (it must hold at least one sample)."""
        rate = self.window.rate()
        if rate is None:
            raise ValueError("a record without samples has learned nothing")
        return LearnedRate(
            place=place,
            model=model,
            samples=len(self.window.values),
            seconds_per_unit=rate,
            last_completed_ts=self.last_completed_ts,
        )

    def entry(self, place: str, model: str | None) -> ModelEntry:
        """This record as §10.6 shows it, with its accuracy."""
        brief = self.learned(place, model)
        return ModelEntry(
            place=place,
            model=model,
            samples=brief.samples,
            seconds_per_unit=brief.seconds_per_unit,
            last_completed_at=iso_utc(self.last_completed_ts),
            accuracy=accuracy(self.comparisons),
        )


def model_entries(records: Iterable[tuple[str, str | None, PlaceRecord]]) -> list[ModelEntry]:
    """§10.6's entries of (place, model, record) triples, sorted by place then model (the place's own first)."""
    ordered = sorted(records, key=lambda item: (item[0], item[1] is not None, item[1] or ""))
    return [record.entry(place, model) for place, model, record in ordered]


class Lesson(msgspec.Struct, frozen=True, kw_only=True):
    """What one succeeded job teaches: its place, model, size and run time (§10.3)."""

    place: str
    model: str | None
    work_units: float
    duration_s: float
    completed_ts: float

    def taught(self) -> tuple[Key, ...]:
        """The entries it teaches: the place's, and the (place, model)'s when the job named a model."""
        return ((self.place, None),) if self.model is None else ((self.place, None), (self.place, self.model))


def model_name(value: object) -> str | None:
    """A job's ``model`` as the model keys it: a non-empty string of at most 128 characters, trimmed."""
    if not isinstance(value, str):
        return None
    name = value.strip()
    return name if 0 < len(name) <= MAX_MODEL_NAME else None


def job_place(job: Job) -> str | None:
    """Where a finished job ran: its ``device_id`` (``cpu``, ``gpu:<n>``) locally, ``remote:<provider_id>``."""
    if job.queue == "remote":
        return f"remote:{job.provider_id}" if job.provider_id else None
    return job.device_id if job.device_id is not None and _LOCAL_PLACE.fullmatch(job.device_id) else None


def lesson_of(job: Job) -> Lesson | None:
    """What a finished job teaches, or None: only ``succeeded`` jobs with a duration, a place and a valid size."""
    if job.status != JobStatus.SUCCEEDED or not job.duration_sec or job.duration_sec <= 0:
        return None
    place = job_place(job)
    units = payload_units(job.payload)
    if place is None or units is None or job.completed_ts is None:
        return None
    return Lesson(
        place=place,
        model=model_name(job.payload.get("model")),
        work_units=units,
        duration_s=job.duration_sec,
        completed_ts=job.completed_ts,
    )


def teach(
    records: Mapping[Key, PlaceRecord], lesson: Lesson, *, min_samples: int = MIN_SAMPLES
) -> dict[Key, PlaceRecord]:
    """The records of the lesson's keys after it (a key missing from ``records`` starts empty)."""
    return {
        key: records.get(key, PlaceRecord()).learn(
            lesson.work_units, lesson.duration_s, lesson.completed_ts, min_samples=min_samples
        )
        for key in lesson.taught()
    }


def evictions(last_completed: Mapping[Key, float]) -> list[Key]:
    """The keys to forget so that at most ``MAX_PLACES`` places and ``MAX_MODELS_PER_PLACE`` models per place
    remain, those that finished a job longest ago first (a forgotten place takes its models with it)."""
    places = sorted((ts, place) for (place, model), ts in last_completed.items() if model is None)
    gone = {place for _, place in places[: max(0, len(places) - MAX_PLACES)]}
    forget = [key for key in last_completed if key[0] in gone]
    by_place: dict[str, list[tuple[float, str]]] = {}
    for (place, model), ts in last_completed.items():
        if model is not None and place not in gone:
            by_place.setdefault(place, []).append((ts, model))
    for place, models in by_place.items():
        models.sort()
        forget.extend((place, model) for _, model in models[: max(0, len(models) - MAX_MODELS_PER_PLACE)])
    return forget
