"""§15 enqueue additions in the domain: how ``run_at`` is read, when a job is due, how long a retry waits."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from computeadvisor.domain.errors import FieldError
from computeadvisor.domain.job_spec import MAX_DELAY_SECONDS, JobSpec, parse_enqueue


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("2026-12-06T10:00:00Z", 1796551200.0),
        ("2026-12-06t10:00:00z", 1796551200.0),
        ("2026-12-06 10:00", 1796551200.0),  # no zone: UTC
        ("2026-12-06T11:30:00+01:30", 1796551200.0),
        ("2026-12-06T10:00:00.25Z", 1796551200.25),
        ("2026-11-31T10:00:00Z", 1796551200.0 - 5 * 86400),  # past the month's end rolls over, to December 1
        (1796551200, 1796551200.0),
        (-5.5, -5.5),  # long past: due at once
    ],
)
def test_run_at_is_a_date_time_or_epoch_seconds(value: object, seconds: float) -> None:
    assert parse_enqueue({"id": "j", "run_at": value}).run_at == pytest.approx(seconds)


@pytest.mark.parametrize("value", ["soon", "1796551200", "2026-12-06", "2026-12-06T25:00:00Z", 1e12, True, [1]])
def test_a_bad_run_at_is_named(value: object) -> None:
    with pytest.raises(FieldError) as error:
        parse_enqueue({"id": "j", "run_at": value})
    assert error.value.field == "run_at"


def test_the_due_time_is_the_later_of_run_at_and_the_delay() -> None:
    assert JobSpec(id="a", name="a").due_ts(100.0) is None
    assert JobSpec(id="a", name="a", delay_seconds=5).due_ts(100.0) == 105.0
    assert JobSpec(id="a", name="a", run_at=50.0).due_ts(100.0) == 50.0
    assert JobSpec(id="a", name="a", run_at=50.0, delay_seconds=5).due_ts(100.0) == 105.0
    assert JobSpec(id="a", name="a", run_at=500.0, delay_seconds=5).due_ts(100.0) == 500.0


@given(st.floats(min_value=0, max_value=MAX_DELAY_SECONDS), st.integers(min_value=1, max_value=1000))
def test_the_retry_delay_doubles_per_attempt_and_stays_bounded(backoff: float, attempt: int) -> None:
    spec = JobSpec(id="a", name="a", max_attempts=1000, backoff_seconds=backoff)
    delay = spec.retry_delay(attempt)
    assert 0 <= delay <= MAX_DELAY_SECONDS
    assert delay == min(backoff * 2.0 ** (attempt - 1), MAX_DELAY_SECONDS) or attempt > 63
    assert spec.retry_delay(attempt + 1) >= delay
