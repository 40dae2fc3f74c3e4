"""The ``computeadvisor`` command: serve, local state (``--root``) and server commands (``--base``/``--token``).

Exit codes scripts can rely on: 0 success; 1 the server answered with an error (its detail goes to stderr);
2 usage error or a failed check; 3 the server could not be reached.
"""

from __future__ import annotations

import click

from computeadvisor import __version__
from computeadvisor.app.cli.client_commands import advise, costs, providers, queue
from computeadvisor.app.cli.gpu import gpu
from computeadvisor.app.cli.plan import plan
from computeadvisor.app.cli.serve import check, serve
from computeadvisor.app.cli.watch import watch
from computeadvisor.app.cli.worker import worker


@click.group()
@click.version_option(__version__, prog_name="computeadvisor")
def main() -> None:
    """Where GPU render jobs should run, what they cost, and durable queues for them."""


for command in (serve, check, gpu, providers, advise, costs, plan, queue, worker):
    main.add_command(command)
queue.add_command(watch)

__all__ = ["main"]
