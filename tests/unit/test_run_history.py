"""What finished jobs teach the model (§10.3) and what the waiting sees of the queues (§10.4), as pure functions."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from computeadvisor.domain.jobs import Job, JobStatus
from computeadvisor.domain.runtime_model import (
    MAX_MODELS_PER_PLACE,
    MAX_PLACES,
    PlaceRecord,
    RunModel,
    evictions,
    lesson_of,
    teach,
)
from computeadvisor.domain.waiting import (
    QueuedWork,
    RunningWork,
    Workload,
    local_waits,
    remote_ahead,
    remote_wait,
    workload_of,
)


def job(**changes: Any) -> Job:
    base = Job(
        id="j1", name="j1", queue="local", priority=0, sticky=False, sticky_device_id=None, device_id="gpu:0",
        provider_id="local", payload={"width": 1024, "height": 1024, "steps": 20}, meta={},
        status=JobStatus.SUCCEEDED, attempt=1, runs=(), worker_id="w", error=None, created_ts=0.0, updated_ts=10.0,
        started_ts=2.0, completed_ts=10.0, duration_sec=8.0, cost_estimate=0.0, bytes_tx=0, bytes_rx=0, vram_gb=None,
    )  # fmt: skip
    return msgspec.structs.replace(base, **changes)


# -- lessons -------------------------------------------------------------------------------------------------


def test_a_succeeded_job_teaches_its_place_its_size_and_its_model() -> None:
    lesson = lesson_of(job(payload={"width": 2048, "height": 1024, "steps": 10, "model": " sdxl "}))
    assert lesson is not None
    assert (lesson.place, lesson.model, lesson.work_units, lesson.duration_s) == ("gpu:0", "sdxl", 20.0, 8.0)
    assert lesson.taught() == (("gpu:0", None), ("gpu:0", "sdxl"))


def test_a_remote_job_teaches_its_provider() -> None:
    lesson = lesson_of(job(queue="remote", provider_id="runpod", device_id=None, payload={"work_units": 4}))
    assert lesson is not None and lesson.place == "remote:runpod" and lesson.taught() == (("remote:runpod", None),)


@pytest.mark.parametrize(
    "changes",
    [
        {"status": JobStatus.FAILED},
        {"status": JobStatus.CANCELLED},
        {"duration_sec": 0.0},
        {"device_id": None},  # a local job without a device has no place
        {"device_id": "tpu-7"},  # nor one on a device that is no planner place
        {"queue": "remote", "provider_id": None},
        {"payload": {"width": "wide"}},  # a size the rules refuse
    ],
)
def test_jobs_that_teach_nothing(changes: dict[str, Any]) -> None:
    assert lesson_of(job(**changes)) is None


def test_teaching_updates_the_place_and_the_model_entries() -> None:
    lesson = lesson_of(job(payload={"work_units": 10, "model": "flux"}, duration_sec=5.0))
    assert lesson is not None
    records = teach({}, lesson)
    assert set(records) == {("gpu:0", None), ("gpu:0", "flux")}
    assert all(r.window.values == (0.5,) for r in records.values())
    again = teach(records, lesson)
    assert all(r.window.values == (0.5, 0.5) for r in again.values())


def test_the_model_uses_a_model_entry_only_with_enough_samples() -> None:
    overall = PlaceRecord()
    sdxl = PlaceRecord()
    for n in range(6):
        overall = overall.learn(10, 10.0, completed_ts=n)
        if n < 4:
            sdxl = sdxl.learn(10, 30.0, completed_ts=n)
    model = RunModel([overall.learned("gpu:0", None), sdxl.learned("gpu:0", "sdxl")], min_samples=5)
    assert model.basis("gpu:0", "sdxl").model is None  # 4 sdxl samples: the place's own history
    assert model.basis("gpu:0", "sdxl").seconds_per_unit.p50 == 1.0
    model = RunModel([overall.learned("gpu:0", None), sdxl.learned("gpu:0", "sdxl")], min_samples=4)
    assert model.basis("gpu:0", "sdxl").seconds_per_unit.p50 == 3.0
    assert model.basis("remote:x", None, declared=0.25).source == "declared"


def test_evictions_keep_the_most_recent_places_and_models() -> None:
    seen: dict[tuple[str, str | None], float] = {}
    for n in range(MAX_PLACES + 2):
        seen[(f"remote:p{n}", None)] = float(n)
    seen[("remote:p0", "sdxl")] = 999.0  # goes with its place
    for n in range(MAX_MODELS_PER_PLACE + 1):
        seen[("remote:p10", f"m{n}")] = float(n)
    forget = set(evictions(seen))
    assert forget == {("remote:p0", None), ("remote:p1", None), ("remote:p0", "sdxl"), ("remote:p10", "m0")}


# -- waiting ------------------------------------------------------------------------------------------------


def test_the_workload_aggregates_queued_jobs_by_queue_place_and_priority() -> None:
    jobs = [
        job(id="a", status=JobStatus.QUEUED, device_id=None, payload={"work_units": 2}),
        job(id="b", status=JobStatus.QUEUED, device_id=None, payload={"work_units": 3}),
        job(id="c", status=JobStatus.QUEUED, device_id="gpu:1", priority=5, payload={"work_units": 4}),
        job(id="d", status=JobStatus.QUEUED, queue="remote", provider_id="rp", payload={"work_units": 1}),
        job(id="e", status=JobStatus.RUNNING, device_id="gpu:0", started_ts=50.0, payload={"work_units": 6}),
        job(id="f", status=JobStatus.SUCCEEDED),
    ]
    assert workload_of(jobs, 100.0) == Workload(
        queued=(
            QueuedWork(queue="local", place=None, priority=0, jobs=2, work_units=5.0),
            QueuedWork(queue="local", place="gpu:1", priority=5, jobs=1, work_units=4.0),
            QueuedWork(queue="remote", place="remote:rp", priority=0, jobs=1, work_units=1.0),
        ),
        running=(RunningWork(place="gpu:0", started_ts=50.0, work_units=6.0),),
    )


RATES = {"cpu": 12.0, "gpu:0": 1.0, "gpu:1": 1.0}


def test_an_idle_place_with_nothing_ahead_waits_nothing() -> None:
    assert local_waits(Workload(), 0, RATES, now=100.0) == {"cpu": 0.0, "gpu:0": 0.0, "gpu:1": 0.0}


def test_running_and_pinned_jobs_wait_on_their_place() -> None:
    workload = Workload(
        queued=(QueuedWork(queue="local", place="gpu:1", priority=0, jobs=1, work_units=30.0),),
        running=(RunningWork(place="gpu:0", started_ts=90.0, work_units=25.0),),
    )
    waits = local_waits(workload, 0, RATES, now=100.0)
    assert waits == {"cpu": 0.0, "gpu:0": 15.0, "gpu:1": 30.0}  # 25 s run, 10 s of it done; 30 units pinned


def test_unpinned_work_is_poured_over_the_places_that_free_first() -> None:
    workload = Workload(queued=(QueuedWork(queue="local", place=None, priority=0, jobs=4, work_units=20.0),))
    waits = local_waits(workload, 0, {"gpu:0": 1.0, "gpu:1": 1.0}, now=0.0)
    assert waits == {"gpu:0": pytest.approx(10.0), "gpu:1": pytest.approx(10.0)}
    busy = Workload(queued=(*workload.queued, QueuedWork(queue="local", place="gpu:0", priority=0, jobs=1,
                                                          work_units=30.0)))  # fmt: skip
    waits = local_waits(busy, 0, {"gpu:0": 1.0, "gpu:1": 1.0}, now=0.0)
    assert waits == {"gpu:0": 30.0, "gpu:1": pytest.approx(20.0)}  # gpu:1 takes all 20 units


queued_work = st.builds(
    QueuedWork,
    queue=st.sampled_from(["local", "remote"]),
    place=st.sampled_from([None, "cpu", "gpu:0", "gpu:1", "gpu:9", "remote:rp"]),
    priority=st.integers(-3, 3),
    jobs=st.integers(1, 5),
    work_units=st.floats(0.1, 500),
)


@given(st.lists(queued_work, max_size=8), queued_work, st.integers(-3, 3))
def test_a_lower_priority_queued_job_never_adds_wait(ahead: list[QueuedWork], extra: QueuedWork, prio: int) -> None:
    lower = msgspec.structs.replace(extra, priority=prio - 1)
    before = local_waits(Workload(queued=tuple(ahead)), prio, RATES, now=0.0)
    after = local_waits(Workload(queued=(*ahead, lower)), prio, RATES, now=0.0)
    assert after == before
    assert remote_ahead(Workload(queued=(*ahead, lower)), prio) == remote_ahead(Workload(queued=tuple(ahead)), prio)


@given(st.lists(queued_work, max_size=8), queued_work)
def test_more_work_ahead_never_shortens_a_wait(ahead: list[QueuedWork], extra: QueuedWork) -> None:
    before = local_waits(Workload(queued=tuple(ahead)), 0, RATES, now=0.0)
    after = local_waits(Workload(queued=(*ahead, extra)), 0, RATES, now=0.0)
    assert all(after[place] >= before[place] - 1e-6 for place in RATES)


def test_a_remote_wait_is_start_up_plus_its_own_queue_over_its_concurrency() -> None:
    workload = Workload(
        queued=(
            QueuedWork(queue="remote", place="remote:rp", priority=0, jobs=2, work_units=40.0),
            QueuedWork(queue="remote", place="remote:other", priority=0, jobs=1, work_units=99.0),
            QueuedWork(queue="remote", place=None, priority=0, jobs=1, work_units=99.0),
        )
    )
    ahead = remote_ahead(workload, 0)
    assert ahead == {"remote:rp": 40.0, "remote:other": 99.0}  # a job with no provider waits for none
    assert remote_wait(ahead["remote:rp"], 0.5, startup_s=20, concurrency=2) == 20 + 40 * 0.5 / 2
