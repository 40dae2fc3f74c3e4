"""The GPU policy: write validation (§1.4), stored values (§1.5), the sticky rule (§1.3), the devices list (§1.1),
and the storage properties (a write reads back identical; settings/config.json stays valid with its other keys)."""

from __future__ import annotations

import functools
import json
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import anyio
import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from computeadvisor.adapters.sqlite_settings import SqliteSettings
from computeadvisor.domain.errors import FieldError, InvalidInput
from computeadvisor.domain.hardware import CpuDevice, GpuDevice, GpuInfo, SystemSample, device_entries
from computeadvisor.domain.policy import (
    GpuPolicy,
    apply_policy_update,
    parse_device_id,
    policy_from_stored,
    select_gpu,
    sticky_choice,
)

GPU0 = GpuInfo(id=0, name="NVIDIA GeForce RTX 4090", mem_total=24564, mem_used=1024, mem_free=23540)
GPU1 = GpuInfo(id=1, mem_total=81920, mem_used=0, mem_free=81920)
TWO = [GPU0, GPU1]


# -- validation of a write (§1.4) --------------------------------------------------------------------------


@pytest.mark.parametrize("body", [{}, {"mode": None}, {"mode": 1}, {"mode": ["auto"]}, {"preferred_id": "cpu"}])
def test_mode_is_required(body: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput) as caught:
        apply_policy_update(GpuPolicy(), body, TWO)
    assert caught.value.detail == "mode is required"
    assert not isinstance(caught.value, FieldError)


@pytest.mark.parametrize("mode", ["fast", "", " ", "auto manual", "AUTOMATIC"])
def test_unknown_mode(mode: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        apply_policy_update(GpuPolicy(), {"mode": mode}, TWO)
    assert caught.value.detail == "mode must be one of: auto, manual, sticky"


@pytest.mark.parametrize(("mode", "stored"), [("MANUAL ", "manual"), (" Sticky", "sticky"), ("auto", "auto")])
def test_mode_is_trimmed_and_lower_cased(mode: str, stored: str) -> None:
    assert apply_policy_update(GpuPolicy(), {"mode": mode}, TWO).mode == stored


@pytest.mark.parametrize(
    ("given_id", "stored"),
    [("cpu", "cpu"), (" CPU ", "cpu"), ("cuda:0", "gpu:0"), ("GPU:1", "gpu:1"), (" Cuda:01 ", "gpu:1")],
)
def test_device_ids_are_normalised(given_id: str, stored: str) -> None:
    policy = apply_policy_update(
        GpuPolicy(), {"mode": "manual", "manual_device": given_id, "preferred_id": given_id}, TWO
    )
    assert (policy.manual_device, policy.preferred_id) == (stored, stored)


@pytest.mark.parametrize("field", ["preferred_id", "manual_device"])
@pytest.mark.parametrize(
    "value", ["gpu:3", "cuda:2", "gpu", "gpu:-1", "gpu:1.0", "gpu: 1", "tpu:0", "", "remote", 0, True, {}]
)
def test_bad_device_ids_name_their_field(field: str, value: Any) -> None:
    with pytest.raises(FieldError) as caught:
        apply_policy_update(GpuPolicy(), {"mode": "auto", field: value}, TWO)
    assert caught.value.field == field
    assert caught.value.detail.startswith(f"{field}: ")


def test_a_gpu_id_needs_a_gpu_in_the_sample_but_cpu_never_does() -> None:
    with pytest.raises(FieldError, match="manual_device"):
        apply_policy_update(GpuPolicy(), {"mode": "manual", "manual_device": "cuda:0"}, [])
    assert apply_policy_update(GpuPolicy(), {"mode": "manual", "manual_device": "cpu"}, []).manual_device == "cpu"


def test_the_contract_examples() -> None:
    host = [GPU0]
    assert apply_policy_update(GpuPolicy(), {"mode": "manual", "manual_device": "cuda:0"}, host) == GpuPolicy(
        mode="manual", preferred_id=None, manual_device="gpu:0"
    )
    with pytest.raises(FieldError, match="manual_device"):
        apply_policy_update(GpuPolicy(), {"mode": "manual", "manual_device": "gpu:3"}, host)


def test_omitted_fields_keep_stored_values_and_null_preferred_id_clears() -> None:
    stored = GpuPolicy(mode="manual", preferred_id="gpu:1", manual_device="gpu:0")
    assert apply_policy_update(stored, {"mode": "auto"}, TWO) == msgspec.structs.replace(stored, mode="auto")
    assert apply_policy_update(stored, {"mode": "auto", "manual_device": None}, TWO).manual_device == "gpu:0"
    assert apply_policy_update(stored, {"mode": "auto", "preferred_id": None}, TWO).preferred_id is None
    # stored values are kept even when their GPU is gone right now: only what the body sends is checked
    assert apply_policy_update(stored, {"mode": "manual"}, []) == stored


def test_the_sticky_device_survives_only_while_the_mode_stays_sticky() -> None:
    stuck = GpuPolicy(mode="sticky", sticky_device="gpu:1")
    assert apply_policy_update(stuck, {"mode": "sticky", "preferred_id": "gpu:0"}, TWO).sticky_device == "gpu:1"
    assert apply_policy_update(stuck, {"mode": "auto"}, TWO).sticky_device is None
    assert apply_policy_update(GpuPolicy(), {"mode": "sticky"}, TWO).sticky_device is None


def test_unknown_keys_are_ignored() -> None:
    assert apply_policy_update(GpuPolicy(), {"mode": "auto", "sticky_device": "gpu:0", "x": 1}, TWO) == GpuPolicy()


# -- stored values (§1.5) ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        (None, GpuPolicy()),
        ("manual", GpuPolicy()),
        ([], GpuPolicy()),
        ({"mode": "MANUAL", "manual_device": "cuda:2"}, GpuPolicy(mode="manual", manual_device="gpu:2")),
        ({"mode": "fast", "preferred_id": "gpu:1"}, GpuPolicy(preferred_id="gpu:1")),
        ({"mode": "manual", "manual_device": 3, "preferred_id": ""}, GpuPolicy(mode="manual")),
        ({"mode": "auto", "sticky_device": "gpu:1"}, GpuPolicy()),
        ({"mode": "sticky", "sticky_device": "cpu"}, GpuPolicy(mode="sticky")),
        ({"mode": "sticky", "sticky_device": "CUDA:1", "x": 1}, GpuPolicy(mode="sticky", sticky_device="gpu:1")),
    ],
)
def test_policy_from_stored_falls_back_field_by_field(stored: Any, expected: GpuPolicy) -> None:
    assert policy_from_stored(stored) == expected


