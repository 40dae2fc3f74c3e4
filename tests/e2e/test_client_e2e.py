"""``computeadvisor.client``: every route through Client and AsyncClient against the real service (§15)."""

from __future__ import annotations

from pathlib import Path

import pytest

from computeadvisor import wire
from computeadvisor.client import ApiError, AsyncClient, Client, LeaseLost, ServerUnreachable
from computeadvisor.domain.jobs import JobStatus

from ._harness import RunningServer, ServerLauncher, free_port

pytestmark = pytest.mark.e2e


def test_every_read_route_answers_its_struct(server: RunningServer) -> None:
    with Client(server.base_url) as client:
        assert isinstance(client.gpu_list(), wire.GpuListResponse)
        assert client.gpu_list().devices[0].id == "cpu"
        assert client.gpu_policy().policy.mode == "auto"
        assert client.set_gpu_policy("manual", manual_device="cpu").policy.manual_device == "cpu"
        saved = client.save_provider("rp", kind="runpod", base="https://api.runpod.io", meta={"cost_per_minute": 0.5})
        assert saved.provider.meta == {"cost_per_minute": 0.5}
        assert [p.id for p in client.providers().providers] == ["rp"]
        assert client.provider_quota("rp").error == "unsupported"
        assert client.provider_templates("rp").ok is False
        assert client.costs({"provider_id": "rp", "duration_sec": 60}).estimate.estimate == 0.5
        assert client.advise({"job": {"width": 512, "height": 512}}).decision == "cpu"
        assert client.plan({"job": {"width": 1024, "height": 1024}}).recommendation is not None
        assert client.model().min_samples >= 1
        assert client.schedule_health().queues == ["local", "remote"]
        assert client.delete_provider("rp").ok
        assert "computeadvisor_http_requests_total" in client.metrics()


def test_a_job_through_its_life(server: RunningServer) -> None:
    with Client(server.base_url) as client:
        enqueued = client.enqueue(id="life-1", payload={"width": 512, "height": 512}, priority=3)
        assert enqueued.created and enqueued.job.status == JobStatus.QUEUED
        again = client.enqueue({"id": "life-1", "payload": {"width": 512, "height": 512}, "priority": 3})
        assert again.created is False
        assert [j.id for j in client.state().queues.local] == ["life-1"]
        claimed = client.claim(worker_id="w1", device_id="cpu", lease_seconds=30)
        assert claimed.job is not None and claimed.lease is not None and claimed.job.attempt == 1
        beat = client.heartbeat("life-1", claimed.lease.token, lease_seconds=60)
        assert beat.lease is not None and beat.lease.token == claimed.lease.token
        done = client.complete("life-1", claimed.lease.token, duration_sec=1.5, bytes_tx=10)
        assert done.job.status == JobStatus.SUCCEEDED and done.job.duration_sec == 1.5
        assert client.job("life-1").job.bytes_tx == 10
        assert [s.id for s in client.board().jobs] == ["life-1"]
        with pytest.raises(LeaseLost) as lost:
            client.heartbeat("life-1", claimed.lease.token)
        assert lost.value.status == 409 and "succeeded" in lost.value.detail
        assert client.claim().job is None  # an empty queue answers at once without wait_seconds


def test_errors_carry_status_and_detail(server: RunningServer) -> None:
    with Client(server.base_url) as client:
        with pytest.raises(ApiError) as bad:
            client.enqueue(id="x", priority="high")
        assert bad.value.status == 400 and "priority" in bad.value.detail and not bad.value.retryable
        with pytest.raises(ApiError) as missing:
            client.job("nope")
        assert missing.value.status == 404 and missing.value.detail == "job 'nope' not found"
        assert not isinstance(missing.value, LeaseLost)
        with pytest.raises(ApiError) as conflict:
            client.requeue("nope")
        assert conflict.value.status == 404
    with Client(f"http://127.0.0.1:{free_port()}") as away, pytest.raises(ServerUnreachable):
        away.state()


def test_a_token_is_sent_when_given(launcher: ServerLauncher, tmp_path: Path) -> None:
    server = launcher.start(tmp_path / "tok", args=("--token", "s3cret"))
    with Client(server.base_url) as anonymous, pytest.raises(ApiError) as refused:
        anonymous.enqueue(id="t1")
    assert refused.value.status == 401
    with Client(server.base_url, "s3cret") as client:
        assert client.enqueue(id="t1").created


@pytest.mark.anyio
async def test_the_async_client_answers_the_same_structs(server: RunningServer) -> None:
    async with AsyncClient(server.base_url) as client:
        await client.enqueue(id="async-1")
        claimed = await client.claim(worker_id="aw", wait_seconds=1)
        assert claimed.job is not None and claimed.lease is not None
        failed = await client.fail("async-1", claimed.lease.token, error="no luck")
        assert failed.job.status == JobStatus.FAILED and failed.job.error == "no luck"
        assert (await client.state()).counts.completed == 1
        with pytest.raises(ApiError) as missing:
            await client.cancel("nope")
        assert missing.value.status == 404
    async with AsyncClient(f"http://127.0.0.1:{free_port()}") as away:
        with pytest.raises(ServerUnreachable):
            await away.gpu_policy()


def test_events_are_read_as_messages(server: RunningServer) -> None:
    with Client(server.base_url) as client:
        client.enqueue(id="ev-1")
        client.cancel("ev-1")
        messages = client.events(after=0, types="job")
        first, second = next(messages), next(messages)
        messages.close()
    assert (first.event, first.id, second.id) == ("job", 1, 2)
    assert '"to":"cancelled"' in second.data.replace(" ", "")
