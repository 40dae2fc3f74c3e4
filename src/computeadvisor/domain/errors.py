"""The one error tree of computeadvisor.

Every failure the domain, the ports and the adapters report is one of these; only ``app/errors.py`` turns them
into HTTP statuses::

    ComputeAdvisorError
     ├── InvalidInput           bad input from a client (a field of the wrong type, format or range)
     │    └── FieldError        ... naming the field's path (``meta.cost_per_minute``, ``context.has_gpu``)
     ├── Forbidden              allowed to no client from where this one asks (secrets off loopback, §16.8)
     ├── NotFound               an unknown provider or job id
     ├── Conflict               a state the operation cannot apply to
     ├── Unavailable            the service is at a limit it sets itself (too many event streams); try later
     ├── StorageError           a store could not be read or written (the only server-side failure)
     │    ├── StorageFull       ... because the disk is full (reads still work; writes work again once space returns)
     │    └── CorruptDocument   ... because a stored document is not what it must be (moved aside or left alone)
     └── UnresolvableHost       a host name has no address (a probe reports it; never an HTTP status of its own)

Adapters raise these from their library's errors in one helper each, chaining the original with ``from exc``.
"""

from __future__ import annotations


class ComputeAdvisorError(Exception):
    """Base class of every error computeadvisor raises on purpose."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidInput(ComputeAdvisorError):
    """The client sent something this operation cannot accept."""


class Unavailable(ComputeAdvisorError):
    """The service is at one of its own limits (for example the number of open event streams)."""


class FieldError(InvalidInput):
    """One named field of the input is missing or has the wrong type, format or range."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class Forbidden(ComputeAdvisorError):
    """The request is refused whoever sends it from here; the detail says what would allow it."""


class NotFound(ComputeAdvisorError):
    """The id names nothing that is stored."""


class Conflict(ComputeAdvisorError):
    """The operation is not allowed in the current state."""


class StorageError(ComputeAdvisorError):
    """A store could not be read or written; nothing the client did wrong."""


class StorageFull(StorageError):
    """A write failed because the filesystem holding the store has no space left; nothing was changed."""


class CorruptDocument(StorageError):
    """A stored document exists but is not the shape it must have (for example not a JSON object)."""


class UnresolvableHost(ComputeAdvisorError):
    """A host name does not resolve, or the lookup itself failed."""