def test_parse_device_id() -> None:
    assert [parse_device_id(t) for t in ("cpu", "cuda:7", "gpu:007", "gpu:", "gpu:٣", "cpu0")] == [
        "cpu", "gpu:7", "gpu:7", None, None, None
    ]  # fmt: skip


# -- the sticky rule (§1.3) --------------------------------------------------------------------------------


def test_sticky_records_the_auto_choice_once_and_keeps_it() -> None:
    policy = GpuPolicy(mode="sticky")
    selected, update = sticky_choice(policy, TWO)
    assert selected == GPU1 and update == GpuPolicy(mode="sticky", sticky_device="gpu:1")
    assert update is not None
    # GPU 0 now has more free memory, but the sticky device is still present: same answer, nothing to record
    busier = [GPU0, msgspec.structs.replace(GPU1, mem_free=10)]
    assert sticky_choice(update, busier) == (busier[1], None)
    # it disappears: the next auto choice becomes the new sticky device
    selected, again = sticky_choice(update, [GPU0])
    assert selected == GPU0 and again == GpuPolicy(mode="sticky", sticky_device="gpu:0")


def test_sticky_choice_records_nothing_outside_sticky_mode_or_without_gpus() -> None:
    assert sticky_choice(GpuPolicy(), TWO) == (GPU1, None)
    assert sticky_choice(GpuPolicy(mode="manual", manual_device="gpu:0"), TWO) == (GPU0, None)
    assert sticky_choice(GpuPolicy(mode="sticky"), []) == (None, None)


def test_a_present_preferred_id_wins_in_sticky_mode_and_is_what_gets_recorded() -> None:
    selected, update = sticky_choice(GpuPolicy(mode="sticky", preferred_id="gpu:0"), TWO)
    assert selected == GPU0 and update is not None and update.sticky_device == "gpu:0"


# -- devices of GET /api/gpu/list (§1.1) -------------------------------------------------------------------


def test_the_one_card_example_carries_both_key_sets() -> None:
    gpu = GpuInfo(
        id=0,
        name="NVIDIA GeForce RTX 4090",
        uuid="GPU-x",
        util=37,
        mem_total=24564,
        mem_used=1024,
        mem_free=23540,
        temp_c=45,
        power_w=71.2,
    )
    sample = SystemSample(cpu=12.5, cpu_name="  x86_64 ", gpus=[gpu], first_gpu=gpu)
    devices = json.loads(msgspec.json.encode(device_entries(sample)))
    assert devices[0] == {"id": "cpu", "type": "cpu", "name": "x86_64", "load": 12.5}
    assert devices[1] == {
        "id": "gpu:0",
        "type": "gpu",
        "name": "NVIDIA GeForce RTX 4090",
        "uuid": "GPU-x",
        "load": 37,
        "util": 37,
        "mem_total": 24564,
        "mem_used": 1024,
        "mem_free": 23540,
        "mem_total_mb": 24564,
        "mem_used_mb": 1024,
        "temp_c": 45,
        "power_w": 71.2,
    }


