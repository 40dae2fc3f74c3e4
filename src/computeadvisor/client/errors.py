"""What the client raises: the server's error answers and a server it cannot reach.

```
ClientError
 ├── ApiError             the server answered 4xx/5xx: ``status`` and ``detail`` as the server said them
 │    └── LeaseLost       409 on heartbeat/complete/fail: another claimer holds the job, or it is finished
 └── ServerUnreachable    no answer: connection refused, reset or timed out
```
"""

from __future__ import annotations

from typing import Any


class ClientError(Exception):
    """Every error the client raises."""


class ApiError(ClientError):
    """The server answered with an error status; ``detail`` is its ``detail`` text."""

    def __init__(self, status: int, detail: str, body: Any = None) -> None:
        super().__init__(f"{status} {detail}")
        self.status = status
        self.detail = detail
        self.body = body

    @property
    def retryable(self) -> bool:
        """Whether the same request may succeed later (the server or its database is away for now)."""
        return self.status in (502, 503, 504)


class LeaseLost(ApiError):
    """A 409 to a lease holder: the job is no longer running under this worker's lease."""


class ServerUnreachable(ClientError):
    """The request got no answer (connection refused or reset, or a timeout)."""
