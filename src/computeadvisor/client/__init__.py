"""A Python client for a computeadvisor server, and the worker loop that turns a queue into a render farm (§15).

```python
from computeadvisor.client import Client, Worker, WorkerOptions, command_handler

with Client("http://127.0.0.1:8001") as client:
    client.enqueue(id="shot-1", payload={"width": 1024, "height": 1024, "steps": 20})
    Worker(client, command_handler(["sh", "-c", "sleep 1"]), WorkerOptions(max_jobs=1)).run()
```

Depends on :mod:`computeadvisor.wire` and the domain's Structs only, never on the server.
"""

from computeadvisor.client.asynchronous import AsyncClient
from computeadvisor.client.comfyui import comfyui_handler
from computeadvisor.client.command import command_handler
from computeadvisor.client.context import Handler, JobContext, JobFailed, Outcome
from computeadvisor.client.errors import ApiError, ClientError, LeaseLost, ServerUnreachable
from computeadvisor.client.sync import Client
from computeadvisor.client.worker import Worker, WorkerOptions, WorkerReport

__all__ = [
    "ApiError",
    "AsyncClient",
    "Client",
    "ClientError",
    "Handler",
    "JobContext",
    "JobFailed",
    "LeaseLost",
    "Outcome",
    "ServerUnreachable",
    "Worker",
    "WorkerOptions",
    "WorkerReport",
    "comfyui_handler",
    "command_handler",
]
