"""``computeadvisor worker``: a queue plus this command is a render farm (§15)."""

from __future__ import annotations

import logging
import signal
import sys
from types import FrameType

import click

from computeadvisor.app.cli.output import EXIT_SERVER_ERROR
from computeadvisor.client import Client, Worker, WorkerOptions, comfyui_handler, command_handler
from computeadvisor.client.context import Handler
from computeadvisor.client.sync import DEFAULT_BASE
from computeadvisor.client.worker import default_worker_id


def _handler(
    executor: str, comfyui_url: str | None, command: tuple[str, ...], worker_id: str, kill_after: float
) -> Handler:
    if executor == "comfyui":
        if not comfyui_url:
            raise click.UsageError("--executor comfyui needs --comfyui-url")
        if command:
            raise click.UsageError("--executor comfyui runs no command; leave out the part after --")
        return comfyui_handler(comfyui_url, client_id=f"computeadvisor-{worker_id}")
    if not command:
        raise click.UsageError("give the command to run per job after --, e.g. -- sh -c 'render.sh'")
    return command_handler(command, kill_after_s=kill_after)


@click.command("worker", context_settings={"show_default": True})
@click.option("--queue", "queue_name", type=click.Choice(["local", "remote"]), default="local", help="Queue to drain.")
@click.option("--device-id", help="The device this worker runs jobs on (cpu, gpu:<n>, remote:<id>).")
@click.option("--concurrency", type=click.IntRange(min=1), default=1, help="Jobs run at the same time.")
@click.option("--lease-seconds", type=click.IntRange(min=3), default=60, help="Lease per claim; heartbeat every third.")
@click.option("--max-jobs", type=click.IntRange(min=1), help="Exit after this many jobs. [default: run until stopped]")
@click.option("--grace", type=click.FloatRange(min=0), default=30.0, help="Seconds SIGTERM/SIGINT waits for jobs.")
@click.option("--kill-after", type=click.FloatRange(min=0), default=10.0, help="SIGKILL this long after SIGTERM.")
@click.option("--worker-id", help="Name in runs and on the board. [default: <host>:<pid>]")
@click.option("--executor", type=click.Choice(["command", "comfyui"]), default="command", help="How a job runs.")
@click.option("--comfyui-url", help="The ComfyUI server for --executor comfyui, e.g. http://127.0.0.1:8188.")
@click.option("--base", envvar="COMPUTEADVISOR_BASE", default=DEFAULT_BASE, help="Server URL.")
@click.option("--token", envvar="COMPUTEADVISOR_TOKEN", help="Bearer token, when the server has one.")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
def worker(
    queue_name: str, device_id: str | None, concurrency: int, lease_seconds: int, max_jobs: int | None, grace: float,
    kill_after: float, worker_id: str | None, executor: str, comfyui_url: str | None, base: str, token: str | None,
    command: tuple[str, ...],
) -> None:  # fmt: skip
    """Claim jobs and run COMMAND once per job (after --): the job's record on stdin, its id in
    COMPUTEADVISOR_JOB_ID, a result path in COMPUTEADVISOR_RESULT, CUDA_VISIBLE_DEVICES for gpu:<n>.

    Exit 0 completes the job with the measured duration, any other status fails it with the last 2 KiB of
    stderr. SIGTERM or Ctrl-C stops claiming and waits --grace seconds, then stops the commands and requeues.
    """
    worker_id = worker_id or default_worker_id()
    handler = _handler(executor, comfyui_url, command, worker_id, kill_after)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request would drown the job lines
    options = WorkerOptions(
        queue=queue_name, device_id=device_id, worker_id=worker_id, concurrency=concurrency,
        lease_seconds=lease_seconds, max_jobs=max_jobs, grace_s=grace,
    )  # fmt: skip
    with Client(base, token) as client:
        farm = Worker(client, handler, options)

        def stop(signum: int, frame: FrameType | None) -> None:
            del frame
            click.echo(f"{signal.Signals(signum).name}: stopping (again to stop the running jobs now)", err=True)
            farm.stop()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        click.echo(f"worker {worker_id}: queue {queue_name} at {client.base}, {concurrency} at a time", err=True)
        report = farm.run()
    click.echo(
        f"worker {worker_id} stopped: {report.succeeded} succeeded, {report.failed} failed, "
        f"{report.requeued} requeued, {report.lost} lost their lease",
        err=True,
    )
    if report.fatal:
        raise SystemExit(EXIT_SERVER_ERROR)
