"""computeadvisor: where a GPU render job should run, what it costs, and durable queues to run it.

Section numbers in docstrings and comments (``§5.7``) refer to the API reference, ``docs/api.md``.
"""

__version__ = "0.1.0"
