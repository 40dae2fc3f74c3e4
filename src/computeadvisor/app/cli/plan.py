"""``computeadvisor plan``: every place a job could run, ranked (§10.7)."""

from __future__ import annotations

from typing import Any

import click

from computeadvisor.app.cli.client import Api, json_body, server_options
from computeadvisor.app.cli.client_commands import body_argument, json_option, with_job_fields
from computeadvisor.app.cli.output import emit_json, emit_table
from computeadvisor.domain.planner import duration_text

COLUMNS = ("rank", "device", "feasible / blockers", "ETA p50", "ETA p90", "cost", "basis")


def _row(candidate: dict[str, Any]) -> tuple[Any, ...]:
    basis = candidate["basis"]
    rate = basis["seconds_per_unit"]
    source = basis["source"] + (f" ({basis['model']})" if basis["model"] else "")
    return (
        candidate["rank"],
        candidate["device"],
        "yes" if candidate["feasible"] else "; ".join(candidate["blockers"]),
        duration_text(candidate["eta_s"]["p50"]),
        duration_text(candidate["eta_s"]["p90"]),
        f"{candidate['cost']['estimate']:.4f} {candidate['cost']['currency']}",
        f"{source}, {basis['samples']} samples, {rate['p50']:.3g} s/unit",
    )


@click.command()
@server_options
@json_option
@body_argument
@click.option("--width", type=float, help="Pixels across [default: 1024].")
@click.option("--height", type=float, help="Pixels down [default: 1024].")
@click.option("--steps", type=float, help="Sampling steps [default: 20].")
@click.option("--batch", type=float, help="Images per job [default: 1].")
@click.option("--frames", type=float, help="Frames, for video [default: 1].")
@click.option("--model", help="What the job runs (sdxl, flux-dev, ...): run times are learned per model.")
@click.option("--vram", "vram_gb", type=float, help="GiB of VRAM the job needs.")
@click.option("--priority", type=int, help="The job's queue priority [default: 0].")
@click.option("--objective", type=click.Choice(["fastest", "cheapest", "balanced"]), help="[default: fastest]")
@click.option("--deadline", "deadline_s", type=float, help="Seconds: a place whose p90 ETA is later is infeasible.")
@click.option("--budget", type=float, help="A place whose cost estimate is higher is infeasible.")
@click.option("--allow-remote", is_flag=True, default=None, help="Consider remote providers (feature flag on).")
def plan(
    api: Api,
    as_json: bool,
    body: str | None,
    objective: str | None,
    deadline_s: float | None,
    budget: float | None,
    allow_remote: bool | None,
    **job: Any,
) -> None:
    """Where would a job finish first, or cheapest? Every place ranked by a learned ETA and its cost.

    BODY is an optional JSON request body; options add job fields.
    """
    request = json_body(body, allow_remote=allow_remote, objective=objective, deadline_s=deadline_s, budget=budget)
    data = api.call("POST", "/api/compute/plan", with_job_fields(request, job))
    if as_json:
        emit_json(data)
        return
    size = data["job"]
    title = f"Plan ({data['objective']}): {size['work_units']:g} work units"
    emit_table(title, COLUMNS, [_row(c) for c in data["candidates"]])
    click.echo(f"recommendation: {data['recommendation'] or 'none'}")
    click.echo(f"reason: {data['reason']}")
