"""The one place that maps errors to HTTP statuses, and shapes every error body (§0.3)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException
from litestar.types import ExceptionHandlersMap

from computeadvisor.domain.errors import (
    ComputeAdvisorError,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    StorageError,
    StorageFull,
    Unavailable,
)
from computeadvisor.wire import ErrorBody, Feature

log = logging.getLogger("computeadvisor.http")

STATUS_BY_ERROR: tuple[tuple[type[ComputeAdvisorError], int], ...] = (
    (InvalidInput, 400),
    (Forbidden, 403),
    (NotFound, 404),
    (Conflict, 409),
    (Unavailable, 503),
    (StorageFull, 507),  # before its base class: the first match wins
    (StorageError, 500),
)
_FEATURE_PREFIXES = ("/api/gpu", "/api/providers", "/api/compute", "/api/schedule", "/api/events")


def status_for(error: ComputeAdvisorError) -> int:
    """The HTTP status of a domain error."""
    for kind, status in STATUS_BY_ERROR:
        if isinstance(error, kind):
            return status
    return 500


def exception_handlers(feature: Callable[[], Feature]) -> ExceptionHandlersMap:
    """The app's exception handlers; ``feature`` reads the flag for the ``feature`` object of error bodies."""

    def error_response(
        request: Request[Any, Any, Any], status: int, detail: str, headers: dict[str, str] | None = None
    ) -> Response[ErrorBody]:
        body = ErrorBody(status_code=status, detail=detail)
        if request.url.path.startswith(_FEATURE_PREFIXES):
            try:
                body = ErrorBody(status_code=status, detail=detail, feature=feature())
            except Exception:  # an error body must never fail because the flag files are unreadable
                log.exception("feature flag could not be read for an error body")
                body = ErrorBody(status_code=status, detail=detail, feature=Feature(enabled=False))
        return Response(body, status_code=status, media_type=MediaType.JSON, headers=headers)

    def domain_error(request: Request[Any, Any, Any], exc: ComputeAdvisorError) -> Response[ErrorBody]:
        status = status_for(exc)
        if status == 503:  # a limit the service sets itself: expected under load, not a failure
            log.warning("%s %s refused: %s", request.method, request.url.path, exc.detail)
        elif status >= 500:
            log.error("%s %s failed: %s", request.method, request.url.path, exc.detail)
        return error_response(request, status, exc.detail)

    def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[ErrorBody]:
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 400 and exc.extra:
            detail = f"{detail}: {exc.extra}"
        return error_response(request, exc.status_code, detail, headers=exc.headers)

    def unexpected_error(request: Request[Any, Any, Any], exc: Exception) -> Response[ErrorBody]:
        log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        return error_response(request, 500, "internal server error")

    return {ComputeAdvisorError: domain_error, HTTPException: http_error, Exception: unexpected_error}
