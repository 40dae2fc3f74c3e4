"""The pure scheduler core: record shapes, time formats, device rules, transitions and board segments."""

from __future__ import annotations

import msgspec
import pytest

from computeadvisor.domain import job_machine as machine
from computeadvisor.domain.errors import Conflict
from computeadvisor.domain.job_requests import ClaimRequest, CompleteRequest, FailRequest, HeartbeatRequest
from computeadvisor.domain.job_spec import JobSpec
from computeadvisor.domain.jobs import BoardSegment, Job, JobView, PriceBook, Run, board_segment, public_view
from computeadvisor.domain.providers import ProviderRecord
from computeadvisor.domain.values import iso_utc
from tests.contract._job_support import BOARD_SEGMENT_KEYS as SEGMENT_KEYS
from tests.contract._job_support import JOB_RECORD_KEYS as RECORD_KEYS
from tests.contract._job_support import JOB_VIEW_KEYS as VIEW_KEYS
from tests.contract._job_support import T0


def queued(**spec: object) -> machine.JobState:
    fields: dict[str, object] = {"id": "a", "name": "a"} | spec
    return machine.new_state(JobSpec(**fields), T0, 1)  # type: ignore[arg-type]


def running(**spec: object) -> machine.JobState:
    return machine.claim(queued(**spec), ClaimRequest(lease_seconds=10), T0, "tok", 2)


@pytest.mark.parametrize(
    ("ts", "text"),
    [
        (T0, "2025-10-23T09:15:02Z"),
        (T0 + 0.123456, "2025-10-23T09:15:02.123456Z"),
        (T0 + 0.5, "2025-10-23T09:15:02.500000Z"),
        (0.0, "1970-01-01T00:00:00Z"),
    ],
)
def test_iso_utc(ts: float, text: str) -> None:
    assert iso_utc(ts) == text


def test_record_has_every_key_and_no_lease() -> None:
    state = running()
    data = msgspec.json.decode(msgspec.json.encode(state.job))
    assert set(data) == RECORD_KEYS
    assert "tok" not in msgspec.json.encode(state.job).decode()
    assert data["started_at"] == data["created_at"] == "2025-10-23T09:15:02Z" and data["completed_at"] is None


def test_at_fields_follow_the_ts_fields() -> None:
    job = msgspec.structs.replace(queued().job, completed_ts=T0 + 1.25, created_at="ignored")
    assert (job.completed_at, job.created_at) == ("2025-10-23T09:15:03.250000Z", "2025-10-23T09:15:02Z")


def test_view_and_segment_shapes() -> None:
    job = running().job
    assert list(msgspec.json.decode(msgspec.json.encode(public_view(job)))) == VIEW_KEYS
    assert list(JobView.__struct_fields__) == VIEW_KEYS
    assert list(BoardSegment.__struct_fields__) == SEGMENT_KEYS


@pytest.mark.parametrize(
    ("sticky", "hint", "claimer", "expected"),
    [
        (True, "remote:a", "remote:b", ("remote:a", "remote:a")),
        (True, "remote:a", None, ("remote:a", "remote:a")),
        (True, None, "gpu:1", ("gpu:1", "gpu:1")),
        (False, "gpu:0", "gpu:3", ("gpu:3", "gpu:0")),
        (False, None, "gpu:3", ("gpu:3", None)),
        (False, "gpu:0", None, ("gpu:0", "gpu:0")),
        (True, None, None, (None, None)),
    ],
)
def test_claimed_device(sticky: bool, hint: str | None, claimer: str | None, expected: tuple[str | None, ...]) -> None:
    job = queued(sticky=sticky, device_id=hint).job
    assert machine.claimed_device(job, claimer) == expected


def test_claim_sets_run_and_lease() -> None:
    state = machine.claim(queued(), ClaimRequest(worker_id="w", device_id="d", lease_seconds=30), T0 + 2, "t", 9)
    assert (state.seq, state.lease) == (9, machine.LeaseState(token="t", expires_ts=T0 + 32, seconds=30))
    assert state.job.runs[0] == Run(attempt=1, device_id="d", worker_id="w", started_at=iso_utc(T0 + 2))
    assert machine.lease_of(state).expires_at == iso_utc(T0 + 32)
    with pytest.raises(Conflict, match="'a' is running"):
        machine.claim(state, ClaimRequest(), T0, "u", 10)
    with pytest.raises(ValueError, match="no lease"):
        machine.lease_of(queued())


def test_conflict_details_name_the_job_and_state() -> None:
    with pytest.raises(Conflict, match=r"^job 'a' is queued: cannot complete") as caught:
        machine.complete(queued(), CompleteRequest(job_id="a"), T0, 3, PriceBook())
    assert "stale" not in caught.value.detail
    with pytest.raises(Conflict, match=r"queued.*the lease is stale"):
        machine.heartbeat(queued(), HeartbeatRequest(job_id="a", lease_token="old"), T0)
    with pytest.raises(Conflict, match="'a' is running: the lease is stale"):
        machine.fail(running(), FailRequest(job_id="a", lease_token="tok2"), T0, 3, PriceBook())
    with pytest.raises(Conflict, match="'a' already exists with a different spec"):
        machine.check_same_spec(queued(), JobSpec(id="a", name="a", priority=1))
    with pytest.raises(Conflict, match="stale"):  # a non-ASCII token compares safely
        machine.fail(running(), FailRequest(job_id="a", lease_token="é"), T0, 3, PriceBook())


def test_completion_cost_prices_only_the_jobs_own_provider() -> None:
    provider = ProviderRecord(id="p", meta={"cost_per_minute": 1.0})
    job = running(queue="remote", provider_id="p").job
    job = msgspec.structs.replace(job, duration_sec=60.0)
    assert machine.completion_cost(job, PriceBook((provider,))) == 1.0
    assert machine.completion_cost(job, PriceBook((ProviderRecord(id="other", meta={"cost_per_minute": 9.0}),))) == 0.05


def test_expire_is_a_no_op_before_the_lease_ends() -> None:
    state = running()
    assert not machine.lease_expired(state, T0 + 9.9)
    assert machine.expire(state, T0 + 9.9, 5, 3, PriceBook()) is state
    requeued = machine.expire(state, T0 + 10, 5, 3, PriceBook())
    assert (requeued.job.status, requeued.lease, requeued.seq) == ("queued", None, 5)


def test_fail_duration_is_never_negative() -> None:
    failed = machine.fail(running(), FailRequest(job_id="a"), T0 - 5, 3, PriceBook())  # the clock stepped back
    assert (failed.job.duration_sec, failed.job.cost_estimate) == (0.0, 0.0)


def test_board_segment_rules() -> None:
    job: Job = queued(device_id="gpu:0").job
    seg = board_segment(job, T0 - 10)  # a clock behind the creation: end never below start
    assert (seg.start, seg.end, seg.duration_sec, seg.device) == (T0, T0, 0.0, "gpu:0")
    done = msgspec.structs.replace(running().job, completed_ts=T0 + 4, duration_sec=0.0, device_id=None)
    seg = board_segment(done, T0 + 100)
    assert (seg.start, seg.end, seg.duration_sec, seg.device) == (T0, T0 + 4, 4.0, None)