def test_devices_without_readings() -> None:
    sample = SystemSample(cpu=None, cpu_name="", gpus=[GpuInfo(id=1, name=" "), GpuInfo(id=0)])
    cpu, *gpus = device_entries(sample)
    assert cpu == CpuDevice(name="CPU", load=None)
    assert [g.id for g in gpus] == ["gpu:0", "gpu:1"]
    assert gpus[1] == GpuDevice(id="gpu:1", name="GPU")
    assert device_entries(SystemSample(cpu=33.333333))[0].load == 33.33


# -- properties --------------------------------------------------------------------------------------------

device_texts = st.sampled_from(["cpu", "CPU", " gpu:0", "cuda:1", "GPU:1 ", "cuda:00"])
bodies = st.fixed_dictionaries(
    {"mode": st.sampled_from(["auto", "manual", "sticky", " MANUAL", "Sticky "])},
    optional={"preferred_id": st.none() | device_texts, "manual_device": st.none() | device_texts},
)
policies = st.builds(
    GpuPolicy,
    mode=st.sampled_from(["auto", "manual", "sticky"]),
    preferred_id=st.none() | st.sampled_from(["cpu", "gpu:0", "gpu:1", "gpu:12"]),
    manual_device=st.sampled_from(["cpu", "gpu:0", "gpu:7"]),
).map(lambda p: msgspec.structs.replace(p, sticky_device="gpu:1") if p.mode == "sticky" else p)


@given(policies)
def test_a_stored_policy_reads_back_identical_in_the_domain(policy: GpuPolicy) -> None:
    assert policy_from_stored(json.loads(json.dumps(policy.as_stored()))) == policy


@settings(max_examples=50, deadline=None)
@given(policies)
def test_a_policy_written_to_sqlite_reads_back_identical(policy: GpuPolicy) -> None:
    async def scenario(root: Path) -> None:
        writer, reader = SqliteSettings(root), SqliteSettings(root)
        try:
            await writer.put_policy(policy)
            assert await writer.get_policy() == policy
            assert await reader.get_policy() == policy
        finally:
            await writer.close()
            await reader.close()

    with tempfile.TemporaryDirectory() as tmp:
        anyio.run(scenario, Path(tmp))


json_leaves = (
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False, allow_infinity=False)
)
json_values = st.recursive(
    json_leaves | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
documents = st.dictionaries(st.text(max_size=6).filter(lambda k: k != "compute"), json_values, max_size=4)
compute_extras = st.dictionaries(st.text(max_size=6).filter(lambda k: k != "gpu_policy"), json_values, max_size=3)


@settings(max_examples=50, deadline=None)
@given(documents, compute_extras, st.lists(bodies, min_size=1, max_size=4))
def test_any_valid_writes_keep_config_json_valid_with_its_other_keys(
    document: dict[str, Any], extras: dict[str, Any], writes: list[dict[str, Any]]
) -> None:
    async def scenario(root: Path) -> None:
        path = root / "settings" / "config.json"
        path.parent.mkdir()
        path.write_text(json.dumps({**document, "compute": extras}), encoding="utf-8")
        store = SqliteSettings(root)
        try:
            for body in writes:
                stored = await store.update_policy(functools.partial(apply_policy_update, body=body, gpus=TWO))
                on_disk = json.loads(path.read_text(encoding="utf-8"))  # valid JSON after every write
                assert {k: v for k, v in on_disk.items() if k != "compute"} == document
                assert on_disk["compute"] == {**extras, "gpu_policy": stored.as_stored()}
                assert await store.get_policy() == stored
        finally:
            await store.close()
        with sqlite3.connect(root / "data" / "comfyvn.db") as conn:
            (value,) = conn.execute("SELECT value_json FROM settings WHERE key = 'compute'").fetchone()
        assert json.loads(value) == {"gpu_policy": stored.as_stored()}

    with tempfile.TemporaryDirectory() as tmp:
        anyio.run(scenario, Path(tmp))


@given(policies, st.lists(bodies, max_size=5))
def test_valid_writes_always_give_a_selectable_policy(start: GpuPolicy, writes: list[dict[str, Any]]) -> None:
    policy = start
    for body in writes:
        policy = apply_policy_update(policy, body, TWO)
        assert policy.mode in ("auto", "manual", "sticky")
        assert policy.manual_device in ("cpu", "gpu:0", "gpu:1", start.manual_device)
        assert select_gpu(policy, TWO) in TWO
