"""Scheduler request bodies (§5.5, §5.7): job ids, claim, heartbeat, complete, fail, requeue, page limits."""

from __future__ import annotations

from typing import Any

import pytest

from computeadvisor.domain.errors import FieldError, InvalidInput
from computeadvisor.domain.job_requests import (
    BOARD_LIMIT_DEFAULT,
    STATE_LIMIT_DEFAULT,
    ClaimRequest,
    CompleteRequest,
    parse_claim,
    parse_complete,
    parse_fail,
    parse_heartbeat,
    parse_job_id,
    parse_limit,
    parse_requeue,
)


@pytest.mark.parametrize("body", [{}, {"job_id": None}, {"job_id": ""}, {"job_id": 0}, {"job_id": False}])
def test_missing_job_id(body: dict[str, Any]) -> None:
    for parse in (parse_job_id, parse_heartbeat, parse_complete, parse_fail, parse_requeue):
        with pytest.raises(InvalidInput) as caught:
            parse(body | {"status": "bogus", "error": 5, "priority": "x"})  # job_id is checked first
        assert caught.value.detail == "Missing job_id" and not isinstance(caught.value, FieldError)


@pytest.mark.parametrize("value", [True, 1.5, ["a"], {"a": 1}])
def test_job_id_of_the_wrong_type(value: Any) -> None:
    with pytest.raises(FieldError, match="job_id"):
        parse_job_id({"job_id": value})


def test_job_id_integer_is_converted() -> None:
    assert parse_job_id({"job_id": 17}) == "17"
    assert parse_job_id({"job_id": " a "}) == " a "


def test_claim_defaults_and_fields() -> None:
    assert parse_claim({}) == ClaimRequest(queue="local", lease_seconds=3600)
    assert parse_claim({"queue": "", "worker_id": "", "device_id": None}) == ClaimRequest()
    claim = parse_claim({"queue": "REMOTE", "worker_id": "w", "device_id": "gpu:0", "lease_seconds": 5})
    assert claim == ClaimRequest(queue="remote", worker_id="w", device_id="gpu:0", lease_seconds=5)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"queue": "gpu"}, "queue"),
        ({"worker_id": 3}, "worker_id"),
        ({"device_id": ["x"]}, "device_id"),
        ({"lease_seconds": 0}, "lease_seconds"),
        ({"lease_seconds": -1}, "lease_seconds"),
        ({"lease_seconds": 1.5}, "lease_seconds"),
        ({"lease_seconds": "60"}, "lease_seconds"),
        ({"lease_seconds": True}, "lease_seconds"),
        ({"lease_seconds": 10**30}, "lease_seconds"),
    ],
)
def test_claim_bad_fields(body: dict[str, Any], field: str) -> None:
    with pytest.raises(FieldError) as caught:
        parse_claim(body)
    assert caught.value.field == field


def test_heartbeat() -> None:
    beat = parse_heartbeat({"job_id": "a", "lease_token": "t", "lease_seconds": 30})
    assert (beat.job_id, beat.lease_token, beat.lease_seconds) == ("a", "t", 30)
    assert parse_heartbeat({"job_id": "a", "lease_token": ""}).lease_token is None
    with pytest.raises(FieldError, match="lease_token"):
        parse_heartbeat({"job_id": "a", "lease_token": 5})


def test_complete_defaults_and_numbers() -> None:
    assert parse_complete({"job_id": "a"}) == CompleteRequest(job_id="a")
    assert parse_complete({"job_id": "a", "status": ""}).status == "succeeded"
    body = {"job_id": "a", "status": "failed", "duration_sec": "270", "bytes_tx": "1e3", "cost_estimate": 1.23456}
    done = parse_complete(body | {"vram_gb": 8, "bytes_rx": 9.9})
    assert (done.status, done.duration_sec, done.bytes_tx, done.bytes_rx) == ("failed", 270.0, 1000, 9)
    assert (done.vram_gb, done.cost_estimate) == (8.0, 1.23456)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "done"}, "status"),
        ({"status": "SUCCEEDED"}, "status"),
        ({"status": 1}, "status"),
        ({"duration_sec": -1}, "duration_sec"),
        ({"bytes_tx": "x"}, "bytes_tx"),
        ({"bytes_rx": -2}, "bytes_rx"),
        ({"vram_gb": "inf"}, "vram_gb"),
        ({"cost_estimate": "-0.5"}, "cost_estimate"),
    ],
)
def test_complete_bad_fields(body: dict[str, Any], field: str) -> None:
    with pytest.raises(FieldError) as caught:
        parse_complete({"job_id": "a"} | body)
    assert caught.value.field == field


def test_fail_and_requeue() -> None:
    assert parse_fail({"job_id": "c", "error": "boom"}).error == "boom"
    assert parse_fail({"job_id": "c"}).error is None
    with pytest.raises(FieldError, match="error"):
        parse_fail({"job_id": "c", "error": {"x": 1}})
    assert parse_requeue({"job_id": "r", "priority": "9"}).priority == 9
    assert parse_requeue({"job_id": "r"}).priority is None
    with pytest.raises(FieldError, match="priority"):
        parse_requeue({"job_id": "r", "priority": "high"})


@pytest.mark.parametrize(
    ("value", "limit"),
    [(None, 200), ("1", 1), (" 1000 ", 1000), (50, 50), ("+7", 7), (2.0, 2)],  # 2.0 is an integer
)
def test_limit(value: Any, limit: int) -> None:
    assert parse_limit(value, STATE_LIMIT_DEFAULT) == limit


@pytest.mark.parametrize("value", ["abc", "0", "-1", "1001", "", "1.5", 0, True, 2.5, float("inf")])
def test_bad_limit(value: Any) -> None:
    with pytest.raises(FieldError, match="limit"):
        parse_limit(value, BOARD_LIMIT_DEFAULT)


@pytest.mark.parametrize(
    ("body", "job_id", "lease"),
    [({"job_id": 7838.0, "lease_seconds": 30.0}, "7838", 30), ({"job_id": "7838", "lease_seconds": 30}, "7838", 30)],
)
def test_a_json_integer_may_be_written_with_a_zero_fraction(body: dict[str, Any], job_id: str, lease: int) -> None:
    # JSON Schema (and so the published OpenAPI document) counts 7838.0 as an integer; the parsers agree.
    beat = parse_heartbeat(body)
    assert (beat.job_id, beat.lease_seconds) == (job_id, lease)


@pytest.mark.parametrize("value", [7838.5, float("nan"), float("inf"), True, "1.0"])
def test_a_fraction_is_not_an_integer(value: Any) -> None:
    with pytest.raises(FieldError, match="lease_seconds"):
        parse_heartbeat({"job_id": "a", "lease_seconds": value})
