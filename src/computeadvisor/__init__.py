"""computeadvisor: where a GPU render job should run, what it costs, and durable queues to run it."""

__version__ = "0.1.0"
