"""``computeadvisor gpu list|policy``: work directly on the state root, no server needed."""

from __future__ import annotations

import asyncio
from typing import Any

import click
import msgspec

from computeadvisor.app.bootstrap import host_metrics, opened, settings_store
from computeadvisor.app.cli.output import emit_json, emit_pairs, emit_table
from computeadvisor.config import Config, load_config
from computeadvisor.domain.errors import ComputeAdvisorError
from computeadvisor.domain.hardware import SystemSample, device_entries
from computeadvisor.domain.policy import GpuPolicy, apply_policy_update

root_option = click.option(
    "--root", type=click.Path(file_okay=False), help="State root [default: $COMPUTEADVISOR_ROOT or current directory]."
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")


def _config(root: str | None) -> Config:
    return load_config({"root": root})


async def _take_sample(config: Config) -> SystemSample:
    metrics = host_metrics(config)
    async with opened(metrics):
        await asyncio.sleep(0.2)  # a CLI may wait: gives the non-blocking CPU reading an interval to measure
        return await asyncio.to_thread(metrics.sample)


def _sample(config: Config) -> SystemSample:
    return asyncio.run(_take_sample(config))


async def _with_settings(config: Config, body: dict[str, Any] | None, gpus: Any) -> GpuPolicy:
    store = settings_store(config)
    async with opened(store):
        if body is None:
            return await store.get_policy()
        return await store.update_policy(lambda current: apply_policy_update(current, body, gpus))


@click.group()
def gpu() -> None:
    """The local CPU and NVIDIA GPUs, and the shared GPU policy."""


@gpu.command("list")
@root_option
@json_option
def gpu_list(root: str | None, as_json: bool) -> None:
    """Sample the CPU and every NVIDIA GPU now."""
    sample = _sample(_config(root))
    devices = device_entries(sample)
    if as_json:
        emit_json({"devices": devices, "metrics": sample})
        return
    rows = []
    for device in devices:
        data = msgspec.to_builtins(device)
        rows.append((data["id"], data["name"], data.get("load"), data.get("mem_used"), data.get("mem_total"),
                     data.get("temp_c"), data.get("power_w")))  # fmt: skip
    emit_table("Devices", ("id", "name", "load %", "mem used MiB", "mem total MiB", "temp °C", "power W"), rows)
    if sample.gpu_error:
        click.echo(f"GPU probe: {sample.gpu_error}", err=True)


@gpu.group("policy")
def policy() -> None:
    """Show or change the GPU policy shared with the server and other ComfyVN tools."""


@policy.command("show")
@root_option
@json_option
def policy_show(root: str | None, as_json: bool) -> None:
    """Print the stored policy."""
    stored = asyncio.run(_with_settings(_config(root), None, []))
    _print_policy(stored, as_json)


@policy.command("set")
@root_option
@json_option
@click.option("--mode", required=True, help="auto, manual or sticky.")
@click.option("--preferred-id", help="cpu or gpu:<n> (cuda:<n> accepted); 'none' clears it.")
@click.option("--manual-device", help="cpu or gpu:<n>, the device forced in manual mode.")
def policy_set(root: str | None, as_json: bool, mode: str, preferred_id: str | None, manual_device: str | None) -> None:
    """Change the policy; options left out keep their stored values."""
    body: dict[str, Any] = {"mode": mode}
    if preferred_id is not None:
        body["preferred_id"] = None if preferred_id.lower() in ("none", "null", "") else preferred_id
    if manual_device is not None:
        body["manual_device"] = manual_device
    config = _config(root)
    gpus = _sample(config).gpus if any(k in body for k in ("preferred_id", "manual_device")) else []
    try:
        stored = asyncio.run(_with_settings(config, body, gpus))
    except ComputeAdvisorError as exc:
        raise click.UsageError(exc.detail) from None
    _print_policy(stored, as_json)


def _print_policy(stored: GpuPolicy, as_json: bool) -> None:
    if as_json:
        emit_json(stored.as_stored())
    else:
        emit_pairs("GPU policy", stored.as_stored())
