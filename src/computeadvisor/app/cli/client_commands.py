"""Commands that talk to a running server: providers, advise, costs and queue."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click
from rich.progress import Progress

from computeadvisor.app.cli.client import Api, json_body, server_options
from computeadvisor.app.cli.output import emit_json, emit_pairs, emit_table

json_option = click.option("--json", "as_json", is_flag=True, help="Print the server's JSON answer.")
body_argument = click.argument("body", required=False)
JOB_COLUMNS = ("id", "queue", "status", "priority", "attempt", "device_id", "provider_id", "cost_estimate")


def _job_rows(jobs: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [tuple(job.get(c) for c in JOB_COLUMNS) for job in jobs]


def _show_job(data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(data)
    elif data.get("job") is None:
        click.echo("no job")
    else:
        emit_table("Job", JOB_COLUMNS, _job_rows([data["job"]]))
        if data.get("lease"):
            emit_pairs("Lease", data["lease"])


# -- providers ---------------------------------------------------------------------------------------------


@click.group()
def providers() -> None:
    """The provider registry of a running server."""


@providers.command("list")
@server_options
@json_option
def providers_list(api: Api, as_json: bool) -> None:
    """List providers (secrets masked)."""
    data = api.call("GET", "/api/providers")
    if as_json:
        emit_json(data)
        return
    rows = [(p["id"], p["kind"], p["base"], p["meta"]) for p in data["providers"]]
    emit_table("Providers", ("id", "kind", "base", "meta"), rows)


@providers.command("add")
@server_options
@json_option
@click.argument("provider_id")
@click.option("--kind", help="Provider kind, e.g. runpod [default: custom].")
@click.option("--base-url", "base_url", help="The provider's base URL (http, https, stub or memory).")
@click.option("--meta", help="Meta as a JSON object, e.g. '{\"cost_per_minute\": 0.12}'.")
def providers_add(
    api: Api, as_json: bool, provider_id: str, kind: str | None, base_url: str | None, meta: str | None
) -> None:
    """Insert or replace a provider."""
    body = json_body(None, id=provider_id, kind=kind, base=base_url, meta=json_body(meta) if meta else None)
    data = api.call("POST", "/api/providers", body)
    if as_json:
        emit_json(data)
    else:
        emit_pairs(f"Saved {provider_id}", data["provider"])


@providers.command("rm")
@server_options
@click.argument("provider_id")
def providers_rm(api: Api, provider_id: str) -> None:
    """Remove a provider."""
    api.call("DELETE", f"/api/providers/{provider_id}")
    click.echo(f"removed {provider_id}")


@providers.command("health")
@server_options
@json_option
@click.argument("provider_id", required=False)
def providers_health(api: Api, as_json: bool, provider_id: str | None) -> None:
    """Probe one provider's health, or all of them."""
    data = api.call("GET", "/api/providers/health", params={"id": provider_id} if provider_id else None)
    if as_json:
        emit_json(data)
        return
    results = [data["status"]] if "status" in data else data["results"]
    rows = [(r["provider_id"], r["ok"], r.get("status_code"), r.get("latency_ms"), r.get("error")) for r in results]
    emit_table("Health", ("provider", "ok", "status", "latency ms", "error"), rows)


# -- advise and costs --------------------------------------------------------------------------------------


