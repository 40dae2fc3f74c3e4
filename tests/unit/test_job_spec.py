"""Enqueue bodies into normalized specs (§5.2, §5.6, §5.8)."""

from __future__ import annotations

from typing import Any

import pytest

from computeadvisor.domain.errors import FieldError
from computeadvisor.domain.job_spec import JobSpec, parse_enqueue


def spec(body: dict[str, Any]) -> JobSpec:
    return parse_enqueue(body, new_id=lambda: "0123456789ab")


def test_defaults() -> None:
    assert spec({}) == JobSpec(id="0123456789ab", name="0123456789ab")
    assert spec({}).provider_id == "local" and spec({}).payload == {}


@pytest.mark.parametrize(
    ("body", "queue", "provider_id"),
    [
        ({"target": "REMOTE"}, "remote", None),
        ({"queue": " Local "}, "local", "local"),
        ({"queue": "", "target": "remote"}, "remote", None),
        ({"queue": None}, "local", "local"),
        ({"queue": "remote", "provider_id": "runpod-dev"}, "remote", "runpod-dev"),
        ({"queue": "remote", "payload": {"provider_id": "p2"}}, "remote", "p2"),
        ({"queue": "remote", "provider_id": " ", "payload": {"provider_id": 7}}, "remote", "7"),
        ({"provider_id": ""}, "local", "local"),
    ],
)
def test_queue_and_provider(body: dict[str, Any], queue: str, provider_id: str | None) -> None:
    parsed = spec(body)
    assert (parsed.queue, parsed.provider_id) == (queue, provider_id)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"queue": "gpu"}, "queue"),
        ({"target": "gpu"}, "target"),
        ({"queue": 1}, "queue"),
        ({"priority": "high"}, "priority"),
        ({"priority": 1.5}, "priority"),
        ({"priority": True}, "priority"),
        ({"priority": 2**63}, "priority"),
        ({"priority": str(-(2**63) - 1)}, "priority"),
        ({"bytes_tx": -5}, "bytes_tx"),
        ({"bytes_rx": "abc"}, "bytes_rx"),
        ({"bytes_tx": 2**64}, "bytes_tx"),
        ({"vram_gb": "nan"}, "vram_gb"),
        ({"vram_gb": False}, "vram_gb"),
        ({"id": True}, "id"),
        ({"id": 1.5}, "id"),
        ({"name": 5}, "name"),
        ({"device_id": 3}, "device_id"),
        ({"provider_id": ["x"]}, "provider_id"),
    ],
)
def test_bad_fields_are_named(body: dict[str, Any], field: str) -> None:
    with pytest.raises(FieldError) as caught:
        spec(body)
    assert caught.value.field == field and field in caught.value.detail


@pytest.mark.parametrize(
    ("value", "priority"),
    [(None, 0), (7, 7), ("-3", -3), (" 12 ", 12), (2**63 - 1, 2**63 - 1), (str(-(2**63)), -(2**63))],
)
def test_priority_forms(value: Any, priority: int) -> None:
    assert spec({"priority": value}).priority == priority


def test_ids_names_and_devices() -> None:
    assert (spec({"id": 42}).id, spec({"id": 42}).name) == ("42", "42")
    assert spec({"id": 0}).id == "0123456789ab"  # falsy: generated
    assert spec({"id": "a", "name": "", "title": "T"}).name == "T"
    assert spec({"id": "a", "name": "N", "title": "T"}).name == "N"
    assert spec({"device_id": "", "sticky_device_id": "gpu:1"}).device_id == "gpu:1"
    assert spec({"device_id": "gpu:0", "sticky_device_id": "gpu:1"}).device_id == "gpu:0"


@pytest.mark.parametrize(
    ("body", "sticky"),
    [
        ({"sticky": True}, True),
        ({"sticky_device": "false"}, True),  # plain truthiness: a non-empty string
        ({"sticky": 0}, False),
        ({"sticky": [], "sticky_device": {}}, False),
        ({"sticky_device": 0, "sticky": 1}, True),
    ],
)
def test_sticky_is_plain_truthiness(body: dict[str, Any], sticky: bool) -> None:
    assert spec(body).sticky is sticky


def test_numbers_payload_and_meta() -> None:
    parsed = spec({"bytes_tx": "1e3", "bytes_rx": 2.9, "vram_gb": "16", "payload": [1], "meta": {"k": 1}})
    assert (parsed.bytes_tx, parsed.bytes_rx, parsed.vram_gb) == (1000, 2, 16.0)
    assert (parsed.payload, parsed.meta) == ({}, {"k": 1})
    assert isinstance(JobSpec(id="a", name="a", vram_gb=16).vram_gb, float)


def test_equal_bodies_give_equal_specs() -> None:
    one = spec({"id": "a", "priority": "1", "payload": {"x": 1, "y": 2}})
    two = spec({"id": "a", "priority": 1, "payload": {"y": 2, "x": 1}, "debug": True})
    assert one == two
    assert one != spec({"id": "a", "priority": 2})


def test_specs_built_in_code_are_checked() -> None:
    with pytest.raises(ValueError, match="queue"):
        JobSpec(id="a", name="a", queue="gpu")
    with pytest.raises(ValueError, match="priority"):
        JobSpec(id="a", name="a", priority=2**63)
    with pytest.raises(ValueError, match=">= 0"):
        JobSpec(id="a", name="a", bytes_tx=-1)
    with pytest.raises(ValueError, match=r"2\*\*63"):
        JobSpec(id="a", name="a", bytes_rx=2**63)
    with pytest.raises(ValueError, match="finite"):
        JobSpec(id="a", name="a", vram_gb=float("nan"))


def test_every_queue_alias_given_is_checked() -> None:
    with pytest.raises(FieldError, match=r"^target:"):
        parse_enqueue({"queue": "local", "target": "gpu"})
    with pytest.raises(FieldError, match=r"^target:"):
        parse_enqueue({"queue": "remote", "target": True})
    assert parse_enqueue({"queue": "remote", "target": "REMOTE"}).queue == "remote"