def with_job_fields(request: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    """``request`` with the options that were given merged into its ``job`` object."""
    fields = {k: v for k, v in options.items() if v is not None}
    if fields:
        request["job"] = {**(request.get("job") or {}), **fields}
    return request


@click.command()
@server_options
@json_option
@body_argument
@click.option("--width", type=int)
@click.option("--height", type=int)
@click.option("--vram-gb", type=float)
@click.option("--allow-remote", is_flag=True, default=None, help="Allow a remote GPU when the feature is on.")
def advise(api: Api, as_json: bool, body: str | None, **job: Any) -> None:
    """Where should a job run? BODY is an optional JSON request body; options add job fields."""
    request = with_job_fields(json_body(body, allow_remote=job.pop("allow_remote")), job)
    data = api.call("POST", "/api/compute/advise", request)
    if as_json:
        emit_json(data)
    else:
        emit_pairs("Advice", {k: data[k] for k in ("decision", "reason", "device", "remote_allowed", "context")})


@click.command()
@server_options
@json_option
@body_argument
@click.option("--provider-id")
@click.option("--queue")
@click.option("--duration-sec", type=float)
@click.option("--bytes-tx", type=int)
@click.option("--bytes-rx", type=int)
@click.option("--vram-gb", type=float)
def costs(api: Api, as_json: bool, body: str | None, **job: Any) -> None:
    """What would a job cost? Never bills. BODY is an optional JSON request body; options add job fields."""
    data = api.call("POST", "/api/compute/costs", with_job_fields(json_body(body), job))
    if as_json:
        emit_json(data)
        return
    estimate = data["estimate"]
    emit_pairs(f"Estimate: {estimate['estimate']} {estimate['currency']}", estimate["breakdown"])
    for line in estimate["hints"] + estimate["notes"]:
        click.echo(line)


# -- queue -------------------------------------------------------------------------------------------------


@click.group()
def queue() -> None:
    """The scheduler's durable queues on a running server."""


@queue.command("state")
@server_options
@json_option
@click.option("--limit", type=int, default=20, show_default=True)
def queue_state(api: Api, as_json: bool, limit: int) -> None:
    """Queued, running and recently finished jobs, with totals."""
    data = api.call("GET", "/api/schedule/state", params={"limit": limit})
    if as_json:
        emit_json(data)
        return
    for name, jobs in (("local", data["queues"]["local"]), ("remote", data["queues"]["remote"])):
        emit_table(f"Queued: {name}", JOB_COLUMNS, _job_rows(jobs))
    emit_table("Running", JOB_COLUMNS, _job_rows(data["active"]))
    emit_table("Finished", JOB_COLUMNS, _job_rows(data["completed"]))
    emit_pairs("Counts", data["counts"])


@queue.command("board")
@server_options
@json_option
@click.option("--limit", type=int, default=20, show_default=True)
def queue_board(api: Api, as_json: bool, limit: int) -> None:
    """Timeline segments (running and recently finished jobs)."""
    data = api.call("GET", "/api/schedule/board", params={"limit": limit})
    if as_json:
        emit_json(data)
        return
    columns = ("id", "queue", "status", "device", "start", "end", "duration_sec", "cost_estimate")
    emit_table("Board", columns, [tuple(s.get(c) for c in columns) for s in data["jobs"]])


@queue.command("enqueue")
@server_options
@json_option
@body_argument
@click.option("--file", "jobs_file", type=click.Path(exists=True, dir_okay=False), help="JSON Lines, one job each.")
def queue_enqueue(api: Api, as_json: bool, body: str | None, jobs_file: str | None) -> None:
    """Enqueue one job (BODY, a JSON object) or every job of a JSON Lines file, with progress."""
    if jobs_file is None:
        _show_job(api.call("POST", "/api/schedule/enqueue", json_body(body)), as_json)
        return
    lines = [line for line in Path(jobs_file).read_text(encoding="utf-8").splitlines() if line.strip()]
    created = 0
    with Progress(transient=True) as progress:
        task = progress.add_task("enqueue", total=len(lines))
        for line in lines:
            created += bool(api.call("POST", "/api/schedule/enqueue", json_body(line)).get("created"))
            progress.advance(task)
    click.echo(f"enqueued {len(lines)} job(s), {created} new")


def _transition(name: str, help_text: str, *options: Any) -> click.Command:
    @click.command(name, help=help_text)
    @server_options
    @json_option
    @click.argument("job_id")
    def command(api: Api, as_json: bool, job_id: str, **fields: Any) -> None:
        _show_job(api.call("POST", f"/api/schedule/{name}", json_body(None, job_id=job_id, **fields)), as_json)

    for option in options:
        command = option(command)
    return command


queue.add_command(_transition("heartbeat", "Extend a running job's lease.", click.option("--lease-token")))
queue.add_command(
    _transition(
        "complete",
        "Finish a running job.",
        click.option("--lease-token"),
        click.option("--status", type=click.Choice(["succeeded", "failed", "cancelled"])),
        click.option("--duration-sec", type=float),
    )
)
queue.add_command(_transition("fail", "Fail a running job.", click.option("--lease-token"), click.option("--error")))
queue.add_command(_transition("requeue", "Put a job back in its queue.", click.option("--priority", type=int)))
queue.add_command(_transition("cancel", "Cancel a queued or running job."))


@queue.command("claim")
@server_options
@json_option
@click.option("--queue", "queue_name", default="local", show_default=True)
@click.option("--worker-id")
@click.option("--device-id")
@click.option("--lease-seconds", type=int)
def queue_claim(
    api: Api, as_json: bool, queue_name: str, worker_id: str | None, device_id: str | None, lease_seconds: int | None
) -> None:
    """Claim the next job of a queue (highest priority, then oldest)."""
    body = json_body(None, queue=queue_name, worker_id=worker_id, device_id=device_id, lease_seconds=lease_seconds)
    _show_job(api.call("POST", "/api/schedule/claim", body), as_json)


@queue.command("wait")
@server_options
@json_option
@click.argument("job_id")
@click.option("--timeout", type=float, default=3600, show_default=True, help="Seconds to wait.")
@click.option("--interval", type=float, default=1.0, show_default=True, help="Seconds between polls.")
def queue_wait(api: Api, as_json: bool, job_id: str, timeout: float, interval: float) -> None:
    """Wait until a job is finished (succeeded, failed or cancelled), showing its status; exit 1 unless it succeeded."""
    deadline = time.monotonic() + timeout
    with Progress(transient=True) as progress:
        task = progress.add_task(f"{job_id}: waiting", total=None)
        while True:
            data = api.call("GET", f"/api/schedule/jobs/{job_id}")
            status = data["job"]["status"]
            progress.update(task, description=f"{job_id}: {status}")
            if status in ("succeeded", "failed", "cancelled") or time.monotonic() >= deadline:
                break
            time.sleep(interval)
    _show_job(data, as_json)
    if status != "succeeded":
        raise SystemExit(1)
